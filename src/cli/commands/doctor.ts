// `llmslo doctor`: can this host run the agent? Kernel, BTF, mounts, privileges, probes, TLS targets.
import { parseCommandArgs } from '../args.ts';
import { environmentChecks, ensureMounts } from '../../capture/environment.ts';
import { CaptureError, LiveCapture } from '../../capture/live.ts';
import { loadNative } from '../../capture/native.ts';

const HELP = `usage: llmslo doctor [--json]

Checks the kernel, BTF, tracefs/bpffs, privileges and cgroup version, loads the probes, attaches
every one of them and lists the OpenSSL targets (libssl and node binaries) found in running
processes. Exit code 0 when capture can work, 1 otherwise.`;

interface Line {
  check: string;
  ok: boolean;
  detail: string;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('doctor', argv, { json: { type: 'boolean' } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const lines: Line[] = [];
  // Mounting needs root; without it, the privilege check below says what is wrong.
  const mountProblems = process.getuid?.() === 0 ? ensureMounts() : [];
  for (const c of environmentChecks()) lines.push({ check: c.name, ok: c.ok, detail: c.detail });
  for (const p of mountProblems) lines.push({ check: 'mounts', ok: false, detail: p });
  try {
    const n = loadNative();
    lines.push({ check: 'loader', ok: true, detail: `native addon loaded (libbpf ${n.libbpfVersion}, events v${n.eventsVersion})` });
  } catch (err) {
    lines.push({ check: 'loader', ok: false, detail: err instanceof Error ? err.message : String(err) });
  }
  let tlsFound = 0;
  if (lines.every((l) => l.ok)) {
    let capture: LiveCapture | null = null;
    try {
      capture = LiveCapture.open({ tls: true, tlsRescanIntervalMs: 0 });
      for (const p of capture.probes) {
        lines.push({ check: `probe ${p.program}`, ok: p.ok || !p.required, detail: p.ok ? `attached (${p.purpose})` : `${p.required ? 'REQUIRED, ' : 'optional, '}not attached: ${p.error}` });
      }
      capture.tls?.attachHostLibraries();
      capture.tls?.scanAll();
      for (const t of capture.tls?.list() ?? []) {
        tlsFound++;
        lines.push({ check: `tls ${t.kind}`, ok: t.attached.length > 0, detail: `${t.path}${t.examplePid ? ` (pid ${t.examplePid})` : ''}: ${t.attached.join(', ')}${t.failed.length ? `; not attached: ${t.failed.join(', ')}` : ''}` });
      }
    } catch (err) {
      lines.push({ check: 'probes', ok: false, detail: err instanceof CaptureError ? err.message : String(err) });
    } finally {
      capture?.close();
    }
    if (tlsFound === 0) lines.push({ check: 'tls', ok: false, detail: 'no OpenSSL found (no libssl.so in standard paths or running processes, no node binary exporting SSL_read): TLS traffic cannot be decrypted' });
  }
  const ok = lines.every((l) => l.ok || l.check === 'tls');
  if (values.json) {
    console.log(JSON.stringify({ ok, checks: lines }, null, 2));
  } else {
    for (const l of lines) console.log(`${l.ok ? 'ok  ' : 'FAIL'} ${l.check.padEnd(28)} ${l.detail}`);
    console.log(ok ? '\ncapture can work on this host' : '\ncapture cannot work on this host: see FAIL lines');
  }
  return ok ? 0 : 1;
}
