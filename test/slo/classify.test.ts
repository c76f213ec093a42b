import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { classifyForSlo } from '../../src/slo/classify.ts';
import { normalizeRecord, type NormalizedRecord } from '../../src/slo/record.ts';
import { BucketRing } from '../../src/slo/ring.ts';
import { specFromYaml } from './helpers/scenario.ts';

function norm(rec: Record<string, unknown>): NormalizedRecord {
  const r = normalizeRecord(rec);
  assert.ok(r.ok, JSON.stringify(r));
  return r.record;
}

const call = (extra: Record<string, unknown>) => norm({ schema: 'llmslo.llm_call/v1', time: '2026-12-04T10:00:00Z', 'error.type': null, ...extra });

const SPECS = specFromYaml(`apiVersion: llmslo/v1
service: s
slos:
  - {name: avail, sli: {type: availability}, objective: 99}
  - {name: avail-custom, sli: {type: availability, bad_error_types: [quota_exhausted]}, objective: 99}
  - {name: ttft, sli: {type: ttft, threshold: 2s}, selector: {provider: openai, model: [a, b]}, objective: 99}
  - {name: ttft-strict, sli: {type: ttft, threshold: 2, op: lt, include_errors: true}, objective: 99}
  - {name: tps, sli: {type: output_tokens_per_s, threshold: 20}, objective: 99}
  - {name: req, sli: {type: request_latency, threshold: 5}, selector: {route: /ask, namespace: prod}, objective: 99}
  - {name: req-avail, sli: {type: availability, source: server_request}, objective: 99}
  - {name: retr, sli: {type: retrieval_latency, threshold: 250ms}, selector: {db_system: qdrant}, objective: 99}
`);
const slo = (name: string) => SPECS.find((s) => s.name === name)!;

describe('SLI classification', () => {
  test('availability: provider- and network-side classes are bad, client-side ones are not, unknown ones are _OTHER (bad)', () => {
    for (const cls of ['server_error', 'overloaded', 'rate_limited', 'timeout', 'stream_error', 'stream_interrupted', 'connection_reset', 'connection_refused', 'dns_failure', 'tls_failure', '_OTHER', 'brand_new_failure']) {
      assert.equal(classifyForSlo(call({ 'error.type': cls }), slo('avail')), 'bad', cls);
    }
    for (const cls of ['bad_request', 'auth', 'model_not_found', 'context_length_exceeded', 'request_too_large', 'content_filter', 'quota_exhausted', 'client_cancelled']) {
      assert.equal(classifyForSlo(call({ 'error.type': cls }), slo('avail')), 'good', cls);
    }
    assert.equal(classifyForSlo(call({}), slo('avail')), 'good');
    assert.equal(classifyForSlo(call({ 'error.type': 'quota_exhausted' }), slo('avail-custom')), 'bad');
    assert.equal(classifyForSlo(call({ 'error.type': 'server_error' }), slo('avail-custom')), 'good');
  });

  test('TTFT threshold is exact at 2 s (no bucket edge needed)', () => {
    const s = slo('ttft');
    const at = (v: number) => classifyForSlo(call({ ttft_s: v, 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'a' }), s);
    assert.equal(at(1.9999999), 'good');
    assert.equal(at(2), 'good');
    assert.equal(at(2.0000001), 'bad');
    assert.equal(classifyForSlo(call({ ttft_s: 2, 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'a' }), slo('ttft-strict')), 'bad', 'op lt excludes the threshold');
  });

  test('threshold SLIs skip records without the value and, by default, errored calls', () => {
    const s = slo('ttft');
    const base = { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'b' };
    assert.equal(classifyForSlo(call({ ...base }), s), null, 'no ttft (non-streamed call)');
    assert.equal(classifyForSlo(call({ ...base, ttft_s: null }), s), null);
    assert.equal(classifyForSlo(call({ ...base, ttft_s: 0.5, 'error.type': 'stream_interrupted' }), s), null);
    assert.equal(classifyForSlo(call({ ttft_s: 0.5, 'error.type': 'timeout' }), slo('ttft-strict')), 'bad', 'include_errors: errors are bad');
    assert.equal(classifyForSlo(call({ output_tokens_per_s: 20 }), slo('tps')), 'good');
    assert.equal(classifyForSlo(call({ output_tokens_per_s: 19.9 }), slo('tps')), 'bad');
  });

  test('selectors: any-of values, all keys must match, missing labels do not match', () => {
    const s = slo('ttft');
    assert.equal(classifyForSlo(call({ ttft_s: 1, 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'b' }), s), 'good');
    assert.equal(classifyForSlo(call({ ttft_s: 1, 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'c' }), s), null);
    assert.equal(classifyForSlo(call({ ttft_s: 1, 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'a' }), s), null);
    assert.equal(classifyForSlo(call({ ttft_s: 1, 'gen_ai.request.model': 'a' }), s), null);
  });

  test('server requests: latency by route and namespace (flat or nested k8s keys), 5xx is bad for availability', () => {
    const req = (extra: Record<string, unknown>) => norm({ schema: 'llmslo.server_request/v1', time: '2026-12-04T10:00:00Z', 'http.route': '/ask', ...extra });
    assert.equal(classifyForSlo(req({ duration_s: 4.9, 'k8s.namespace.name': 'prod' }), slo('req')), 'good');
    assert.equal(classifyForSlo(req({ duration_s: 5.1, k8s: { namespace: { name: 'prod' } } }), slo('req')), 'bad');
    assert.equal(classifyForSlo(req({ duration_s: 1, 'k8s.namespace.name': 'dev' }), slo('req')), null);
    assert.equal(classifyForSlo(req({ duration_s: 1, 'http.response.status_code': 503 }), slo('req-avail')), 'bad');
    assert.equal(classifyForSlo(req({ duration_s: 1, 'http.response.status_code': 404 }), slo('req-avail')), 'good');
    assert.equal(classifyForSlo(req({ duration_s: 1, 'http.response.status_code': 200 }), slo('avail')), null, 'llm SLIs ignore server requests');
  });

  test('retrieval latency reads retrieval_call records', () => {
    const r = (d: number) => norm({ schema: 'llmslo.retrieval_call/v1', time: '2026-12-04T10:00:00Z', 'db.system': 'qdrant', 'db.collection.name': 'docs', duration_s: d, 'error.type': null });
    assert.equal(classifyForSlo(r(0.25), slo('retr')), 'good');
    assert.equal(classifyForSlo(r(0.251), slo('retr')), 'bad');
  });

  test('normalisation rejects non-objects, unknown schemas and bad times, and uses the end time', () => {
    assert.deepEqual(normalizeRecord(null), { ok: false, reason: 'not_an_object' });
    assert.deepEqual(normalizeRecord([1]), { ok: false, reason: 'not_an_object' });
    assert.deepEqual(normalizeRecord({ schema: 'llmslo.tcp/v1' }), { ok: false, reason: 'unknown_schema' });
    assert.deepEqual(normalizeRecord({ schema: 'llmslo.llm_call/v1', time: 'yesterday' }), { ok: false, reason: 'bad_time' });
    const r = normalizeRecord({ schema: 'llmslo.llm_call/v1', time: '2026-12-04T10:00:00Z', duration_s: 1.5, ttft_s: -1, tpot_s: Number.NaN });
    assert.ok(r.ok);
    assert.equal(r.record.endMs, Date.parse('2026-12-04T10:00:01.500Z'));
    assert.deepEqual(r.record.values, { duration_s: 1.5 }, 'negative and non-finite values are ignored');
  });
});

describe('BucketRing', () => {
  test('window sums equal a naive sum over the events, in any arrival order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 200_000 }), bad: fc.boolean() }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        (events, n) => {
          const ring = new BucketRing(1000, 50);
          for (const e of events) ring.add(e.t, e.bad ? 0 : 1, e.bad ? 1 : 0);
          // Whatever the order, every event within the ring's span of the newest one is kept:
          // a write is refused only when its slot holds a bucket at least one span newer.
          const maxT = events.reduce((m, e) => Math.max(m, e.t), 0);
          const end = (Math.floor(maxT / 1000) + 1) * 1000;
          const inWindow = events.filter((e) => e.t >= end - n * 1000 && e.t < end);
          assert.deepEqual(ring.sum(end, n), { good: inWindow.filter((e) => !e.bad).length, bad: inWindow.filter((e) => e.bad).length });
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a slot holding a newer bucket refuses older writes; stale slots are never read', () => {
    const ring = new BucketRing(1000, 3);
    assert.ok(ring.add(10_500, 1, 0));
    assert.equal(ring.add(7_500, 1, 0), false, 'bucket 7 shares the slot of bucket 10');
    assert.ok(ring.add(8_500, 0, 1));
    assert.deepEqual(ring.sum(11_000, 3), { good: 1, bad: 1 });
    assert.deepEqual(ring.sum(20_000, 3), { good: 0, bad: 0 }, 'long after: the stale slots are ignored');
  });
});
