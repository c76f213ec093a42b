// The agent's user-space work on a real capture, offline: a recording made by `llmslo record`
// during a load (kernel record batches, as the ring buffer delivered them) replayed through the
// capture pipeline (decode, stream assembly) and the call pipeline (HTTP, SSE, adapters, call
// records) several times in one process, timed on CPU. The steady-state rounds give the cost per
// stream chunk that `bench/agent/overhead.ts` measures live, without the machine's noise.
//
//   node --expose-gc --import tsx bench/parser/replay.ts FILE [--rounds N] [--dist] [--profile OUT]
//
// Make FILE with e.g. (as root, simulator and load on loopback):
//   llmslo sim provider --port 18081 &
//   llmslo record --out /tmp/load.rec &      # Ctrl-C after the load
//   llmslo load --url http://127.0.0.1:18081 --runner openai --concurrency 200 --count 1200 --max-tokens 48
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { readRecording, readRecordingHeader } from '../../src/capture/recording.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '6' }, dist: { type: 'boolean', default: false }, profile: { type: 'string' }, 'profile-round': { type: 'string' }, outputs: { type: 'boolean', default: false }, 'pace-ms': { type: 'string' }, 'pace-batches': { type: 'string', default: '1' }, mirrored: { type: 'string', default: 'derive' } },
});
if (positionals.length !== 1) {
  console.error('usage: bench/parser/replay.ts FILE [--rounds N] [--dist] [--profile OUT]');
  process.exit(2);
}
const ROUNDS = Number(values.rounds);
const PACE_MS = values['pace-ms'] === undefined ? 0 : Number(values['pace-ms']);
type CaptureModule = typeof import('../../src/capture/pipeline.ts');
type CallModule = typeof import('../../src/llm/pipeline.ts');
type ProcessesModule = typeof import('../../src/capture/processes.ts');
const root = values.dist ? '../../dist' : '../../src';
const ext = values.dist ? 'js' : 'ts';
const { CapturePipeline, clockMapper } = (await import(`${root}/capture/pipeline.${ext}`)) as CaptureModule;
const { createCallPipeline } = (await import(`${root}/llm/pipeline.${ext}`)) as CallModule;
const { ProcessCache } = (await import(`${root}/capture/processes.${ext}`)) as ProcessesModule;
// --outputs: also turn every record into metrics (the Prometheus registry `llmslo run` serves)
const outputs = values.outputs ? await ((await import(`${root}/export/outputs.${ext}`)) as typeof import('../../src/export/outputs.ts')).createOutputs({ prometheus: false }) : null;

const file = positionals[0]!;
const header = readRecordingHeader(file);
const batches: Buffer[] = [];
readRecording(file, { onBatch: (b) => batches.push(Buffer.from(b)), onMeta: () => {} });
const bytes = batches.reduce((n, b) => n + b.length, 0);

let best = Infinity;
let last = { records: 0, chunks: 0, calls: 0, streamChunks: 0, mirrored: '' };
let profiler: { stop(): Promise<void> } | null = null;
for (let r = 0; r < ROUNDS; r++) {
  // --profile OUT: profile the second half of the rounds (steady state), or only round N
  // with --profile-round N (1-based; e.g. 1 to see what warm-up costs)
  const profileFrom = values['profile-round'] !== undefined ? Number(values['profile-round']) - 1 : Math.floor(ROUNDS / 2);
  if (values.profile !== undefined && r === profileFrom) profiler = await startProfiler(values.profile);
  let calls = 0;
  let streamChunks = 0;
  const procs = new ProcessCache(16384, null);
  // the options `llmslo run` uses by default
  const callSink = createCallPipeline({ clock: clockMapper(header.monoNsAtStart, header.wallMsAtStart), resolveComm: (pid) => procs.get(pid).comm, retrieval: true, serverRequests: true, mirroredServer: values.mirrored as 'derive' | 'parse' | 'skip' }, (rec) => {
    calls++;
    outputs?.onRecord(rec);
    if (rec.schema === 'llmslo.llm_call/v1' && rec.observed_side === 'client') streamChunks += rec.chunks ?? 0;
  });
  const pipeline = new CapturePipeline({ payloadCap: header.payloadCap, processes: procs, sink: callSink });
  const c0 = process.cpuUsage();
  if (PACE_MS > 0 && r === ROUNDS - 1) {
    // --pace-ms N: the last round feeds one batch every N ms, as the live agent's drain timer
    // does, with the process idle in between (CPU of the idle gaps included)
    const per = Number(values['pace-batches']);
    for (let i = 0; i < batches.length; i++) {
      pipeline.feedBatch(batches[i]!);
      if ((i + 1) % per === 0) await new Promise((res) => setTimeout(res, PACE_MS));
    }
  } else for (const b of batches) pipeline.feedBatch(b);
  pipeline.flush(Math.max(header.monoNsAtStart, pipeline.assembler.latestTs));
  callSink.flush(Number.MAX_SAFE_INTEGER);
  const c = process.cpuUsage(c0);
  const s = (c.user + c.system) / 1e6;
  if (!(PACE_MS > 0 && r === ROUNDS - 1)) best = Math.min(best, s);
  const ms = callSink.stats().mirroredServers;
  last = { records: pipeline.decoder.records, chunks: pipeline.assembler.stats.chunks, calls, streamChunks, mirrored: `adopted ${ms.adopted}, derived ${ms.derived} (partial ${ms.derivedPartial}), unaligned ${ms.unaligned}` };
  if (profiler !== null && values['profile-round'] !== undefined && r === profileFrom) {
    await profiler.stop();
    profiler = null;
  }
  console.log(`round ${r + 1}: ${s.toFixed(3)} s CPU, ${((s * 1e6) / streamChunks).toFixed(2)} µs per client stream chunk`);
}
await profiler?.stop();
await outputs?.shutdown();
console.log(`recording: ${batches.length} batches, ${(bytes / 1e6).toFixed(1)} MB, ${last.records} kernel records, ${last.chunks} stream events, ${last.calls} call records, ${last.streamChunks} client-side stream chunks; mirrored server ends (--mirrored ${values.mirrored}): ${last.mirrored}`);
console.log(`best: ${((best * 1e6) / last.streamChunks).toFixed(2)} µs CPU per client stream chunk (${((best * 1e6) / last.records).toFixed(2)} µs per kernel record, ${((best * 1e6) / Math.max(1, last.calls)).toFixed(1)} µs per call record) = ${((best * 1e6) / last.streamChunks / 10).toFixed(2)} % of a core per 1,000 chunks/s`);

async function startProfiler(out: string): Promise<{ stop(): Promise<void> }> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(out, JSON.stringify(profile));
      console.log(`profile written: ${out}`);
    },
  };
}
