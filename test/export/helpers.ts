// Realistic records for the export tests: the real eBPF fixture recording replayed without root
// (as test/capture/fixture-replay.test.ts does), plus wire fixtures (retrieval, errors).
import { resolve } from 'node:path';
import { CapturePipeline, clockMapper } from '../../src/capture/pipeline.ts';
import { ProcessCache, type ProcessInfo } from '../../src/capture/processes.ts';
import { readRecording, readRecordingHeader } from '../../src/capture/recording.ts';
import { createCallPipeline, type PipelineStats } from '../../src/llm/pipeline.ts';
import type { CallRecord } from '../../src/llm/records.ts';
import type { DecoderStats } from '../../src/capture/decoder.ts';

export const FIXTURE = resolve(import.meta.dirname, '../fixtures/recordings/sim-clients.llmslo');

export interface Replay {
  records: CallRecord[];
  pipeline: PipelineStats;
  decoder: DecoderStats;
  clock: (monoNs: number) => number;
}

export function replayFixture(opts: { keepExcerpts?: boolean } = {}): Replay {
  const header = readRecordingHeader(FIXTURE);
  const procs = new ProcessCache(1024, null);
  const records: CallRecord[] = [];
  const clock = clockMapper(header.monoNsAtStart, header.wallMsAtStart);
  const calls = createCallPipeline(
    { clock, resolveComm: (pid) => procs.get(pid).comm, ...(opts.keepExcerpts ? { keepExcerpts: { maxChars: 64 } } : {}) },
    (r) => records.push(r),
  );
  const p = new CapturePipeline({ payloadCap: header.payloadCap, processes: procs, sink: calls });
  readRecording(FIXTURE, {
    onBatch: (b) => p.feedBatch(b),
    onMeta: (m) => procs.seed((m as { processes?: ProcessInfo[] }).processes ?? []),
  });
  p.flush(p.assembler.latestTs);
  return { records, pipeline: calls.stats(), decoder: p.decoder, clock };
}
