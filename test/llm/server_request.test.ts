// Inbound requests of an application -> llmslo.server_request/v1, with the LLM and retrieval
// calls the same process made while serving them (counts, sums, unions, retrieval share).
// Synthetic capture streams: a RAG-like server connection plus the wire fixtures' outbound calls.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamEvent } from '../../src/capture/stream.ts';
import type { OutboundCallRecord } from '../../src/llm/records.ts';
import { routeTemplate, unionNs } from '../../src/llm/server_request.ts';
import { APP, FX, inbound, ms, outbound, ragScenario, runAll } from './server_streams.ts';
import { asServerSide, fixtureEvents } from './wire.ts';
import { assertValid } from './validate.ts';

const interval = (r: OutboundCallRecord): [number, number] => [r.timestamps_ns.request_start, r.timestamps_ns.response_end!];
const near = (a: number | null | undefined, b: number, eps = 1e-6): void => assert.ok(a !== null && a !== undefined && Math.abs(a - b) <= eps, `${a} != ${b}`);

describe('server_request records', () => {
  test('RAG-like /ask: embeddings, vector search and a streamed chat inside its window', () => {
    const { servers, calls, stats } = runAll([
      inbound(1, APP, { atMs: 0, endMs: 600 }),
      outbound('openai_embeddings', 2, APP, 10), // [10, 90]
      outbound('qdrant_search', 3, APP, 100), // [100, 112]
      outbound('openai_chat_stream_usage', 4, APP, 120), // [120, 540]
      outbound('qdrant_search', 5, APP, 700), // after the response: not linked
      outbound('qdrant_search', 6, APP + 1, 200), // another process: not linked
    ]);
    assert.equal(servers.length, 1);
    const s = servers[0]!;
    assertValid(s);
    assert.equal(s['http.request.method'], 'POST');
    assert.equal(s['url.path'], '/ask');
    assert.equal(s['http.route'], '/ask');
    assert.equal(s['http.response.status_code'], 200);
    assert.equal(s['server.address'], 'rag.local');
    assert.equal(s['server.port'], 8080);
    assert.equal(s['client.address'], '127.0.0.1');
    assert.equal(s.process.pid, APP);
    assert.equal(s.observed_side, 'server');
    assert.equal(s.partial, false, s.partial_reasons.join());
    near(s.duration_s, 0.6);
    assert.deepEqual(s.timestamps_ns, { request_start: ms(0), request_end: ms(0), response_start: ms(600), response_end: ms(600) });
    assert.equal(s.trace_id, null);
    assert.match(s.server_span.trace_id, /^[0-9a-f]{32}$/);
    assert.match(s.server_span.span_id, /^[0-9a-f]{16}$/);
    const emb = calls.find((c) => c.schema === 'llmslo.llm_call/v1' && c['gen_ai.operation.name'] === 'embeddings')!;
    const chat = calls.find((c) => c.schema === 'llmslo.llm_call/v1' && c['gen_ai.operation.name'] === 'chat')!;
    const search = calls.filter((c) => c.schema === 'llmslo.retrieval_call/v1');
    assert.equal(search.length, 3);
    const [e0, e1] = interval(emb);
    const [q0, q1] = interval(search[0]!);
    const [c0, c1] = interval(chat);
    assert.equal(s.outbound.llm.count, 1);
    assert.equal(s.outbound.retrieval.count, 2);
    assert.equal(s.outbound.retrieval.embeddings, 1);
    assert.equal(s.outbound.retrieval.vector_search, 1);
    assert.equal(s.outbound.ambiguous, 0);
    assert.equal(s.outbound.dropped, 0);
    near(s.outbound.llm.sum_s, (c1 - c0) / 1e9);
    near(s.outbound.llm.union_s, (c1 - c0) / 1e9);
    near(s.outbound.retrieval.sum_s, (e1 - e0 + q1 - q0) / 1e9);
    near(s.outbound.retrieval.union_s, (e1 - e0 + q1 - q0) / 1e9, 1e-6);
    near(s.retrieval_share, (e1 - e0 + q1 - q0) / 1e9 / 0.6);
    assert.ok(s.retrieval_share! > 0 && s.retrieval_share! < 1);
    // the linked calls point at the request's SERVER span; the others do not
    for (const c of [emb, chat, search[0]!]) assert.deepEqual(c.enclosing_request, s.server_span);
    for (const c of search.slice(1)) assert.equal(c.enclosing_request, undefined);
    for (const c of calls) assertValid(c);
    assert.equal(stats.serverRequests.records, 1);
    assert.equal(stats.serverRequests.linkedCalls, 3);
    assert.equal(stats.serverRequests.open, 0);
    assert.equal(stats.serverRequests.heldIntervals, 0);
    assert.equal(stats.calls.internalErrors, 0);
  });

  test('parallel retrieval calls are counted once in the union, twice in the sum', () => {
    const { servers, calls } = runAll([
      inbound(1, APP, { atMs: 0, endMs: 200 }),
      outbound('openai_embeddings', 2, APP, 10), // [10, 90]
      outbound('qdrant_search', 3, APP, 50), // [50, 62]: inside the embeddings call
      outbound('ollama_embed', 4, APP, 80), // [80, 120]: overlaps the end of it
    ]);
    const s = servers[0]!;
    assert.equal(s.outbound.retrieval.count, 3);
    assert.equal(s.outbound.retrieval.embeddings, 2);
    assert.equal(s.outbound.llm.count, 0);
    const iv = calls.flatMap(interval);
    const sum = calls.reduce((a, c) => a + (c.timestamps_ns.response_end! - c.timestamps_ns.request_start), 0);
    near(s.outbound.retrieval.sum_s, sum / 1e9);
    near(s.outbound.retrieval.union_s, unionNs(iv, -Infinity, Infinity).union / 1e9);
    near(s.outbound.retrieval.union_s, 0.11, 1e-3); // [10, 120]
    near(s.retrieval_share, s.outbound.retrieval.union_s / 0.2);
  });

  test('an LLM call served by the process stays an llm_call record (observed server side)', () => {
    const fx = FX.get('openai_chat_stream_usage')!;
    const { servers, calls } = runAll([asServerSide(fixtureEvents(fx, 1))]);
    assert.equal(servers.length, 0);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.observed_side, 'server');
  });

  test('concurrent requests without trace ids: a call both could own is ambiguous, not attributed', () => {
    const { servers, calls, stats } = runAll([
      inbound(1, APP, { atMs: 0, endMs: 600 }),
      inbound(2, APP, { atMs: 50, endMs: 650 }),
      outbound('openai_embeddings', 3, APP, 10), // only request 1 had started: it is request 1's
      outbound('qdrant_search', 4, APP, 100), // both are open: ambiguous
    ]);
    assert.equal(servers.length, 2);
    const [a, b] = [servers.find((s) => s.conn_id === 1)!, servers.find((s) => s.conn_id === 2)!];
    assert.equal(a.outbound.retrieval.count, 1);
    assert.equal(a.outbound.retrieval.embeddings, 1);
    assert.equal(a.outbound.ambiguous, 1);
    assert.equal(b.outbound.retrieval.count, 0);
    assert.equal(b.outbound.ambiguous, 1);
    assert.equal(stats.serverRequests.ambiguousCalls, 1);
    assert.equal(calls.find((c) => c.schema === 'llmslo.retrieval_call/v1')!.enclosing_request, undefined);
  });

  test('concurrent requests with trace ids: each call goes to the request of its trace', () => {
    const T1 = '1'.repeat(31) + 'a';
    const T2 = '2'.repeat(31) + 'b';
    const { servers, calls } = runAll([
      inbound(1, APP, { atMs: 0, endMs: 600, traceparent: `00-${T1}-${'a'.repeat(16)}-01` }),
      inbound(2, APP, { atMs: 5, endMs: 650, traceparent: `00-${T2}-${'b'.repeat(16)}-01` }),
      outbound('openai_embeddings', 3, APP, 10, `00-${T2}-${'c'.repeat(16)}-01`),
      outbound('qdrant_search', 4, APP, 100, `00-${T1}-${'d'.repeat(16)}-01`),
      outbound('openai_chat_stream_usage', 5, APP, 120, `00-${T2}-${'e'.repeat(16)}-01`),
    ]);
    const a = servers.find((s) => s.trace_id === T1)!;
    const b = servers.find((s) => s.trace_id === T2)!;
    assert.equal(a.span_id, 'a'.repeat(16));
    assert.equal(a.server_span.trace_id, T1, 'the SERVER span continues the inbound trace');
    assert.notEqual(a.server_span.span_id, a.span_id);
    assert.equal(a.outbound.retrieval.count, 1);
    assert.equal(a.outbound.retrieval.vector_search, 1);
    assert.equal(a.outbound.llm.count, 0);
    assert.equal(b.outbound.retrieval.embeddings, 1);
    assert.equal(b.outbound.llm.count, 1);
    assert.equal(a.outbound.ambiguous + b.outbound.ambiguous, 0);
    for (const c of calls) assert.equal(c.enclosing_request?.trace_id, c.trace_id);
  });

  test('route templating is conservative and bounded', () => {
    assert.equal(routeTemplate('/ask'), '/ask');
    assert.equal(routeTemplate('/'), '/');
    assert.equal(routeTemplate('/v1/users/42/orders/9f1c2b3a4d5e6f70'), '/v1/users/{id}/orders/{id}');
    assert.equal(routeTemplate('/items/123e4567-e89b-12d3-a456-426614174000'), '/items/{id}');
    assert.equal(routeTemplate('/api/v2/healthz'), '/api/v2/healthz');
    assert.equal(routeTemplate('/u/jane.doe%40example.com'), '/u/{id}');
    assert.equal(routeTemplate('/files/order12345'), '/files/{id}');
    assert.equal(routeTemplate('/a/b/c/d/e/f/g/h/i/j'), '/a/b/c/d/e/f/g/h/{rest}');
    assert.equal(routeTemplate('*'), '*');
    const { servers, stats } = runAll(
      Array.from({ length: 6 }, (_, i) => inbound(i + 1, APP, { atMs: i * 10, endMs: i * 10 + 5, path: `/page-${'x'.repeat(i + 1)}` })),
      { serverRequestLimits: { maxRoutes: 3 } },
    );
    assert.deepEqual(servers.map((s) => s['http.route']).slice(3), ['_OTHER', '_OTHER', '_OTHER']);
    assert.equal(stats.serverRequests.routesFolded, 3);
  });

  test('bounds: per-request and global caps hold memory, drops are counted', () => {
    const streams: StreamEvent[][] = [inbound(1, APP, { atMs: 0, endMs: 5000 })];
    for (let i = 0; i < 40; i++) streams.push(outbound('qdrant_search', 100 + i, APP, 10 + i * 100));
    const { servers, stats } = runAll(streams, { serverRequestLimits: { maxCallsPerRequest: 10 } });
    const s = servers[0]!;
    assert.equal(s.outbound.retrieval.count, 40);
    assert.equal(s.outbound.dropped, 30);
    near(s.outbound.retrieval.sum_s, 40 * 0.012, 1e-6);
    near(s.outbound.retrieval.union_s, 10 * 0.012, 1e-6);
    assert.equal(stats.serverRequests.droppedIntervals, 30);
    assert.equal(stats.serverRequests.heldIntervals, 0);

    // many pids, many open requests: the open-request cap holds
    const many: StreamEvent[][] = [];
    for (let pid = 1; pid <= 300; pid++) many.push(inbound(pid, 10_000 + pid, { atMs: pid, endMs: 10_000 + pid }));
    const r = runAll(many, { serverRequestLimits: { maxOpen: 100 } });
    assert.equal(r.servers.length, 300);
    assert.equal(r.stats.serverRequests.untrackedRequests, 200);
    assert.equal(r.servers.filter((s) => s.partial_reasons.includes('outbound_not_tracked')).length, 200);
    assert.equal(r.stats.serverRequests.open, 0);

    // a request whose end never comes (dropped connection) is forgotten at a cap once stale
    const leak: StreamEvent[][] = [inbound(1, APP, { atMs: 0, endMs: 0 }).slice(0, 2)];
    for (let i = 1; i <= 3; i++) leak.push(inbound(10 + i, APP, { atMs: 1000 * i, endMs: 1000 * i + 5 }));
    const l = runAll(leak, { serverRequestLimits: { maxOpenPerPid: 1, staleAfterNs: 500e6 } });
    assert.equal(l.stats.serverRequests.staleForgotten, 1);
    assert.equal(l.stats.serverRequests.untrackedRequests, 0);
  });

  test('an unfinished response: partial, no duration, no share', () => {
    const evs = inbound(1, APP, { atMs: 0, endMs: 100 }).slice(0, 2);
    evs.push({ kind: 'close', connId: 1, tsNs: ms(300), reason: 'reset_received' });
    const { servers } = runAll([evs, outbound('qdrant_search', 2, APP, 10)]);
    const s = servers[0]!;
    assertValid(s);
    assert.equal(s.partial, true);
    assert.ok(s.partial_reasons.includes('connection_closed'));
    assert.equal(s.duration_s, null);
    assert.equal(s.retrieval_share, null);
    assert.equal(s['http.response.status_code'], null);
    assert.equal(s.outbound.retrieval.count, 1);
  });

  test('5xx responses carry error.type server_error', () => {
    const { servers } = runAll([inbound(1, APP, { atMs: 0, endMs: 10, status: 503 })]);
    assert.equal(servers[0]!['error.type'], 'server_error');
    assertValid(servers[0]!);
  });

  test('serverRequests: false keeps the old behaviour', () => {
    const { servers, stats } = runAll([inbound(1, APP, { atMs: 0, endMs: 10 }), outbound('qdrant_search', 2, APP, 2)], { serverRequests: false });
    assert.equal(servers.length, 0);
    assert.equal(stats.calls.ignoredRequests, 1);
  });

  test('garbage on server connections never throws', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const streams: StreamEvent[][] = [];
    for (let c = 1; c <= 30; c++) {
      const base = inbound(c, APP + (c % 3), { atMs: c * 3, endMs: c * 3 + 50, traceparent: c % 2 ? 'garbage-traceparent' : undefined });
      const mutated = base.map((e) => {
        if (e.kind !== 'data') return e;
        const b = Buffer.from(e.bytes);
        for (let k = 0; k < 6; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        const cut = rnd() < 0.3 ? Math.floor(rnd() * b.length) : b.length;
        return { ...e, bytes: b.subarray(0, cut), missingAfter: cut < b.length ? b.length - cut : 0 };
      });
      streams.push(mutated);
      streams.push(outbound('openai_embeddings', 1000 + c, APP + (c % 3), c * 3 + 1));
    }
    const { records, stats } = runAll(streams);
    assert.equal(stats.calls.internalErrors, 0, stats.calls.lastInternalError ?? '');
    for (const r of records) assertValid(r);
    assert.equal(stats.serverRequests.open, 0);
  });
});

test('server_request records feed a request_latency SLO (route selector) in the SLO engine', async () => {
  const { SloEngine } = await import('../../src/slo/engine.ts');
  const { specFromYaml } = await import('../slo/helpers/scenario.ts');
  const engine = new SloEngine(
    specFromYaml(`apiVersion: llmslo/v1
service: rag
slos:
  - name: ask-latency
    sli: {type: request_latency, threshold: 500ms}
    selector: {route: /ask}
    objective: 99
`),
  );
  const { servers } = ragScenario(); // /ask takes 600 ms: bad; /healthz is not selected
  assert.equal(servers.length, 2);
  const now = Date.parse(servers[0]!.time) + 1000;
  for (const s of servers) engine.observe(s, now);
  const [st] = engine.evaluate(now);
  assert.ok(st);
  assert.equal(st.slo, 'ask-latency');
  assert.equal(st.period_good, 0, JSON.stringify(st));
  assert.equal(st.period_bad, 1, JSON.stringify(st));

  test('response bodies of inbound requests are framed, not decoded (gzip, unknown encodings)', () => {
    const conn = { connId: 70, pid: APP, tid: APP, cgroupId: 9, local: { address: '127.0.0.1', port: 8080 }, remote: { address: '127.0.0.1', port: 40070 }, tls: false, serverName: null };
    const body = Buffer.from('not really compressed, and never looked at');
    const evs: StreamEvent[] = [{ kind: 'open', tsNs: ms(0), conn }];
    let t = 1;
    for (const enc of ['gzip', 'x-proprietary']) {
      evs.push({ kind: 'data', connId: 70, direction: 'ingress', tsNs: ms(t++), bytes: Buffer.from('GET /report HTTP/1.1\r\nhost: rag.local\r\n\r\n'), missingAfter: 0, tls: false });
      evs.push({ kind: 'data', connId: 70, direction: 'egress', tsNs: ms(t++), bytes: Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-encoding: ${enc}\r\ncontent-length: ${body.length}\r\n\r\n`), body]), missingAfter: 0, tls: false });
    }
    const { servers, stats } = runAll([evs]);
    assert.equal(servers.length, 2);
    for (const s of servers) {
      assert.equal(s['http.response.status_code'], 200);
      assert.equal(s.partial, false, s.partial_reasons.join());
    }
    assert.equal(stats.http.undecodableBodies, 0, 'nothing was decoded, so nothing failed to decode');
  });
});
