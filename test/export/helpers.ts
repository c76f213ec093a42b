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

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

/** A strict-enough parser of the Prometheus text format (0.0.4) for assertions. */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? help : types).set(m[2]!, m[3]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let lm: RegExpExecArray | null;
      let consumed = 0;
      while ((lm = re.exec(m[2]))) {
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed += lm[0].length;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    // Go's ParseFloat (Prometheus) takes NaN and Inf in any case; prom-client writes "Nan"
    const raw = m[3]!.toLowerCase();
    const v = raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : raw === 'nan' ? NaN : Number(m[3]);
    if (Number.isNaN(v) && raw !== 'nan') throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1]!, labels, value: v });
  }
  return { types, help, samples };
}

export function sumOf(e: Exposition, name: string, match: Record<string, string> = {}): number {
  return e.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}
