// The server end of a call whose client end is on the node too, derived from the client end's
// parse (mirroredServer: derive), must be the record parsing the server end itself gives
// (mirroredServer: parse): the same content, the server's own kernel timestamps. Every wire
// fixture, both ends of one keep-alive connection, the server's writes and the client's reads
// cut at random places (UTF-8 sequences and SSE events split across reads), the server's
// records arriving late, and its payloads withheld once it handed over (the kernel's sizes-only
// mute): field for field equal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CloseReason, DataChunk, StreamEvent } from '../../src/capture/stream.ts';
import { MirrorRegistry, newMirrorCounters } from '../../src/llm/mirror.ts';
import { createCallPipeline } from '../../src/llm/pipeline.ts';
import type { PipelineOptions, PipelineStats } from '../../src/llm/pipeline.ts';
import type { CallRecord, LlmCallRecord } from '../../src/llm/records.ts';
import { Rng } from '../../src/sim/random.ts';
import { fixtureSegments, loadFixtures, T0 } from './wire.ts';
import type { WireFixture } from './wire.ts';

const CLIENT = { address: '10.0.0.2', port: 51001 };
const SERVER = { address: '10.0.0.9', port: 8443 };
const FLIP: Partial<Record<CloseReason, CloseReason>> = { local_close: 'remote_close', remote_close: 'local_close', reset_sent: 'reset_received', reset_received: 'reset_sent' };

interface Write {
  tsNs: number;
  bytes: Buffer;
}

/** What the reader of `writes` sees: the same bytes cut at random places, each read after the write of its last byte. */
function reads(writes: Write[], rnd: () => number): Write[] {
  const all = Buffer.concat(writes.map((w) => w.bytes));
  const writtenAt: number[] = [];
  for (const w of writes) for (let i = 0; i < w.bytes.length; i++) writtenAt.push(w.tsNs);
  const out: Write[] = [];
  let at = 0;
  let last = 0;
  while (at < all.length) {
    // mostly whole writes or less, sometimes several writes in one read
    const n = Math.max(1, Math.floor(rnd() < 0.3 ? rnd() * 12 : rnd() * 400));
    const end = Math.min(all.length, at + n);
    const ts = Math.max(last, writtenAt[end - 1]!) + 5_000 + Math.floor(rnd() * 150_000);
    out.push({ tsNs: ts, bytes: all.subarray(at, end) });
    last = ts;
    at = end;
  }
  return out;
}

/**
 * Both ends of one connection carrying `rounds` exchanges of the fixture: client conn 1, server
 * conn 2, in the order the agent would process them (the server's records up to `lagNs` late).
 */
function bothEnds(fx: WireFixture, rounds: number, seed: number, lagNs: number, lateOpen?: boolean): StreamEvent[] {
  const rng = new Rng(seed);
  const rnd = (): number => rng.next();
  const tls = fx.tls !== false;
  const client: StreamEvent[] = [];
  const server: StreamEvent[] = [];
  const segs = fixtureSegments(fx);
  const roundMs = 2_000_000; // far apart: every fixture's exchange is over within a round
  for (let r = 0; r < rounds; r++) {
    const shift = r * roundMs * 1e6;
    // the fixture's writes as they are, or cut anywhere too (a proxy, a buffered writer)
    const cut = rnd() < 0.5;
    const writes = (dir: 'egress' | 'ingress'): Write[] => {
      const w = segs.filter((s) => s.direction === dir).map((s) => ({ tsNs: s.tsNs + shift, bytes: s.bytes }));
      return cut ? reads(w, rnd) : w;
    };
    const req = writes('egress');
    const resp = writes('ingress');
    for (const w of req) client.push({ kind: 'data', connId: 1, direction: 'egress', tsNs: w.tsNs, bytes: w.bytes, missingAfter: 0, tls });
    for (const w of reads(req, rnd)) server.push({ kind: 'data', connId: 2, direction: 'ingress', tsNs: w.tsNs, bytes: w.bytes, missingAfter: 0, tls });
    for (const w of resp) server.push({ kind: 'data', connId: 2, direction: 'egress', tsNs: w.tsNs, bytes: w.bytes, missingAfter: 0, tls });
    for (const w of reads(resp, rnd)) client.push({ kind: 'data', connId: 1, direction: 'ingress', tsNs: w.tsNs, bytes: w.bytes, missingAfter: 0, tls });
  }
  const lastTs = Math.max(...[...client, ...server].map((e) => e.tsNs));
  const closeAt = fx.close ? T0 + Math.round(fx.close.at_ms * 1e6) + (rounds - 1) * roundMs * 1e6 : lastTs + 1e9;
  const reason = fx.close?.reason ?? 'local_close';
  client.push({ kind: 'close', connId: 1, tsNs: closeAt, reason });
  server.push({ kind: 'close', connId: 2, tsNs: closeAt + 40_000, reason: FLIP[reason] ?? reason });
  const open = (connId: number, local: typeof CLIENT, remote: typeof CLIENT): StreamEvent => ({ kind: 'open', tsNs: T0 - 2e6, conn: { connId, pid: 100 + connId, tid: 100 + connId, cgroupId: 70 + connId, local, remote, tls, serverName: null } });
  // processing order: by time, the server's records up to lagNs late (its write's probe may fire after the client's read)
  const order = (e: StreamEvent, late: number): number => e.tsNs + late;
  // (in their own order: one end's reads and writes follow each other; and its close never
  // overtakes its records, the capture holds closes back for that)
  let prev = -Infinity;
  const late = server
    .sort((a, b) => a.tsNs - b.tsNs)
    .map((e) => {
      prev = Math.max(prev + 1, order(e, Math.floor(rnd() * lagNs)));
      return { e, k: prev };
    });
  const keyed = [...client.map((e) => ({ e, k: order(e, 0) })), ...late].sort((a, b) => a.k - b.k);
  // the server end's connection is first seen at its first read, after the client's request went
  // out (an already open one, when the agent started mid-connection)
  const opened = keyed.map((x) => x.e);
  const firstServer = (lateOpen ?? rnd() < 0.7) ? opened.findIndex((e) => e.kind === 'data' && e.connId === 2) : 0;
  opened.splice(firstServer, 0, open(2, SERVER, CLIENT));
  return [open(1, CLIENT, SERVER), ...opened];
}

/** Runs the pipeline; once it mutes a connection to sizes, that connection's payloads are withheld (as the kernel does). */
function runMuting(evs: StreamEvent[], opts: PipelineOptions, dropSized?: (n: number) => boolean): { records: CallRecord[]; stats: PipelineStats; muted: string[] } {
  const records: CallRecord[] = [];
  const muted: string[] = [];
  const sizesOnly = new Set<number>();
  let sized = 0;
  const p = createCallPipeline(
    {
      clock: (ns) => 1_780_000_000_000 + ns / 1e6,
      ...opts,
      muteConnection: (id, keep) => {
        muted.push(`${id}:${keep}`);
        if (keep === 'sizes') sizesOnly.add(id);
      },
    },
    (r) => records.push(r),
  );
  for (const e of evs) {
    // as the capture hands them over: the sink's sizes fast path (or a data event without bytes)
    if (e.kind === 'data' && sizesOnly.has(e.connId) && dropSized?.(sized++) === true) continue;
    if (e.kind === 'data' && sizesOnly.has(e.connId)) {
      if (e.tsNs % 2 === 0) p.onSizes!(e.connId, e.direction, e.bytes.length + e.missingAfter, e.tsNs);
      else p.onEvent({ ...e, bytes: new Uint8Array(0), missingAfter: e.bytes.length + e.missingAfter });
    }
    else p.onEvent(e);
  }
  p.flush(T0 + 1e16);
  return { records, stats: p.stats(), muted };
}

const bySide = (recs: CallRecord[], side: 'client' | 'server'): LlmCallRecord[] =>
  recs.filter((r): r is LlmCallRecord => r.schema === 'llmslo.llm_call/v1' && r.observed_side === side);

/** The fixture with multi-byte UTF-8 in its texts (character and byte positions then differ). */
function withUnicode(fx: WireFixture): WireFixture {
  const widen = (d: string): string => d.replace(/"(content|text|delta)":"([^"]*)"/g, (_m, k: string, v: string) => `"${k}":"${v.replace(/e/g, 'é').replace(/o/g, '🚀')}"`);
  if (!fx.response) return fx;
  return { ...fx, response: { ...fx.response, pieces: fx.response.pieces.map((p) => ({ ...p, data: widen(p.data) })) } };
}

const fixtures = loadFixtures().filter((f) => !/^(chroma|elasticsearch|milvus|opensearch|pinecone|qdrant|weaviate|pgvector)/.test(f.name));

describe('mirrored server ends derived from their client end', () => {
  test('equal to parsing the server end, for every fixture, cut anywhere, records late, payloads withheld', () => {
    let derivedTotal = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: fixtures.length - 1 }), fc.integer(), fc.constantFrom(0, 50_000, 400_000), fc.boolean(), (fi, seed, lag, unicode) => {
        const fx = unicode ? withUnicode(fixtures[fi]!) : fixtures[fi]!;
        const rounds = fx.close ? 1 : 3;
        const evs = bothEnds(fx, rounds, seed, lag);
        const parsed = runMuting(evs, { mirroredServer: 'parse' });
        const derived = runMuting(evs, { mirroredServer: 'derive' });
        assert.deepEqual(bySide(derived.records, 'client'), bySide(parsed.records, 'client'), `${fx.name}: client records unchanged`);
        const ps = bySide(parsed.records, 'server');
        const ds = bySide(derived.records, 'server');
        if (process.env.MIRROR_DEBUG && JSON.stringify(ds) !== JSON.stringify(ps)) console.log(fx.name, seed, lag, JSON.stringify(ds, null, 1), JSON.stringify(ps, null, 1), derived.stats.mirroredServers);
        assert.deepEqual(ds, ps, `${fx.name} (seed ${seed}, lag ${lag}): server records`);
        derivedTotal += derived.stats.mirroredServers.derived;
        assert.equal(derived.stats.mirroredServers.unaligned, 0, fx.name);
      }),
      // MIRROR_RUNS=N runs more cases; MIRROR_SEED=seed:path replays a counterexample
      { numRuns: Number(process.env.MIRROR_RUNS ?? 500), ...(process.env.MIRROR_SEED ? { seed: Number(process.env.MIRROR_SEED.split(':')[0]), path: process.env.MIRROR_SEED.split(':')[1] } : {}) },
    );
    assert.ok(derivedTotal > 300, `most server ends were derived, not parsed (${derivedTotal})`);
  });

  test('the server end hands over at its first response head: muted to sizes, later exchanges never parsed', () => {
    const fx = loadFixtures().find((f) => f.name === 'openai_chat_stream_usage')!;
    // a new connection: its server end is first seen after the client's first request went out
    const evs = bothEnds(fx, 3, 7, 0, true);
    const r = runMuting(evs, { mirroredServer: 'derive' });
    assert.deepEqual(r.muted, ['2:sizes']);
    assert.equal(r.stats.mirroredServers.adopted, 1);
    assert.equal(r.stats.mirroredServers.derived, 3, 'three exchanges, three derived server records');
    assert.equal(r.stats.mirroredServers.derivedPartial, 0);
    const server = bySide(r.records, 'server');
    assert.equal(server.length, 3);
    for (const s of server) {
      assert.equal(s.conn_id, 2);
      assert.deepEqual(s.process, { pid: 102, comm: null });
      assert.equal(s.partial, false);
      // the server wrote the first token before the client read it
      const c = bySide(r.records, 'client').find((x) => x['gen_ai.response.id'] === s['gen_ai.response.id'] && Math.abs(x.timestamps_ns.request_start - s.timestamps_ns.request_start) < 1e9)!;
      assert.ok(s.timestamps_ns.first_token! < c.timestamps_ns.first_token!, 'server first token earlier than the client saw it');
      assert.ok(s.timestamps_ns.request_end! > c.timestamps_ns.request_end!, 'server read the request after the client sent it');
    }
  });

  test('records lost between the ends: no wrong server timings, the exchange is counted', () => {
    const fx = loadFixtures().find((f) => f.name === 'openai_chat_stream_usage')!;
    const evs = bothEnds(fx, 3, 11, 0);
    // a loss after the first exchange: offsets after it may not line up any more
    const firstClose = evs.findIndex((e, i) => i > 2 && e.kind === 'data' && e.connId === 1 && e.direction === 'egress' && e.tsNs > T0 + 1e12);
    evs.splice(firstClose, 0, { kind: 'loss', tsNs: evs[firstClose]!.tsNs, lostRecords: 3 });
    const r = runMuting(evs, { mirroredServer: 'derive' });
    assert.equal(bySide(r.records, 'server').length, 1, 'only the exchange before the loss has a server record');
    assert.equal(r.stats.mirroredServers.unaligned, 2);
    assert.equal(bySide(r.records, 'client').length, 3);
  });
});

test('a server record silently lost after the hand-over: no server time against causality is reported', () => {
  const fx = loadFixtures().find((f) => f.name === 'openai_chat_stream_usage')!;
  const evs = bothEnds(fx, 3, 5, 0, true);
  // one of the server's response writes vanishes without a loss event: its byte count shifts
  const r = runMuting(evs, { mirroredServer: 'derive' }, (n) => n === 3);
  const clients = bySide(r.records, 'client');
  const servers = bySide(r.records, 'server');
  assert.equal(servers.length, 3);
  for (const s of servers) {
    const c = clients.find((x) => Math.abs(x.timestamps_ns.request_start - s.timestamps_ns.request_start) < 1e9)!;
    for (const k of ['response_start', 'first_chunk', 'first_token', 'response_end'] as const) {
      const sv = s.timestamps_ns[k];
      const cv = c.timestamps_ns[k];
      assert.ok(sv === null || cv === null || sv <= cv + 5e6, `${k}: server ${sv} after the client's ${cv}`);
    }
  }
  assert.ok(r.stats.mirroredServers.inconsistent >= 1, 'the shift was caught');
  assert.ok(servers.some((s) => s.partial_reasons.includes('server_timing_inconsistent')));
});

test('the server end hands over in a write the capture cut short (payload cap): its byte count still lines up', () => {
  const fx = loadFixtures().find((f) => f.name === 'openai_chat_stream_usage')!;
  // the server writes its response head and the start of its body in one write...
  const merged = (): StreamEvent[] => {
    const evs = bothEnds(fx, 3, 9, 0, true);
    const parts: number[] = [];
    let bytes = Buffer.alloc(0);
    for (let k = 0; k < evs.length; k++) {
      const e = evs[k]!;
      if (e.kind !== 'data' || e.connId !== 2 || e.direction !== 'egress') continue;
      parts.push(k);
      bytes = Buffer.concat([bytes, e.bytes]);
      const head = bytes.indexOf('\r\n\r\n');
      if (head >= 0 && bytes.length >= head + 4 + 20) break;
    }
    // written at once, when the first of those writes was (every read of them comes later)
    const last = parts[parts.length - 1]!;
    evs[last] = { ...(evs[last] as DataChunk), bytes, tsNs: evs[parts[0]!]!.tsNs };
    for (const k of parts.slice(0, -1).reverse()) evs.splice(k, 1);
    return evs;
  };
  const whole = merged();
  // ...which the capture cuts 10 bytes after the head (its tail counted as missing)
  const cut = merged();
  const k = cut.findIndex((e) => e.kind === 'data' && e.connId === 2 && e.direction === 'egress');
  const w = cut[k] as DataChunk;
  const headLen = Buffer.from(w.bytes).indexOf('\r\n\r\n') + 4;
  cut[k] = { ...w, bytes: w.bytes.subarray(0, headLen + 10), missingAfter: w.bytes.length - headLen - 10 };
  const r = runMuting(cut, { mirroredServer: 'derive' });
  assert.equal(r.stats.mirroredServers.adopted, 1);
  assert.equal(r.stats.mirroredServers.inconsistent, 0);
  const servers = bySide(r.records, 'server');
  assert.equal(servers.length, 3);
  assert.deepEqual(servers.map((s) => s.partial_reasons), [[], [], []], 'derived from the client end: complete');
  // and exactly what parsing the uncut bytes gives
  assert.deepEqual(servers, bySide(runMuting(whole, { mirroredServer: 'parse' }).records, 'server'));
});

test('the transfer logs of all mirrored connections stay within a budget', () => {
  const counters = newMirrorCounters();
  const emitted: CallRecord[] = [];
  const reg = new MirrorRegistry({ emit: (r) => emitted.push(r), clock: () => 0, resolveComm: () => null, counters }, 100, 1000);
  const conn = (id: number) => ({ connId: id, pid: 1, tid: 1, cgroupId: 0, local: null, remote: null, tls: false, serverName: null });
  const servers = [1, 2, 3].map((id) => {
    const ms = reg.adopt(conn(id));
    ms.start(0, 0);
    return ms;
  });
  // transfers no client exchange ever asks about (non-LLM requests on handed-over connections)
  for (let i = 0; i < 3000; i++) reg.onServerData(servers[i % 3]!, i % 2 === 0, 100, i);
  assert.ok(reg.entries <= 1000, `entries kept: ${reg.entries}`);
  assert.ok(counters.evicted >= 2, `the oldest connections went: ${counters.evicted}`);
  assert.equal(reg.size, 3 - counters.evicted);
  // an evicted connection's later transfers are not logged
  const before = reg.entries;
  reg.onServerData(servers[0]!, false, 100, 9999);
  assert.equal(reg.entries, before);
  assert.equal(counters.logOverflow, 0);
});
