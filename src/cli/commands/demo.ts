// `llmslo demo`: the README's main job. Starts the agent (real eBPF capture, Prometheus endpoint,
// JSONL), the simulated provider over HTTPS, a vector DB and the RAG app, drives them with real
// clients (official openai and @anthropic-ai/sdk packages, Python through libssl, curl, and RAG
// requests), and shows a live table per provider/model. Injects a rate-limit fault halfway so
// error classes show up. Bounded in time; Ctrl-C ends it earlier; every process it started is
// stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, numberOption } from '../args.ts';
import { CliError } from '../errors.ts';
import { waitForStop } from '../signals.ts';
import { Agent } from '../../agent/agent.ts';
import { DEFAULT_CONFIG } from '../../agent/config.ts';
import { CaptureError } from '../../capture/live.ts';
import type { CallRecord, LlmCallRecord, RetrievalCallRecord } from '../../llm/records.ts';

const HELP = `usage: llmslo demo [--duration S] [--out DIR] [--prometheus HOST:PORT]

Runs the agent with the simulated provider over HTTPS, a vector DB and a RAG app, and a moderate
load from real clients (openai SDK, anthropic SDK, Python, curl, RAG requests). Shows per
provider/model: calls/s, TTFT p50/p95, TPOT, output tokens/s and error classes, and retrieval
latency. Default duration 45 s; Prometheus on 127.0.0.1:9464 (or --prometheus).`;

const cli = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../bin/llmslo.js');

interface Row {
  calls: number;
  recent: Array<{ at: number; ttft: number | null; tpot: number | null; out: number; dur: number | null }>;
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
    const on = (d: Buffer) => {
      if (done) return;
      buf += d;
      const m = ready!.exec(buf);
      if (m) {
        done = true;
        res({ child, match: m });
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', (d: Buffer) => (done ? undefined : (buf += d)));
    child.on('error', rej);
    child.on('exit', (code) => {
      if (!done) rej(new Error(`${args.slice(0, 2).join(' ')} exited with ${code} before it was ready: ${buf.trim().split('\n').pop() ?? ''}`));
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
  const { values } = parseCommandArgs('demo', argv, { duration: { type: 'string' }, out: { type: 'string' }, prometheus: { type: 'string' } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const duration = numberOption('demo', 'duration', values.duration, 45, { min: 5 });
  const dir = values.out ?? mkdtempSync(join(tmpdir(), 'llmslo-demo-'));
  if (values.out !== undefined) {
    // the outputs go in it: made if missing, a clear error if it cannot be
    // one level at a time (Node's recursive mkdir can spin on procfs paths)
    let path = dir.startsWith('/') ? '' : '.';
    for (const part of dir.split('/').filter((p) => p.length > 0)) {
      path = `${path}/${part}`;
      try {
        mkdirSync(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') throw new CliError(`demo: --out ${dir}: cannot create ${path} (${code ?? (err as Error).message})`);
      }
    }
  }
  const caFile = join(dir, 'sim-ca.pem');
  const jsonlFile = join(dir, 'calls.jsonl');

  const rows = new Map<string, Row>();
  const retrieval: Array<{ at: number; dur: number | null }> = [];
  let records = 0;
  const onRecord = (rec: CallRecord) => {
    records++;
    if (rec.schema === 'llmslo.retrieval_call/v1') {
      const r = rec as RetrievalCallRecord;
      retrieval.push({ at: Date.now(), dur: r.duration_s });
      if (retrieval.length > 2000) retrieval.shift();
      return;
    }
    const c = rec as LlmCallRecord;
    if (c.observed_side !== 'client') return; // the simulator's side of the same call
    const key = `${c['gen_ai.provider.name']} ${c['gen_ai.operation.name']} ${c['gen_ai.request.model'] ?? '?'} (${c.process.comm ?? c.process.pid}, ${c.capture})`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { calls: 0, recent: [], errors: new Map() }));
    row.calls++;
    row.recent.push({ at: Date.now(), ttft: c.ttft_s, tpot: c.tpot_s, out: c['gen_ai.usage.output_tokens'] ?? 0, dur: c.duration_s });
    if (row.recent.length > 500) row.recent.shift();
    if (c['error.type']) row.errors.set(c['error.type'], (row.errors.get(c['error.type']) ?? 0) + 1);
  };
  const config = structuredClone(DEFAULT_CONFIG);
  config.outputs.jsonl.path = jsonlFile;
  if (values.prometheus) config.outputs.prometheus.listen = values.prometheus;
  config.capture.tls_rescan_s = 2;
  const agent = new Agent({ config, onRecord, log: () => {} });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop().catch(() => {});
    if (err instanceof CaptureError) throw new CliError(`demo: ${err.message}`);
    if (err instanceof Error && /in use/i.test(err.message)) throw new CliError(`demo: ${err.message} (use --prometheus HOST:PORT)`);
    throw err;
  }

  const children: ChildProcess[] = [];
  const stopAll = () => {
    for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGTERM');
  };
  try {
    const sim = await startChild(['sim', 'provider', '--port', '0', '--tls', '--ca-out', caFile, '--truth', join(dir, 'sim-truth.jsonl')], /listening on (\S+)/);
    children.push(sim.child);
    const url = sim.match![1];
    const vdb = await startChild(['sim', 'vectordb', '--port', '0'], /listening on (\S+)/);
    children.push(vdb.child);
    const rag = await startChild(['sim', 'rag', '--port', '0', '--llm', url, '--vectordb', vdb.match![1], '--ca', caFile], /listening on (\S+)/);
    children.push(rag.child);
    const ca = readFileSync(caFile);
    const load = (target: string, runner: string, api: string, conc: number, extra: string[] = []) =>
      startChild(['load', '--url', target, '--runner', runner, '--api', api, '--concurrency', String(conc), '--count', '100000', '--duration', String(duration), '--quiet', '--out', join(dir, `client-${runner}-${api}.jsonl`), ...extra]).then((c) => children.push(c.child));
    await Promise.all([
      load(url, 'openai', 'chat', 2, ['--ca', caFile]),
      load(url, 'anthropic', 'messages', 2, ['--ca', caFile]),
      load(url, 'python', 'chat', 1, ['--ca', caFile]),
      load(url, 'curl', 'chat', 1, ['--ca', caFile, '--no-stream']),
      load(rag.match![1], 'fetch', 'rag', 1),
    ]);

    const t0 = Date.now();
    let faulted = false;
    const tty = process.stdout.isTTY;
    const render = () => {
      const now = Date.now();
      if (!faulted && now - t0 > (duration * 1000) / 2) {
        faulted = true;
        void postFault(url, ca, { fault: 'rate_limited', rate: 0.15, for_s: Math.max(5, duration / 4) });
      }
      const span = Math.min(10, (now - t0) / 1000) || 1;
      const lines: string[] = [];
      lines.push(`llmslo demo — ${((now - t0) / 1000).toFixed(0)}s / ${duration}s — ${records} records${faulted ? ' — rate-limit fault injected' : ''}`);
      // the label column as wide as the longest label (capped: a terminal line stays readable)
      const header = 'provider operation model (client, capture)';
      const labelWidth = Math.min(80, Math.max(header.length, ...[...rows.keys()].map((k) => k.length)));
      lines.push(`${header.padEnd(labelWidth)} ${'calls'.padStart(6)} ${'calls/s'.padStart(8)} ${'TTFT p50'.padStart(9)} ${'TTFT p95'.padStart(9)} ${'TPOT p50'.padStart(9)} ${'tok/s'.padStart(7)}  errors`);
      for (const [key, row] of [...rows].sort()) {
        const win = row.recent.filter((r) => now - r.at < 10_000);
        const ttfts = win.map((r) => r.ttft).filter((x): x is number => x !== null).sort((a, b) => a - b);
        const tpots = win.map((r) => r.tpot).filter((x): x is number => x !== null).sort((a, b) => a - b);
        const toks = win.reduce((a, r) => a + r.out, 0) / span;
        const errs = [...row.errors].map(([k, v]) => `${k}=${v}`).join(' ') || '-';
        lines.push(`${key.slice(0, labelWidth).padEnd(labelWidth)} ${String(row.calls).padStart(6)} ${(win.length / span).toFixed(1).padStart(8)} ${ms(pct(ttfts, 0.5)).padStart(9)} ${ms(pct(ttfts, 0.95)).padStart(9)} ${ms(pct(tpots, 0.5)).padStart(9)} ${toks.toFixed(0).padStart(7)}  ${errs}`);
      }
      const rwin = retrieval.filter((r) => now - r.at < 10_000);
      const rdur = rwin.map((r) => r.dur).filter((x): x is number => x !== null).sort((a, b) => a - b);
      lines.push(`retrieval (vector search): ${(rwin.length / span).toFixed(1)}/s, latency p50 ${ms(pct(rdur, 0.5))}, p95 ${ms(pct(rdur, 0.95))}`);
      const h = agent.captureHealth();
      if (h) lines.push(`capture: ${h.records} kernel records, ${h.lost} lost, ${h.undecodable} undecodable`);
      process.stdout.write(tty ? `\x1b[H\x1b[2J${lines.join('\n')}\n` : `${lines.join('\n')}\n\n`);
    };
    const timer = setInterval(render, tty ? 1000 : 5000);
    const why = await waitForStop(duration + 2);
    clearInterval(timer);
    render();
    console.log(`\nstopped (${why}).`);
    console.log(`Prometheus endpoint (while running): ${agent.prometheusUrl ?? 'disabled'}`);
    console.log(`Call records (JSONL, one per line): ${jsonlFile}`);
    console.log(`Client ground truth: ${dir}/client-*.jsonl; simulator ground truth: ${dir}/sim-truth.jsonl`);
    console.log('Run the agent on its own with `llmslo run` (docs/agent.md).');
  } finally {
    stopAll();
    await agent.stop();
  }
  return rows.size > 0 ? 0 : 1;
}
