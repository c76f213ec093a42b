// Parser throughput on a large synthetic mixed recording, on one core.
//
//   node --expose-gc --import tsx bench/parser/throughput.ts [--dist] [--calls N] [--conns N] [--rounds N] [--cuts aligned|random]
//
// Builds in memory the StreamEvents a capture of many keep-alive connections would give:
// OpenAI chat (with usage), OpenAI Responses, Anthropic Messages, Gemini SSE (CRLF) and Ollama
// NDJSON streams with realistic payloads (ids, obfuscation padding, Anthropic whitespace),
// chunked transfer encoding, TCP reads that cut events anywhere, connections interleaved in
// time. Then it times only `pipeline.onEvent` over them and prints stream chunks/s and MB/s,
// and measures memory per open connection with streams in flight.
import { performance } from 'node:perf_hooks';
import type { CallRecord } from '../../src/llm/records.ts';
import { buildRecording, chunkFrame, makeCall } from './recording.ts';
import { calibrationNsPerIteration } from '../lib/process.ts';

const args = process.argv.slice(2);
// --dist: time the compiled JavaScript the agent runs (dist/, built by scripts/setup.sh) instead
// of the TypeScript sources through tsx (whose keep-names helpers add a few per cent).
const FROM_DIST = args.includes('--dist');
const { createCallPipeline } = (await import(FROM_DIST ? '../../dist/llm/pipeline.js' : '../../src/llm/pipeline.ts')) as typeof import('../../src/llm/pipeline.ts');
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const CALLS = opt('calls', 1500);
const CONNS = opt('conns', 100);
const ROUNDS = opt('rounds', 6);
const ci = args.indexOf('--cuts');
/** aligned (default): reads follow server writes; random: reads cut anywhere (worst case). */
const CUTS = ci >= 0 && args[ci + 1] === 'random' ? 'random' : 'aligned';
// --layout scattered: payloads where each call was built instead of in arrival order (see recording.ts)
const LAYOUT = args.includes('--layout') && args[args.indexOf('--layout') + 1] === 'scattered' ? 'scattered' : 'arrival';
// --profile FILE: write a V8 CPU profile of the second half of the rounds (steady state: the
// first rounds include compilation), for chrome://inspect or a self-time summary.
const pi = args.indexOf('--profile');
const PROFILE = pi >= 0 ? args[pi + 1]! : null;

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

// Memory per open connection: K connections, each with a request sent and a stream in flight
// (headers + a partial SSE event buffered).
function measureMemory(): void {
  const K = opt('open', 10000);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m0 = process.memoryUsage();
  const before = m0.heapUsed + m0.arrayBuffers;
  const p = createCallPipeline({ clock: (ns) => ns / 1e6 }, () => {});
  const call = makeCall('openai', 10);
  const body = Buffer.concat(call.events.slice(0, 3).map(chunkFrame));
  const partial = Buffer.concat([call.head, body, chunkFrame(call.events[3]!).subarray(0, 60)]);
  for (let c = 0; c < K; c++) {
    p.onEvent({ kind: 'open', tsNs: c, conn: { connId: c, pid: 1, tid: 1, cgroupId: 1, local: { address: '10.0.0.2', port: c % 65535 }, remote: { address: '10.0.0.9', port: 443 }, tls: true, serverName: 'api.openai.com' } });
    p.onEvent({ kind: 'data', connId: c, direction: 'egress', tsNs: c + 1, bytes: Buffer.from(call.req), missingAfter: 0, tls: true });
    p.onEvent({ kind: 'data', connId: c, direction: 'ingress', tsNs: c + 2, bytes: Buffer.from(partial), missingAfter: 0, tls: true });
  }
  gc?.();
  const m1 = process.memoryUsage();
  const after = m1.heapUsed + m1.arrayBuffers;
  const st = p.stats();
  console.log(`memory: ${K} open connections with streams in flight: ${((after - before) / K / 1024).toFixed(1)} KiB per connection (JS heap + buffers)${gc ? '' : ' (run with --expose-gc for a cleaner figure)'}, of which ${(st.bufferedBytes / K).toFixed(0)} B parser buffers`);
}

// Memory first, while the heap holds nothing else.
measureMemory();

const { events, streamChunks, bytes } = buildRecording({ calls: CALLS, conns: CONNS, cuts: CUTS, layout: LAYOUT });
console.log(`code: ${FROM_DIST ? 'dist/ (compiled JavaScript)' : 'src/ through tsx'}`);
console.log(`recording (${CUTS} reads, payloads ${LAYOUT === 'arrival' ? 'in arrival order' : 'scattered'}): ${CONNS} connections, ${CALLS} calls, ${fmt(streamChunks)} stream chunks (SSE events / NDJSON lines), ${(bytes / 1e6).toFixed(1)} MB, ${fmt(events.length)} capture events`);

let best = Infinity;
let recordsSeen = 0;
const profiler = PROFILE === null ? null : await startProfiler();
for (let r = 0; r < ROUNDS; r++) {
  if (profiler !== null && r === Math.floor(ROUNDS / 2)) await profiler.start();
  let n = 0;
  let lastErr: string | null = null;
  const p = createCallPipeline({ clock: (ns) => ns / 1e6 }, (rec: CallRecord) => {
    n++;
    if (rec['error.type'] !== null) lastErr = rec['error.type'];
  });
  if (process.env.GCR) (globalThis as { gc?: () => void }).gc?.();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const e of events) p.onEvent(e);
  p.flush(Number.MAX_SAFE_INTEGER);
  const cpu = process.cpuUsage(c0);
  const wall = (performance.now() - t0) / 1000;
  // CPU time of this (single-threaded) loop: robust to other processes sharing the machine.
  const dt = (cpu.user + cpu.system) / 1e6;
  const s = p.stats();
  if (s.calls.internalErrors > 0 || lastErr !== null || n !== CONNS * Math.ceil(CALLS / CONNS)) {
    console.error(`bench: wrong results: records=${n} internalErrors=${s.calls.internalErrors} lastError=${lastErr} ${s.calls.lastInternalError}`);
    process.exit(1);
  }
  recordsSeen = n;
  best = Math.min(best, dt);
  console.log(`round ${r + 1}: ${dt.toFixed(3)} s CPU (${wall.toFixed(3)} s wall)  ${fmt(streamChunks / dt)} chunks/s  ${(bytes / 1e6 / dt).toFixed(1)} MB/s`);
}
if (profiler !== null) await profiler.stop(PROFILE!);
console.log(`best: ${fmt(streamChunks / best)} stream chunks/s, ${(bytes / 1e6 / best).toFixed(1)} MB/s per CPU-second on one core (${recordsSeen} records per round, all verified error-free)`);
console.log(`calibration: ${calibrationNsPerIteration().toFixed(2)} ns per loop iteration on this machine`);


async function startProfiler(): Promise<{ start(): Promise<void>; stop(file: string): Promise<void> }> {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  return {
    start: async () => {
      await session.post('Profiler.start');
    },
    stop: async (file) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      console.log(`profile of rounds ${Math.floor(ROUNDS / 2) + 1}-${ROUNDS}: ${file}`);
    },
  };
}
