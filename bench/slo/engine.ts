// SLO engine benchmark: observe() throughput, evaluate() cost, memory and state size under
// heavy input. Run: node --import tsx bench/slo/engine.ts [records=1000000] [slos=10]
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { SloEngine } from '../../src/slo/engine.ts';
import { parseSloSources } from '../../src/slo/parse.ts';

const records = Number(process.argv[2] ?? 1_000_000);
const sloCount = Number(process.argv[3] ?? 10);
if (!(records > 0 && sloCount > 0)) throw new Error('usage: engine.ts [records] [slos]');

const kinds = [
  '{type: availability}',
  '{type: ttft, threshold: 2s}',
  '{type: tpot, threshold: 100ms}',
  '{type: output_tokens_per_s, threshold: 20}',
  '{type: llm_latency, threshold: 30}',
];
const yaml = ['apiVersion: llmslo/v1', 'service: bench', 'slos:'];
for (let i = 0; i < sloCount; i++) {
  yaml.push(`  - {name: slo-${i}, sli: ${kinds[i % kinds.length]}, selector: {provider: [openai, anthropic]}, objective: 99, window: ${i % 2 ? '28d' : '30d'}}`);
}
const parsed = parseSloSources([{ file: 'bench', text: yaml.join('\n') }]);
if (parsed.issues.length) throw new Error(JSON.stringify(parsed.issues));

const registry = new Registry();
const engine = new SloEngine(parsed.slos, { registry });
const providers = ['openai', 'anthropic', 'gemini'];
const errors = [null, null, null, null, null, null, null, null, null, 'server_error', 'rate_limited', 'bad_request'];
const spanMs = 10 * 86_400_000; // records spread over 10 days, more than any fine ring
const t0 = Date.parse('2026-11-20T00:00:00Z');

// Records are pre-built so the loop measures the engine, not object construction.
const pool = Array.from({ length: 4096 }, (_, i) => ({
  schema: 'llmslo.llm_call/v1',
  'gen_ai.provider.name': providers[i % 3],
  'gen_ai.request.model': 'm',
  'gen_ai.operation.name': 'chat',
  'error.type': errors[i % errors.length],
  ttft_s: (i % 40) / 10,
  tpot_s: (i % 30) / 200,
  output_tokens_per_s: i % 60,
  duration_s: (i % 50) / 2,
  time: '',
}));

global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
let start = performance.now();
let nextEval = t0 + 60_000;
let evalCount = 0;
let evalMs = 0;
for (let i = 0; i < records; i++) {
  const at = t0 + Math.floor((i / records) * spanMs);
  const rec = pool[i & 4095]!;
  rec.time = new Date(at - rec.duration_s * 1000).toISOString();
  engine.observe(rec, at);
  if (at >= nextEval) {
    const e0 = performance.now();
    engine.evaluate(at);
    evalMs += performance.now() - e0;
    evalCount++;
    nextEval = at + 15 * 60_000;
  }
}
const totalMs = performance.now() - start;
global.gc?.();
const heapAfter = process.memoryUsage().heapUsed;

start = performance.now();
const rounds = 200;
for (let i = 0; i < rounds; i++) engine.evaluate(t0 + spanMs);
const evalEach = (performance.now() - start) / rounds;

const dir = mkdtempSync(join(tmpdir(), 'llmslo-slo-bench-'));
const statePath = join(dir, 'state.json');
start = performance.now();
await engine.save(statePath, t0 + spanMs);
const saveMs = performance.now() - start;
const stateBytes = statSync(statePath).size;
const reloaded = new SloEngine(parsed.slos);
start = performance.now();
await reloaded.load(statePath);
const loadMs = performance.now() - start;
rmSync(dir, { recursive: true, force: true });
start = performance.now();
const metricsText = await registry.metrics();
const scrapeMs = performance.now() - start;

console.log(`records: ${records} over 10 days, SLOs: ${sloCount}, counted: ${engine.stats.counted}, unmatched: ${engine.stats.unmatched}`);
console.log(`observe (incl. time parse, ${sloCount} SLOs each, ${evalCount} evaluations every 15 min of record time): ${(records / (totalMs / 1000)).toFixed(0)} records/s (${((totalMs - evalMs) / records * 1000).toFixed(2)} µs/record)`);
console.log(`evaluate(): ${evalEach.toFixed(2)} ms for ${sloCount} SLOs (${(evalEach / sloCount).toFixed(3)} ms/SLO)`);
console.log(`heap growth after ${records} records: ${((heapAfter - heapBefore) / 1024 / 1024).toFixed(1)} MiB${global.gc ? '' : ' (run with --expose-gc for a settled figure)'}`);
console.log(`state file: ${(stateBytes / 1024).toFixed(0)} KiB (${(stateBytes / sloCount / 1024).toFixed(0)} KiB/SLO), save ${saveMs.toFixed(1)} ms, load ${loadMs.toFixed(1)} ms`);
console.log(`metrics scrape: ${(metricsText.length / 1024).toFixed(1)} KiB in ${scrapeMs.toFixed(1)} ms`);
