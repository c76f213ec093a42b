// Finds the OpenSSL copies that running programs use and attaches the TLS uprobes once per
// file (device, inode): a uprobe on an inode covers every process, and every container, that
// maps it. Two kinds of target:
//   - shared libssl.so (Python, curl, most C/C++ programs), found in /proc/PID/maps;
//   - executables that link OpenSSL statically and export SSL_read/SSL_write (the `node` binary).
// Paths are resolved through /proc/PID/root so processes in other mount namespaces (containers)
// are covered; the host path is used when it is the same file, because it outlives the process.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { findExportedFunctions } from './elf.ts';
import type { NativeLoader } from './native.ts';
import { TLS_FUNCTIONS, TLS_UPROBES } from './probes.ts';
import { Source } from './layout.ts';

export type TlsTargetKind = 'libssl' | 'node';

export interface TlsTarget {
  key: string;
  path: string;
  kind: TlsTargetKind;
  /** A process seen using it (first one), for humans. */
  examplePid: number | null;
  attached: string[];
  failed: string[];
}

export interface TlsTargetsOptions {
  /** Rescan all processes this often (ms); 0 disables. */
  rescanIntervalMs?: number;
  log?: (msg: string) => void;
  procRoot?: string;
}

const LIBSSL_RE = /\/libssl\.so(\.[0-9.]+)?$/;
const LIBSSL = Buffer.from('libssl');
const LF = 0x0a;
const SLASH = 0x2f;
const HOST_LIBSSL_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib64'];

function fileKey(path: string): { key: string; size: number; mtimeMs: number } | null {
  try {
    const st = statSync(path);
    if (!st.isFile()) return null;
    return { key: `${st.dev}:${st.ino}`, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return null;
  }
}

export class TlsTargets {
  private readonly targets = new Map<string, TlsTarget>();
  /** Files known not to be targets (key -> mtime), so each exe is parsed once. */
  private readonly notTargets = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly pendingScans = new Set<NodeJS.Timeout>();
  /** Executable link last considered per process (considered again only when it changes). */
  private readonly seenExe = new Map<number, string>();
  private readonly log: (msg: string) => void;
  private readonly proc: string;
  scans = 0;
  attachErrors = 0;

  constructor(
    private readonly loader: NativeLoader,
    private readonly opts: TlsTargetsOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.proc = opts.procRoot ?? '/proc';
  }

  start(): void {
    this.attachHostLibraries();
    this.scanAll();
    const every = this.opts.rescanIntervalMs ?? 10_000;
    if (every > 0) {
      this.timer = setInterval(() => this.scanAll(), every);
      this.timer.unref();
    }
  }

  list(): TlsTarget[] {
    return [...this.targets.values()];
  }

  /** Libraries on the host's standard paths: covers programs that load libssl later (Python's `import ssl`). */
  attachHostLibraries(): void {
    for (const dir of HOST_LIBSSL_DIRS) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) if (/^libssl\.so\.\d+$/.test(n)) this.consider(`${dir}/${n}`, 'libssl', null);
    }
  }

  /** A process just exec'd: its libraries appear within milliseconds, lazily loaded ones later. */
  onExec(pid: number): void {
    this.seenExe.delete(pid);
    for (const delay of [30, 300, 2000]) {
      const t = setTimeout(() => {
        this.pendingScans.delete(t);
        this.scanPid(pid);
      }, delay);
      t.unref();
      this.pendingScans.add(t);
    }
  }

  scanAll(): void {
    this.scans++;
    let entries: string[];
    try {
      entries = readdirSync(this.proc);
    } catch {
      return;
    }
    const alive = new Set<number>();
    for (const e of entries) {
      const pid = Number(e);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      alive.add(pid);
      this.scanPid(pid);
    }
    for (const pid of this.seenExe.keys()) if (!alive.has(pid)) this.seenExe.delete(pid);
  }

  /**
   * One process: libssl mappings and its executable. Runs for every process every rescan, so it
   * searches the maps bytes natively for "libssl" (a node process maps ~1,000 lines; splitting
   * them into strings made every rescan a burst of garbage) and looks at an executable again
   * only when the process's link changed (exec gives a new one).
   */
  scanPid(pid: number): void {
    const root = `${this.proc}/${pid}/root`;
    let maps: Buffer;
    try {
      maps = readFileSync(`${this.proc}/${pid}/maps`);
    } catch {
      return; // gone, or a kernel thread
    }
    let seen: Set<string> | null = null;
    for (let at = maps.indexOf(LIBSSL); at >= 0; at = maps.indexOf(LIBSSL, at + LIBSSL.length)) {
      const lineStart = maps.lastIndexOf(LF, at) + 1;
      let lineEnd = maps.indexOf(LF, at);
      if (lineEnd < 0) lineEnd = maps.length;
      const slash = maps.indexOf(SLASH, lineStart);
      if (slash < 0 || slash > at) continue;
      const path = maps.toString('latin1', slash, lineEnd);
      if (!LIBSSL_RE.test(path) || seen?.has(path)) continue;
      (seen ??= new Set()).add(path);
      this.consider(this.hostPath(root, path), 'libssl', pid);
    }
    let exe: string;
    try {
      exe = readlinkSync(`${this.proc}/${pid}/exe`);
    } catch {
      return;
    }
    if (this.seenExe.get(pid) === exe) return;
    this.seenExe.set(pid, exe);
    if (exe.endsWith(' (deleted)')) return;
    this.consider(this.hostPath(root, exe), 'node', pid);
  }

  /** The host path when it is the same file as the one in the process's root, else the /proc path. */
  private hostPath(root: string, path: string): string {
    const inRoot = fileKey(`${root}${path}`);
    const onHost = fileKey(path);
    if (inRoot && onHost && inRoot.key === onHost.key) return path;
    return `${root}${path}`;
  }

  private consider(path: string, kind: TlsTargetKind, pid: number | null): void {
    const fk = fileKey(path);
    if (!fk) return;
    if (this.targets.has(fk.key)) return;
    if (this.notTargets.get(fk.key) === fk.mtimeMs) return;
    let offsets: Map<string, number>;
    try {
      offsets = findExportedFunctions(path, TLS_FUNCTIONS).functions;
    } catch {
      this.notTargets.set(fk.key, fk.mtimeMs);
      return;
    }
    if (!offsets.has('SSL_read') || !offsets.has('SSL_write')) {
      this.notTargets.set(fk.key, fk.mtimeMs);
      return;
    }
    const target: TlsTarget = { key: fk.key, path, kind, examplePid: pid, attached: [], failed: [] };
    const cookie = kind === 'libssl' ? Source.libssl : Source.node;
    for (const u of TLS_UPROBES) {
      if (u.only && u.only !== kind) continue;
      const off = offsets.get(u.func);
      const label = `${u.func}${u.retprobe ? ':return' : ''}`;
      if (off === undefined) {
        target.failed.push(`${label} (not exported)`);
        continue;
      }
      try {
        this.loader.attachUprobe(u.program, path, off, u.retprobe, cookie);
        target.attached.push(label);
      } catch (err) {
        this.attachErrors++;
        target.failed.push(`${label} (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    this.targets.set(fk.key, target);
    this.log(`tls: attached ${target.attached.length} probes to ${kind} ${path}${pid ? ` (pid ${pid})` : ''}${target.failed.length ? `; failed: ${target.failed.join(', ')}` : ''}`);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.pendingScans) clearTimeout(t);
    this.pendingScans.clear();
  }
}
