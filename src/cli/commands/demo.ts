// `llmslo demo`: the README's main job. Starts the simulated provider over HTTPS, drives it with
// real clients (official openai and @anthropic-ai/sdk packages, Python through libssl, curl),
// captures the traffic from the kernel with eBPF, turns it into LLM call records and shows a live
// table per provider/model. Injects a rate-limit fault halfway so error classes show up. Bounded
// in time; Ctrl-C ends it earlier; every process it started is stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, numberOption } from '../args.ts';
import { CliError } from '../errors.ts';
import { waitForStop } from '../signals.ts';
import { CaptureError, LiveCapture } from '../../capture/live.ts';
import { CapturePipeline, monotonicNowNs } from '../../capture/pipeline.ts';
import { createCallPipeline } from '../../llm/pipeline.ts';
import type { CallRecord, LlmCallRecord } from '../../llm/records.ts';

const HELP = `usage: llmslo demo [--duration S] [--out DIR]

Runs the simulated provider over HTTPS and a moderate load from real clients (openai SDK,
anthropic SDK, Python, curl), captures it with eBPF and shows per provider/model: calls/s,
TTFT p50/p95, TPOT, output tokens/s and error classes. Default duration 45 s.`;

const cli = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../bin/llmslo.js');

interface Row {
  calls: number;
  recent: Array<{ at: number; ttft: number | null; tpot: number | null; out: number }>;
  errors: Map<string, number>;
}

function pct(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function ms(v: number | null): string {
  return v === null ? '-' : `${(v * 1000).toFixed(0)}ms`;
}

function startChild(args: string[], ready?: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray | null }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let done = !ready;
    if (!ready) res({ child, match: null });
    child.stdout!.on('data', (d) => {
      if (done) return;
      buf += d;
      const m = ready!.exec(buf);
      if (m) {
        done = true;
        res({ child, match: m });
      }
    });
    child.stderr!.on('data', () => {});
    child.on('error', rej);
    child.on('exit', (code) => {
      if (!done) rej(new Error(`${args.slice(0, 2).join(' ')} exited with ${code} before it was ready`));
    });
  });
}

function postFault(url: string, ca: Buffer, body: object): Promise<void> {
  return new Promise((res) => {
    const r = request(new URL('/_sim/faults', url), { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (rsp) => {
      rsp.resume();
      rsp.on('end', () => res());
    });
    r.on('error', () => res());
    r.end(JSON.stringify(body));
  });
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('demo', argv, { duration: { type: 'string' }, out: { type: 'string' } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const duration = numberOption('demo', 'duration', values.duration, 45, { min: 5 });
  const dir = values.out ?? mkdtempSync(join(tmpdir(), 'llmslo-demo-'));
  const caFile = join(dir, 'sim-ca.pem');
  const jsonlFile = join(dir, 'calls.jsonl');

  let capture: LiveCapture;
  try {
    capture = LiveCapture.open({ tlsRescanIntervalMs: 2000 });
  } catch (err) {
    if (err instanceof CaptureError) throw new CliError(`demo: ${err.message}`);
    throw err;
  }
  const children: ChildProcess[] = [];
  const jsonl = createWriteStream(jsonlFile);
  const rows = new Map<string, Row>();
  let records = 0;
  const calls = createCallPipeline({ resolveComm: (pid) => pipeline.processes.get(pid).comm }, (rec: CallRecord) => {
    records++;
    jsonl.write(`${JSON.stringify(rec)}\n`);
    if (rec.schema !== 'llmslo.llm_call/v1') return;
    const c = rec as LlmCallRecord;
    if (c.observed_side !== 'client') return; // the simulator's side of the same call
    const key = `${c['gen_ai.provider.name']} ${c['gen_ai.request.model'] ?? '?'} (${c.process.comm ?? c.process.pid})`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { calls: 0, recent: [], errors: new Map() }));
    row.calls++;
    row.recent.push({ at: Date.now(), ttft: c.ttft_s, tpot: c.tpot_s, out: c['gen_ai.usage.output_tokens'] ?? 0 });
    if (row.recent.length > 500) row.recent.shift();
    if (c['error.type']) row.errors.set(c['error.type'], (row.errors.get(c['error.type']) ?? 0) + 1);
  });
  const pipeline = new CapturePipeline({ payloadCap: 16 * 1024, sink: calls });
  capture.onBatch((b) => pipeline.feedBatch(b));
  capture.onTick((now) => pipeline.tick(now));
  capture.start();

  const stopAll = () => {
    for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGTERM');
  };
  try {
    const sim = await startChild(['sim', 'provider', '--port', '0', '--tls', '--ca-out', caFile, '--truth', join(dir, 'sim-truth.jsonl')], /listening on (\S+)/);
    children.push(sim.child);
    const url = sim.match![1];
    const ca = readFileSync(caFile);
    const load = (runner: string, api: string, conc: number, extra: string[] = []) =>
      startChild(['load', '--url', url, '--runner', runner, '--api', api, '--concurrency', String(conc), '--count', '100000', '--duration', String(duration), '--ca', caFile, '--quiet', '--out', join(dir, `client-${runner}.jsonl`), ...extra]).then((c) => children.push(c.child));
    await Promise.all([load('openai', 'chat', 2), load('anthropic', 'messages', 2), load('python', 'chat', 1), load('curl', 'chat', 1, ['--no-stream'])]);

    const t0 = Date.now();
    let faulted = false;
    const tty = process.stdout.isTTY;
    const render = () => {
      const now = Date.now();
      if (!faulted && now - t0 > (duration * 1000) / 2) {
        faulted = true;
        void postFault(url, ca, { fault: 'rate_limited', rate: 0.15, for_s: Math.max(5, duration / 4) });
      }
      const lines: string[] = [];
      lines.push(`llmslo demo — ${((now - t0) / 1000).toFixed(0)}s / ${duration}s — simulated provider ${url} — ${records} records${faulted ? ' — rate-limit fault injected' : ''}`);
      lines.push(`${'provider model (client)'.padEnd(52)} ${'calls'.padStart(6)} ${'calls/s'.padStart(8)} ${'TTFT p50'.padStart(9)} ${'TTFT p95'.padStart(9)} ${'TPOT p50'.padStart(9)} ${'tok/s'.padStart(7)}  errors`);
      for (const [key, row] of [...rows].sort()) {
        const win = row.recent.filter((r) => now - r.at < 10_000);
        const ttfts = win.map((r) => r.ttft).filter((x): x is number => x !== null).sort((a, b) => a - b);
        const tpots = win.map((r) => r.tpot).filter((x): x is number => x !== null).sort((a, b) => a - b);
        const span = Math.min(10, (now - t0) / 1000) || 1;
        const toks = win.reduce((a, r) => a + r.out, 0) / span;
        const errs = [...row.errors].map(([k, v]) => `${k}=${v}`).join(' ') || '-';
        lines.push(`${key.slice(0, 52).padEnd(52)} ${String(row.calls).padStart(6)} ${(win.length / span).toFixed(1).padStart(8)} ${ms(pct(ttfts, 0.5)).padStart(9)} ${ms(pct(ttfts, 0.95)).padStart(9)} ${ms(pct(tpots, 0.5)).padStart(9)} ${toks.toFixed(0).padStart(7)}  ${errs}`);
      }
      const s = capture.stats();
      lines.push(`capture: ${s.records} kernel records, ${s.kernelByName.ringbuf_drops} lost, ${pipeline.decoder.badRecords} undecodable; calls: ${JSON.stringify(calls.stats().calls).slice(0, 120)}`);
      process.stdout.write(tty ? `\x1b[H\x1b[2J${lines.join('\n')}\n` : `${lines.join('\n')}\n\n`);
    };
    const timer = setInterval(render, tty ? 1000 : 5000);
    const why = await waitForStop(duration + 2);
    clearInterval(timer);
    capture.drain();
    pipeline.flush(monotonicNowNs());
    render();
    console.log(`\nstopped (${why}). Call records (JSONL, one per line): ${jsonlFile}`);
    console.log(`Client ground truth: ${dir}/client-*.jsonl; simulator ground truth: ${dir}/sim-truth.jsonl`);
    console.log('Prometheus and OTLP outputs come with `llmslo run` (next milestone).');
  } finally {
    stopAll();
    capture.close(); // delivers the last records before the file is closed
    jsonl.end();
  }
  return rows.size > 0 ? 0 : 1;
}
