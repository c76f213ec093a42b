// Facts about the host that decide whether eBPF capture can work, with one-line explanations.
// Used by `llmslo doctor` and before the live capture loads anything.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

export interface EnvCheck {
  name: string;
  ok: boolean;
  detail: string;
}

// Capability bits (include/uapi/linux/capability.h).
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

function effectiveCaps(): bigint | null {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    return m ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

function hasCap(caps: bigint, bit: number): boolean {
  return (caps & (1n << BigInt(bit))) !== 0n;
}

export function isMounted(path: string, fstype: string): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((l) => {
        const f = l.split(' ');
        return f[1] === path && f[2] === fstype;
      });
  } catch {
    return false;
  }
}

export function tracefsPath(): string | null {
  if (existsSync('/sys/kernel/tracing/events')) return '/sys/kernel/tracing';
  if (existsSync('/sys/kernel/debug/tracing/events')) return '/sys/kernel/debug/tracing';
  return null;
}

/** Mounts tracefs and bpffs when missing. Returns a list of one-line problems (empty = fine). */
export function ensureMounts(): string[] {
  const problems: string[] = [];
  if (!tracefsPath()) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { stdio: 'ignore' });
    } catch {
      /* reported below */
    }
    if (!tracefsPath()) problems.push('tracefs is not mounted and could not be mounted at /sys/kernel/tracing (tracepoints cannot attach)');
  }
  if (!isMounted('/sys/fs/bpf', 'bpf')) {
    try {
      execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf'], { stdio: 'ignore' });
    } catch {
      /* bpffs is only needed for pinning; not fatal */
    }
  }
  return problems;
}

export function cgroupVersion(): 'v2' | 'v1' | 'hybrid' | 'unknown' {
  if (isMounted('/sys/fs/cgroup', 'cgroup2')) return 'v2';
  if (isMounted('/sys/fs/cgroup/unified', 'cgroup2')) return 'hybrid';
  try {
    if (readFileSync('/proc/mounts', 'utf8').includes(' cgroup ')) return 'v1';
  } catch {
    /* fall through */
  }
  return 'unknown';
}

/** Everything that must hold before loading; the first failing check is the error to show. */
export function environmentChecks(): EnvCheck[] {
  const checks: EnvCheck[] = [];
  const [major, minor] = release().split('.').map((x) => Number.parseInt(x, 10));
  checks.push({
    name: 'kernel',
    ok: major > 5 || (major === 5 && minor >= 17),
    detail: `Linux ${release()}${major > 5 || (major === 5 && minor >= 17) ? '' : ' (need >= 5.17 for bpf_loop and ring buffers)'}`,
  });
  const caps = effectiveCaps();
  const root = process.getuid?.() === 0;
  const capOk = caps !== null && (hasCap(caps, CAP_SYS_ADMIN) || (hasCap(caps, CAP_BPF) && hasCap(caps, CAP_PERFMON)));
  checks.push({
    name: 'privileges',
    ok: capOk,
    detail: capOk
      ? `${root ? 'root' : 'non-root'} with ${hasCap(caps!, CAP_SYS_ADMIN) ? 'CAP_SYS_ADMIN' : 'CAP_BPF+CAP_PERFMON'}`
      : `${root ? 'root' : 'not root'} and missing CAP_BPF/CAP_PERFMON (run as root or grant both capabilities)`,
  });
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  checks.push({ name: 'btf', ok: btf, detail: btf ? '/sys/kernel/btf/vmlinux present' : 'no kernel BTF at /sys/kernel/btf/vmlinux (CO-RE needs CONFIG_DEBUG_INFO_BTF=y)' });
  const tfs = tracefsPath();
  const tfsMounted = isMounted('/sys/kernel/tracing', 'tracefs') || isMounted('/sys/kernel/debug/tracing', 'tracefs');
  checks.push({
    name: 'tracefs',
    ok: tfs !== null,
    detail: tfs ? `mounted at ${tfs}` : tfsMounted ? 'mounted but not readable by this user (run as root)' : 'not mounted (llmslo mounts it at start when it can)',
  });
  const bpffs = isMounted('/sys/fs/bpf', 'bpf');
  checks.push({ name: 'bpffs', ok: true, detail: bpffs ? 'mounted at /sys/fs/bpf' : 'not mounted (optional: only needed for pinning)' });
  checks.push({ name: 'cgroup', ok: true, detail: `cgroup ${cgroupVersion()}` });
  return checks;
}
