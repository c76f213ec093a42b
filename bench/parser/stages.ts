// Where the parser's time goes: the same recording through cumulative stages, each timed on
// CPU, so the cost of every layer is the difference between two lines.
//
//   node --expose-gc --import tsx bench/parser/stages.ts [--calls N] [--conns N] [--rounds N]
//
// 1. HTTP/1.1 framing only (Http1Parser per direction, body pieces discarded)
// 2. + SSE / NDJSON splitting (events produced, not interpreted)
// 3. the whole pipeline (adapters, call records)
import type { StreamEvent } from '../../src/capture/stream.ts';
import { createCallPipeline } from '../../src/llm/pipeline.ts';
import { Http1Parser, defaultBodyMode } from '../../src/protocols/http1.ts';
import type { Http1Hooks } from '../../src/protocols/http1.ts';
import { NdjsonSplitter } from '../../src/protocols/ndjson.ts';
import { SseParser } from '../../src/protocols/sse.ts';
import { buildRecording } from './recording.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROUNDS = opt('rounds', 5);
const { events, streamChunks } = buildRecording({ calls: opt('calls', 1500), conns: opt('conns', 100), cuts: 'aligned' });

const limits = { maxHeadBytes: 65536, resyncCarryBytes: 4096 };
const streamCounters = { events: 0, comments: 0, oversizeEvents: 0, lines: 0, oversizeLines: 0 };

function framing(split: boolean): () => number {
  return () => {
    let sink = 0;
    const counters = { messages: 0, resyncs: 0, resyncBytesSkipped: 0, headTooLarge: 0, badHeads: 0, bodyGapBytes: 0 };
    const conns = new Map<number, { eg: Http1Parser; in: Http1Parser }>();
    for (const ev of events) {
      if (ev.kind === 'open') {
        let sse: SseParser | null = null;
        let nd: NdjsonSplitter | null = null;
        const onEvent = (data: string): void => {
          sink += data.length;
        };
        const hooks = (resp: boolean): Http1Hooks => ({
          onKind() {},
          bodyModeFor: defaultBodyMode,
          onHead(head) {
            if (!resp || !split || head.kind !== 'response') return;
            const ct = head.headers.get('content-type') ?? '';
            sse = ct.includes('event-stream') ? new SseParser(onEvent, { maxEventBytes: 262144 }, streamCounters) : null;
            nd = ct.includes('ndjson') ? new NdjsonSplitter(onEvent, 262144, streamCounters) : null;
          },
          onBody(buf, s, e, ts) {
            sink += e - s;
            if (sse !== null) (sse as SseParser).push(buf, ts, s, e);
            else if (nd !== null) (nd as NdjsonSplitter).push(buf, ts, s, e);
          },
          onBodyGap() {},
          onEnd() {},
          onAbort() {},
        });
        conns.set(ev.conn.connId, { eg: new Http1Parser('request', hooks(false), limits, counters), in: new Http1Parser('response', hooks(true), limits, counters) });
      } else if (ev.kind === 'data') {
        const c = conns.get(ev.connId)!;
        (ev.direction === 'egress' ? c.eg : c.in).push(ev.bytes, ev.tsNs, ev.missingAfter);
      }
    }
    return sink;
  };
}

function pipeline(): number {
  let n = 0;
  const p = createCallPipeline({ clock: (ns) => ns / 1e6 }, () => n++);
  for (const e of events as StreamEvent[]) p.onEvent(e);
  p.flush(Number.MAX_SAFE_INTEGER);
  return n;
}

const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const allStages: [string, () => number][] = [
  ['http framing', framing(false)],
  ['+ sse/ndjson split', framing(true)],
  ['whole pipeline', pipeline],
];
const stages = allStages.filter(([n]) => ONLY === null || n.startsWith(ONLY));
const best = new Map<string, number>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of stages) {
    (globalThis as { gc?: () => void }).gc?.();
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    const s = (c.user + c.system) / 1e6;
    best.set(name, Math.min(best.get(name) ?? Infinity, s));
  }
}
for (const [name] of stages) {
  const s = best.get(name)!;
  console.log(`${name.padEnd(20)} ${(s * 1e9 / streamChunks).toFixed(0).padStart(6)} ns per chunk  ${(streamChunks / s / 1e3).toFixed(1)}k chunks/s`);
}
