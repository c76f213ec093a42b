// Shared harness for tests that need real eBPF: opens the live capture in this test process
// (which the kernel filter then never traces), collects raw records and stream events, and
// spawns peers as child processes. Under CI=true a capture that cannot load FAILS the test;
// elsewhere the test is skipped with the reason.
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { LiveCapture, type LiveCaptureOptions } from '../../src/capture/live.ts';
import { CapturePipeline } from '../../src/capture/pipeline.ts';
import type { RawEvent } from '../../src/capture/decoder.ts';
import type { StreamEvent } from '../../src/capture/stream.ts';

export const inCI = process.env.CI === 'true';

/** True when the test can run eBPF (root); otherwise skips it, or throws under CI=true. */
export function requireRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (inCI) throw new Error('CI runs as root: this test must not skip');
  t.skip('needs root for eBPF');
  return false;
}

export class CaptureHarness {
  readonly raw: RawEvent[] = [];
  readonly stream: StreamEvent[] = [];
  readonly batches: Buffer[] = [];
  readonly pipeline: CapturePipeline;

  private constructor(readonly capture: LiveCapture, payloadCap: number) {
    this.pipeline = new CapturePipeline({
      payloadCap,
      onRaw: (ev) => this.raw.push(ev),
      sink: { onEvent: (ev) => this.stream.push(ev), flush: () => {} },
    });
    capture.onBatch((b) => {
      this.batches.push(b);
      this.pipeline.feedBatch(b);
    });
    capture.start();
  }

  /** Opens the capture, or returns null after marking the test skipped (never in CI). */
  static open(t: TestContext, opts: LiveCaptureOptions = {}): CaptureHarness | null {
    const why = process.getuid?.() !== 0 ? 'not running as root' : null;
    let capture: LiveCapture | null = null;
    let error = why;
    if (!why) {
      try {
        capture = LiveCapture.open({ tlsRescanIntervalMs: 500, ...opts });
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    }
    if (!capture) {
      if (inCI) throw new Error(`eBPF capture must work in CI but cannot load: ${error}`);
      t.skip(`eBPF capture unavailable: ${error}`);
      return null;
    }
    return new CaptureHarness(capture, opts.payloadCap ?? 16 * 1024);
  }

  /** Drains until `pred` holds or the bound passes; returns whether it held. */
  async waitFor(pred: () => boolean, maxMs = 10_000): Promise<boolean> {
    const until = Date.now() + maxMs;
    for (;;) {
      this.capture.drain();
      this.pipeline.tick(Number(process.hrtime.bigint()));
      if (pred()) return true;
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.capture.close();
  }
}

export interface Ran {
  pid: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded), keeping its pid. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Starts a long-running peer and waits for a line matching `ready`. */
export function startPeer(cmd: string, args: string[], ready: RegExp, env?: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; match: RegExpMatchArray; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buf = '';
    let done = false;
    const timer = setTimeout(() => {
      if (!done) {
        child.kill('SIGKILL');
        reject(new Error(`${cmd} did not become ready`));
      }
    }, 15_000);
    child.stdout!.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        const m = ready.exec(line);
        if (m && !done) {
          done = true;
          clearTimeout(timer);
          resolve({ child, match: m, lines });
        }
      }
    });
    child.on('error', reject);
  });
}
