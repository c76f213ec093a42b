// Joins client ground truth (llmslo load --out) with server ground truth (sim provider --truth)
// by request id and reports, per runner, how far the client's view lags the server's on the
// shared CLOCK_MONOTONIC: request send -> server receipt, server first token -> client first
// token, server end -> client end. With no files given it runs its own sim + one load per runner.
//   node --import tsx bench/sim/client-vs-server.ts [--count 60] [--tls] [CLIENT.jsonl... SERVER.jsonl]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import type { TruthRecord } from '../../src/sim/truth.ts';
import type { ClientRecord } from '../../src/load/types.ts';

const { values, positionals } = parseArgs({ options: { count: { type: 'string' }, tls: { type: 'boolean' } }, allowPositionals: true });
const readJsonl = <T>(f: string): T[] => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

let clientFiles: string[];
let serverFile: string;
if (positionals.length >= 2) {
  serverFile = positionals.at(-1)!;
  clientFiles = positionals.slice(0, -1);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-bench-join-'));
  const env = { ...process.env, LLMSLO_FROM_SOURCE: '1' };
  serverFile = join(dir, 'server.jsonl');
  const ca = join(dir, 'ca.pem');
  const sim = spawn(process.execPath, ['bin/llmslo.js', 'sim', 'provider', '--port', '0', '--truth', serverFile, ...(values.tls ? ['--tls', '--ca-out', ca] : [])], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => createInterface({ input: sim.stdout! }).on('line', (l) => l.startsWith('listening on ') && resolve(l.slice(13))));
  clientFiles = [];
  for (const [runner, api] of [['openai', 'chat'], ['anthropic', 'messages'], ['fetch', 'chat'], ['python', 'chat'], ['curl', 'chat']]) {
    const out = join(dir, `${runner}.jsonl`);
    clientFiles.push(out);
    const r = spawnSync(process.execPath, ['bin/llmslo.js', 'load', '--url', url, '--runner', runner, '--api', api, '--concurrency', '4', '--count', values.count ?? '60', '--quiet', '--out', out, ...(values.tls ? ['--ca', ca] : [])], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`load ${runner} failed: ${r.stderr}`);
  }
  sim.kill('SIGTERM');
  await new Promise((r) => sim.on('exit', r));
}

const server = new Map(readJsonl<TruthRecord>(serverFile).map((r) => [r.request_id, r]));
const q = (v: number[], p: number) => (v.length ? [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))] : NaN);
const fmt = (v: number[]) => `p50 ${q(v, 0.5).toFixed(3)} p99 ${q(v, 0.99).toFixed(3)}`;
console.log(`client view vs server truth (ms, CLOCK_MONOTONIC)${values.tls ? ', HTTPS' : ''}`);
for (const f of clientFiles) {
  const recs = readJsonl<ClientRecord>(f);
  const send: number[] = [];
  const first: number[] = [];
  const end: number[] = [];
  let joined = 0;
  for (const c of recs) {
    const s = server.get(c.request_id ?? '');
    if (!s) continue;
    joined++;
    send.push((s.received.mono_ns - c.start.mono_ns) / 1e6);
    if (c.first_token && s.first_token) first.push((c.first_token.mono_ns - s.first_token.mono_ns) / 1e6);
    if (s.end) end.push((c.end.mono_ns - s.end.mono_ns) / 1e6);
  }
  const name = recs[0] ? `${recs[0].runner}/${recs[0].api}` : f;
  console.log(`  ${name.padEnd(20)} joined ${joined}/${recs.length}  send->received ${fmt(send)}  first token lag ${fmt(first)}  end lag ${fmt(end)}`);
}
