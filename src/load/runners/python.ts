// Debian's /usr/bin/python3 (stdlib http.client + ssl -> libssl.so.3) as a load client: one
// long-lived worker process with a thread pool, jobs and results as JSON lines over pipes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stamp } from '../../sim/clock.ts';
import { startRecord } from '../record.ts';
import { buildRequest } from '../wire.ts';
import type { ClientRecord, RequestSpec } from '../types.ts';
import type { Runner } from './runner.ts';

// tsc does not copy the .py next to the compiled runner: from dist/load/runners/ fall back to
// the source tree's copy.
const WORKER = [new URL('./python_worker.py', import.meta.url), new URL('../../../src/load/runners/python_worker.py', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p)) ?? fileURLToPath(new URL('./python_worker.py', import.meta.url));

export function pythonBinary(): string {
  return process.env.LLMSLO_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

export class PythonRunner implements Runner {
  readonly name = 'python' as const;
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly pending = new Map<number, { spec: RequestSpec; resolve: (r: ClientRecord) => void }>();
  private stderr = '';

  constructor(private readonly threads = 64) {}

  private worker(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(pythonBinary(), ['-u', WORKER, String(this.threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.on('data', (b: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += b.toString();
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    child.on('close', (code) => {
      this.child = null;
      // Anything still pending will never be answered: fail it visibly.
      for (const [seq, p] of this.pending) {
        const rec = startRecord('python', p.spec, 'python-monotonic_ns');
        rec.error_type = 'PythonWorkerExited';
        rec.error_message = `python worker exited with code ${code}: ${this.stderr.trim().split('\n').pop() ?? ''}`;
        rec.end = stamp();
        p.resolve(rec);
        this.pending.delete(seq);
      }
    });
    child.stdin.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private onLine(line: string): void {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const p = this.pending.get(r.seq as number);
    if (!p) return;
    this.pending.delete(r.seq as number);
    const rec = startRecord('python', p.spec, 'python-monotonic_ns');
    Object.assign(rec, r, { pid: this.child?.pid ?? rec.pid });
    p.resolve(rec);
  }

  run(spec: RequestSpec): Promise<ClientRecord> {
    const wire = buildRequest(spec);
    const job = { seq: spec.seq, api: spec.api, url: wire.url, headers: wire.headers, body: wire.body, stream: spec.stream, timeout_s: spec.timeoutS, cafile: spec.caFile };
    return new Promise((resolve) => {
      this.pending.set(spec.seq, { spec, resolve });
      this.worker().stdin.write(`${JSON.stringify(job)}\n`);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.stdin.end();
      setTimeout(() => child.kill('SIGTERM'), 5000).unref();
    });
  }
}
