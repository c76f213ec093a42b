// Simulator capacity and timing fidelity under the overhead benchmark's load: N concurrent
// streams (default 200) through one simulator process, driven by `llmslo load` in another.
// Prints the simulator's CPU use, throughput, and how faithfully it kept its profile's timing.
//   node --import tsx bench/sim/throughput.ts [--streams 200] [--duration 20] [--tls]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';

const { values } = parseArgs({ options: { streams: { type: 'string' }, duration: { type: 'string' }, tls: { type: 'boolean' } } });
const streams = Number(values.streams ?? 200);
const duration = Number(values.duration ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'llmslo-bench-sim-'));
const profile = join(dir, 'profile.json');
const ITL = 20;
const TTFT = 300;
writeFileSync(profile, JSON.stringify({ seed: 1, defaults: { ttft_ms: { dist: 'lognormal', median: TTFT, sigma: 0.25 }, itl_ms: { dist: 'lognormal', median: ITL, sigma: 0.2 }, output_tokens: { dist: 'uniform', min: 100, max: 300 }, slots: 1024 } }));
const env = { ...process.env, LLMSLO_FROM_SOURCE: '1' };
const truthPath = join(dir, 'truth.jsonl');
const caPath = join(dir, 'ca.pem');

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}

function waitListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => l.startsWith('listening on ') && resolve(l.slice(13)));
    child.on('exit', (c) => reject(new Error(`simulator exited ${c}`)));
  });
}

const sim = spawn(process.execPath, ['bin/llmslo.js', 'sim', 'provider', '--port', '0', '--profile', profile, '--truth', truthPath, ...(values.tls ? ['--tls', '--ca-out', caPath] : [])], { env, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await waitListening(sim);
const hz = 100; // USER_HZ
const t0 = performance.now();
const c0 = cpuTicks(sim.pid!);
const load = spawn(
  process.execPath,
  ['bin/llmslo.js', 'load', '--url', url, '--runner', 'fetch', '--concurrency', String(streams), '--count', String(streams * 100), '--duration', String(duration), '--max-tokens', '1000', '--quiet', '--json', ...(values.tls ? ['--ca', caPath] : [])],
  { env, stdio: ['ignore', 'pipe', 'inherit'] },
);
let summaryLine = '';
createInterface({ input: load.stdout! }).on('line', (l) => (summaryLine = l));
await new Promise((r) => load.on('exit', r));
const wall = (performance.now() - t0) / 1000;
const c1 = cpuTicks(sim.pid!);
sim.kill('SIGTERM');
await new Promise((r) => sim.on('exit', r));
const summary = JSON.parse(summaryLine) as { done: number; ok: number; errors: number; output_tokens: number; ttft_ms: { p50: number } };
const truth = readFileSync(truthPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as import('../../src/sim/truth.ts').TruthRecord);
const ok = truth.filter((r) => r.outcome === 'ok');
const q = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))];
const gaps: number[] = [];
const ttftErr: number[] = [];
const lateMean: number[] = [];
const lateMax: number[] = [];
for (const r of ok) {
  const content = r.chunks.filter((c) => c.kind === 'content');
  for (let i = 1; i < content.length; i++) gaps.push((content[i].mono_ns - content[i - 1].mono_ns) / 1e6);
  if (r.first_token && r.slot && r.planned_ttft_ms !== null) ttftErr.push((r.first_token.mono_ns - r.slot.mono_ns) / 1e6 - r.planned_ttft_ms);
  if (r.lateness_ms) {
    lateMean.push(r.lateness_ms.mean);
    lateMax.push(r.lateness_ms.max);
  }
}
const cpuS = (c1 - c0) / hz;
const chunks = ok.reduce((a, r) => a + r.content_chunks, 0);
console.log(`simulator ${values.tls ? 'HTTPS' : 'HTTP'}, ${streams} concurrent streams, ${wall.toFixed(1)} s (${ok.length} streams completed, client saw ${summary.ok} ok / ${summary.errors} errors)`);
console.log(`  simulator CPU: ${cpuS.toFixed(2)} s over ${wall.toFixed(1)} s = ${((cpuS / wall) * 100).toFixed(1)}% of one core`);
console.log(`  throughput: ${(chunks / wall).toFixed(0)} content chunks/s, ${(ok.length / wall).toFixed(1)} streams/s, CPU per chunk ${((cpuS / chunks) * 1e6).toFixed(1)} us`);
console.log(`  inter-chunk gap (profile median ${ITL} ms): median ${q(gaps, 0.5).toFixed(2)} ms, p99 ${q(gaps, 0.99).toFixed(2)} ms`);
console.log(`  TTFT vs planned: median +${q(ttftErr, 0.5).toFixed(2)} ms, p99 +${q(ttftErr, 0.99).toFixed(2)} ms`);
console.log(`  timer lateness per chunk: mean of means ${(lateMean.reduce((a, b) => a + b, 0) / lateMean.length).toFixed(2)} ms, p99 of per-stream max ${q(lateMax, 0.99).toFixed(2)} ms`);
console.log(`  client-side TTFT p50 ${summary.ttft_ms?.p50} ms (profile median ${TTFT} ms)`);
