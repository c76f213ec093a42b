// Property-based tests (fast-check): split invariance, robustness against garbage, truncation
// and corruption, and hard per-connection memory caps.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StreamEvent } from '../../src/capture/stream.ts';
import { createCallPipeline } from '../../src/llm/pipeline.ts';
import { fixtureEvents, loadFixtures, resplit, run } from '../llm/wire.ts';

const fixtures = loadFixtures();
const T = 7_000_000_000_000;

describe('split invariance', () => {
  test('any split of the same byte stream into pieces yields identical records', () => {
    const baseline = fixtures.map((fx) => JSON.stringify(run(fixtureEvents(fx)).records));
    fc.assert(
      fc.property(fc.nat({ max: fixtures.length - 1 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), fc.nat(), (i, fractions, salt) => {
        const evs = resplit(fixtureEvents(fixtures[i]!), (len, idx) => fractions.map((f, k) => Math.floor(((f + (idx + salt + k) * 0.618) % 1) * len)));
        assert.equal(JSON.stringify(run(evs).records), baseline[i]);
      }),
      { numRuns: 300 },
    );
  });
  test('byte-at-a-time delivery yields identical records', () => {
    for (const fx of fixtures.slice(0, 12)) {
      const base = JSON.stringify(run(fixtureEvents(fx)).records);
      const evs = resplit(fixtureEvents(fx), (len) => Array.from({ length: len }, (_, k) => k));
      assert.equal(JSON.stringify(run(evs).records), base, fx.name);
    }
  });
});

const openEv = (connId: number): StreamEvent => ({
  kind: 'open',
  tsNs: T,
  conn: { connId, pid: 1, tid: 1, cgroupId: 0, local: { address: '127.0.0.1', port: 1 }, remote: { address: '127.0.0.1', port: 2 }, tls: false, serverName: null },
});

const arbEvent = fc.oneof(
  { weight: 8, arbitrary: fc.record({ connId: fc.nat({ max: 3 }), egress: fc.boolean(), bytes: fc.uint8Array({ maxLength: 600 }), missing: fc.oneof(fc.constant(0), fc.nat({ max: 5000 })) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      connId: fc.nat({ max: 3 }),
      egress: fc.boolean(),
      // HTTP-looking garbage exercises the deeper states
      text: fc.array(fc.constantFrom('POST /v1/chat/completions HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n', 'content-length: 5\r\n', 'transfer-encoding: chunked\r\n', 'content-type: text/event-stream\r\n', '\r\n', '5\r\n', '0\r\n\r\n', 'data: {"choices":[{"delta":{"content":"x"}}]}\n\n', 'data: [DONE]\n\n', '{"model":"m"}', 'zz\r\n', 'content-encoding: gzip\r\n', 'event: error\n'), { maxLength: 12 }).map((a) => a.join('')),
      missing: fc.oneof(fc.constant(0), fc.nat({ max: 50 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ close: fc.nat({ max: 3 }), reason: fc.constantFrom('close', 'local_close', 'remote_close', 'reset_sent', 'reset_received', 'refused', 'timeout') as fc.Arbitrary<'close'> }) },
  { weight: 1, arbitrary: fc.record({ loss: fc.nat({ max: 100 }) }) },
);

type Arb = typeof arbEvent extends fc.Arbitrary<infer X> ? X : never;

function toEvents(items: Arb[]): StreamEvent[] {
  const evs: StreamEvent[] = [0, 1, 2, 3].map(openEv);
  items.forEach((it, k) => {
    const ts = T + (k + 1) * 1000;
    if ('close' in it) evs.push({ kind: 'close', connId: it.close, tsNs: ts, reason: it.reason });
    else if ('loss' in it) evs.push({ kind: 'loss', tsNs: ts, lostRecords: it.loss });
    else {
      const bytes = 'text' in it ? Buffer.from(it.text, 'latin1') : it.bytes;
      evs.push({ kind: 'data', connId: it.connId, direction: it.egress ? 'egress' : 'ingress', tsNs: ts, bytes, missingAfter: it.missing, tls: false });
    }
  });
  return evs;
}

describe('robustness', () => {
  test('random garbage never throws out of the parser and keeps memory bounded', () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { maxLength: 60 }), (items) => {
        const p = createCallPipeline({ clock: () => 0, limits: { maxHeadBytes: 4096, maxEventBytes: 4096, maxRequestBodyBytes: 8192, maxResponseBodyBytes: 8192 } }, () => {});
        let peak = 0;
        for (const ev of toEvents(items)) {
          p.onEvent(ev);
          peak = Math.max(peak, p.stats().bufferedBytes);
        }
        p.flush(T + 1e12);
        const s = p.stats();
        assert.equal(s.calls.internalErrors, 0, String(s.calls.lastInternalError));
        // 4 connections x (head cap + carry + bodies + event caps), with slack
        assert.ok(peak <= 4 * (4096 + 4096 + 8192 + 8192 + 4096 + 64 * 1024 * 2), `peak ${peak}`);
      }),
      { numRuns: 400 },
    );
  });
  test('random truncation and corruption of real transcripts never throw; records stay well-formed', () => {
    fc.assert(
      fc.property(fc.nat({ max: fixtures.length - 1 }), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 5 }), fc.boolean(), (i, cutAt, flips, dropTail) => {
        const evs = fixtureEvents(fixtures[i]!);
        const data = evs.filter((e) => e.kind === 'data');
        const cutEv = data[cutAt % data.length]!;
        const out: StreamEvent[] = [];
        for (const e of evs) {
          if (e === cutEv && e.kind === 'data') {
            const keep = cutAt % (e.bytes.length + 1);
            out.push({ ...e, bytes: e.bytes.subarray(0, keep), missingAfter: e.bytes.length - keep });
            if (dropTail) break;
            continue;
          }
          if (e.kind === 'data' && flips.length > 0) {
            const b = Buffer.from(e.bytes);
            for (const [pos, val] of flips) if (b.length > 0) b[pos % b.length] = val;
            out.push({ ...e, bytes: b });
            continue;
          }
          out.push(e);
        }
        const { records, stats } = run(out);
        assert.equal(stats.calls.internalErrors, 0, String(stats.calls.lastInternalError));
        for (const r of records) {
          assert.ok(r.duration_s === null || r.duration_s >= 0);
          if (r.schema === 'llmslo.llm_call/v1') {
            assert.ok(r.chunks >= r.content_chunks);
            if (r.ttft_s !== null && r.ttfc_s !== null) assert.ok(r.ttft_s >= r.ttfc_s);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('hard caps per connection', () => {
  const caps = { maxHeadBytes: 2048, maxEventBytes: 1024, maxRequestBodyBytes: 4096, maxResponseBodyBytes: 4096, resyncCarryBytes: 512 };
  const feed = (evs: StreamEvent[]): { peak: number; p: ReturnType<typeof createCallPipeline> } => {
    const p = createCallPipeline({ clock: () => 0, limits: caps }, () => {});
    let peak = 0;
    for (const e of evs) {
      p.onEvent(e);
      peak = Math.max(peak, p.stats().bufferedBytes);
    }
    return { peak, p };
  };
  const data = (dir: 'egress' | 'ingress', s: string | Buffer, k: number, connId = 0): StreamEvent => ({ kind: 'data', connId, direction: dir, tsNs: T + k, bytes: typeof s === 'string' ? Buffer.from(s) : s, missingAfter: 0, tls: false });
  test('a header block that never ends', () => {
    const evs = [openEv(0), data('egress', 'POST /v1/chat/completions HTTP/1.1\r\n', 0)];
    for (let k = 1; k < 200; k++) evs.push(data('egress', `x-h${k}: ${'v'.repeat(50)}\r\n`, k));
    const { peak, p } = feed(evs);
    assert.ok(peak <= caps.maxHeadBytes + caps.resyncCarryBytes + 64, `peak ${peak}`);
    assert.equal(p.stats().http.headTooLarge, 1);
  });
  test('an SSE event that never ends, and an endless non-stream body', () => {
    const req = (stream: boolean): string => {
      const b = JSON.stringify({ model: 'm', messages: [], stream });
      return `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: ${b.length}\r\n\r\n${b}`;
    };
    for (const [stream, ct] of [[true, 'text/event-stream'], [false, 'application/json']] as const) {
      const evs = [openEv(0), data('egress', req(stream), 0), data('ingress', `HTTP/1.1 200 OK\r\ncontent-type: ${ct}\r\n\r\ndata: {"x":"`, 1)];
      for (let k = 2; k < 400; k++) evs.push(data('ingress', 'y'.repeat(100), k));
      const { peak, p } = feed(evs);
      // body (or event) cap + the head buffers the two directions keep allocated
      assert.ok(peak <= Math.max(caps.maxEventBytes, caps.maxResponseBodyBytes) + caps.maxHeadBytes + 256, `peak ${peak} (${ct})`);
      p.onEvent({ kind: 'close', connId: 0, tsNs: T + 1000, reason: 'remote_close' });
      assert.equal(p.stats().bufferedBytes, 0);
    }
  });
  test('the number of tracked connections is capped; the oldest are flushed as partial', () => {
    const recs: unknown[] = [];
    const p = createCallPipeline({ clock: () => 0, limits: { maxConnections: 8 } }, (r) => recs.push(r));
    const b = JSON.stringify({ model: 'm', messages: [] });
    for (let c = 0; c < 20; c++) {
      p.onEvent(openEv(c));
      p.onEvent(data('egress', `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: ${b.length}\r\n\r\n${b}`, c, c));
    }
    const s = p.stats();
    assert.equal(s.connections.open, 8);
    assert.equal(s.connections.evicted, 12);
    assert.equal(recs.length, 12);
  });
});

describe('drop counters', () => {
  test('an oversize SSE event is dropped and counted in the pipeline stats; the call goes on', () => {
    const b = JSON.stringify({ model: 'm', messages: [], stream: true });
    const big = `data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(3000)}"}}]}\n\n`;
    const small = 'data: {"model":"m","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}\n\ndata: [DONE]\n\n';
    const resp = `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${big.length + small.length}\r\n\r\n${big}${small}`;
    const evs: StreamEvent[] = [
      openEv(0),
      { kind: 'data', connId: 0, direction: 'egress', tsNs: T + 1, bytes: Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: ${b.length}\r\n\r\n${b}`), missingAfter: 0, tls: false },
      { kind: 'data', connId: 0, direction: 'ingress', tsNs: T + 2, bytes: Buffer.from(resp), missingAfter: 0, tls: false },
    ];
    const recs: { content_chunks: number; 'error.type': string | null }[] = [];
    const p = createCallPipeline({ clock: () => 0, limits: { maxEventBytes: 1024 } }, (r) => recs.push(r as never));
    for (const e of evs) p.onEvent(e);
    p.flush(T + 10);
    const s = p.stats();
    assert.equal(s.streams.oversizeEvents, 1);
    assert.equal(s.streams.events, 2);
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.content_chunks, 1);
    assert.equal(recs[0]!['error.type'], null);
  });
});
