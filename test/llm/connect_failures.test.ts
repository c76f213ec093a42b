// Failed connects to LLM and vector-database endpoints become llm_call / retrieval_call records
// (the server down: refused, or never answering), judged by the endpoint having served such calls
// before; other failed connects are only counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectFailed, ConnectionInfo, StreamEvent } from '../../src/capture/stream.ts';
import { KnownEndpoints } from '../../src/llm/connect_failures.ts';
import type { LlmCallRecord, RetrievalCallRecord } from '../../src/llm/records.ts';
import { assertValid } from './validate.ts';
import { asServerSide, connInfo, fixtureEvents, loadFixtures, run, T0 } from './wire.ts';

const fixtures = loadFixtures();
const byName = (n: string) => fixtures.find((f) => f.name === n)!;
const ms = (x: number): number => T0 + x * 1e6;

function failedConnect(base: ConnectionInfo, connId: number, reason: 'refused' | 'timeout', at: number, patch: Partial<ConnectionInfo> = {}): ConnectFailed {
  return { kind: 'connect_failed', tsNs: at, conn: { ...base, connId, local: { address: '10.0.0.2', port: 52000 + connId }, tls: false, serverName: null, ...patch }, reason, attemptNs: reason === 'refused' ? 1_500_000 : 10e9 };
}

test('a failed connect to an endpoint that served LLM calls is a failed call of that endpoint and workload', () => {
  const fx = byName('openai_chat_stream_usage');
  const ok = fixtureEvents(fx, 1);
  const info = connInfo(fx, 1);
  const evs: StreamEvent[] = [
    ...ok,
    failedConnect(info, 2, 'refused', ms(2e6)),
    failedConnect(info, 3, 'timeout', ms(3e6)),
    // another workload (cgroup) that never called this endpoint: the call, without a model
    failedConnect(info, 4, 'refused', ms(4e6), { cgroupId: 78 }),
    // an endpoint that never served an LLM call: counted, no record
    failedConnect(info, 5, 'refused', ms(5e6), { remote: { address: '10.0.0.10', port: 443 } }),
    // an attempt abandoned after 250 ms (happy eyeballs: another address won): counted, no record
    { ...failedConnect(info, 6, 'timeout', ms(6e6)), attemptNs: 250e6 },
  ];
  const { records, stats } = run(evs);
  const calls = records as LlmCallRecord[];
  assert.equal(calls.length, 4);
  for (const r of calls) assertValid(r);
  const [first, refused, timedOut, otherWorkload] = calls;
  assert.equal(first!['error.type'], null);
  assert.equal(refused!['error.type'], 'connection_refused');
  assert.equal(refused!['error.source'], 'transport');
  assert.equal(refused!['error.provider_code'], 'refused');
  assert.equal(refused!['http.response.status_code'], null);
  assert.equal(refused!.conn_id, 2);
  assert.equal(refused!.observed_side, 'client');
  for (const k of ['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.request.model', 'server.address', 'server.port', 'url.path', 'http.request.method', 'stream', 'capture'] as const) {
    assert.deepEqual(refused![k], first![k], k);
  }
  assert.equal(refused!.duration_s, 0.0015, 'the connect attempt');
  assert.equal(refused!.timestamps_ns.request_start, ms(2e6) - 1_500_000);
  assert.equal(refused!.chunks, 0);
  assert.equal(refused!['gen_ai.usage.output_tokens'], null);
  assert.equal(timedOut!['error.type'], 'timeout');
  assert.equal(timedOut!['error.provider_code'], 'connect_timeout');
  assert.equal(timedOut!.duration_s, 10);
  assert.equal(otherWorkload!['gen_ai.request.model'], null, 'no model guessed from another workload');
  assert.equal(otherWorkload!['gen_ai.provider.name'], first!['gen_ai.provider.name']);
  assert.equal(stats.calls.connectFailuresRecorded, 3);
  assert.equal(stats.calls.connectFailuresOther, 1);
  assert.equal(stats.calls.connectAttemptsAbandoned, 1);
  assert.equal(stats.calls.errorsByType.connection_refused, 2);
  assert.equal(stats.calls.errorsByType.timeout, 1);
  assert.equal(stats.calls.llmCalls, 4);
});

test('only answered client-side calls teach an endpoint; the learned set is bounded, newest kept', () => {
  const fx = byName('openai_chat_stream_usage');
  const info = connInfo(fx, 1);
  // the server side of a call (this node serves it) teaches nothing: its remote is a client
  const served = run([...asServerSide(fixtureEvents(fx, 1)), failedConnect(info, 2, 'refused', ms(2e6), { remote: info.local })]);
  assert.equal(served.records.length, 1);
  assert.equal(served.stats.calls.connectFailuresOther, 1);

  const eps = new KnownEndpoints(2);
  const rec = run(fixtureEvents(fx, 1)).records[0] as LlmCallRecord;
  const at = (port: number): ConnectionInfo => ({ ...info, remote: { address: '10.0.0.9', port } });
  eps.learn(rec, at(1));
  eps.learn(rec, at(2));
  eps.learn(rec, at(1)); // refreshed: newest
  eps.learn(rec, at(3)); // evicts port 2
  assert.equal(eps.size, 2);
  assert.ok(eps.lookup({ address: '10.0.0.9', port: 1 }));
  assert.equal(eps.lookup({ address: '10.0.0.9', port: 2 }), undefined);
  assert.ok(eps.lookup({ address: '10.0.0.9', port: 3 }));
  eps.learn({ ...rec, 'http.response.status_code': null }, at(4));
  assert.equal(eps.lookup({ address: '10.0.0.9', port: 4 }), undefined, 'no answer, not an endpoint');
  assert.equal(eps.lookup(null), undefined);
});

test('a failed connect to a vector database that answered before is a failed retrieval call', () => {
  const fx = byName('qdrant_search');
  const info = connInfo(fx, 1);
  const { records, stats } = run([...fixtureEvents(fx, 1), failedConnect(info, 2, 'refused', ms(2e6))]);
  assert.equal(records.length, 2);
  for (const r of records) assertValid(r);
  const [ok, refused] = records as RetrievalCallRecord[];
  assert.equal(refused!.schema, 'llmslo.retrieval_call/v1');
  assert.equal(refused!['error.type'], 'connection_refused');
  assert.equal(refused!['http.response.status_code'], null);
  for (const k of ['db.system.name', 'db.operation.name', 'db.collection.name', 'server.address', 'server.port', 'url.path', 'capture'] as const) assert.deepEqual(refused![k], ok![k], k);
  assert.equal(refused!.result_count, null);
  assert.equal(refused!.duration_s, 0.0015);
  assert.equal(stats.calls.retrievalCalls, 2);
  assert.equal(stats.calls.errorsByType.connection_refused, 1);
});
