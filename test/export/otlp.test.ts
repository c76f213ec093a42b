// OTLP/HTTP protobuf export, checked by decoding what a real receiver gets: spans (name, kind,
// parent = captured span id, trace id, kernel-derived times), metrics (semconv names, units,
// advisory bounds, counts equal to the Prometheus view) and logs (records and alerts, no text).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createOutputs, type Outputs } from '../../src/export/outputs.ts';
import { DURATION_BUCKETS, TOKEN_BUCKETS } from '../../src/export/semconv.ts';
import { checkOtlpEndpoint, otlpOptionsFromEnv } from '../../src/export/otlp.ts';
import type { CallRecord, LlmCallRecord, RetrievalCallRecord, ServerRequestRecord } from '../../src/llm/records.ts';
import type { SloAlertEvent } from '../../src/slo/alert_event.ts';
import { parseExposition, replayFixture, sumOf } from './helpers.ts';
import { startReceiver, type Receiver } from './otlp_receiver.ts';
import { fixtureEvents, loadFixtures, run } from '../llm/wire.ts';

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;

const replay = replayFixture({ keepExcerpts: true });
const llm = replay.records.filter((r): r is LlmCallRecord => r.schema === 'llmslo.llm_call/v1');
const client = llm.filter((r) => r.observed_side === 'client');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
// the first streamed call as if its client had sent `traceparent: 00-TRACE-PARENT-01`
const traced: LlmCallRecord = { ...client.find((r) => r.stream)!, trace_id: TRACE, span_id: PARENT };
const retrieval = loadFixtures()
  .flatMap((fx) => run(fixtureEvents(fx)).records)
  .filter((r): r is RetrievalCallRecord => r.schema === 'llmslo.retrieval_call/v1');
// an inbound POST /ask that continued the caller's trace, and a call made while serving it
// without a traceparent of its own: its CLIENT span must hang under the SERVER span
const SERVER_SPAN = 'c0ffee00c0ffee00';
const CALLER = 'b7ad6b7169203331';
const linked: LlmCallRecord = { ...client.find((r) => !r.stream && r !== traced)!, trace_id: null, span_id: null, enclosing_request: { trace_id: TRACE, span_id: SERVER_SPAN } };
const serverRequest: ServerRequestRecord = {
  schema: 'llmslo.server_request/v1', time: new Date(Date.parse(linked.time) - 5).toISOString(), 'http.request.method': 'POST', 'url.path': '/ask', 'http.route': '/ask',
  'http.response.status_code': 200, 'error.type': null, 'server.address': 'rag.local', 'server.port': 8080, 'client.address': '127.0.0.1', 'client.port': 40000,
  duration_s: 2, outbound: { llm: { count: 1, sum_s: 1, union_s: 1 }, retrieval: { count: 0, sum_s: 0, union_s: 0, embeddings: 0, vector_search: 0 }, ambiguous: 0, dropped: 0 },
  retrieval_share: 0, trace_id: TRACE, span_id: CALLER, server_span: { trace_id: TRACE, span_id: SERVER_SPAN }, capture: 'plain', process: { pid: 1, comm: 'rag' },
  cgroup_id: 0, conn_id: 9, observed_side: 'server', partial: false, partial_reasons: [],
  timestamps_ns: { request_start: 1e9, request_end: 1e9, response_start: 2.9e9, response_end: 3e9 },
};
const failed = loadFixtures()
  .flatMap((fx) => run(fixtureEvents(fx)).records)
  .filter((r): r is LlmCallRecord => r.schema === 'llmslo.llm_call/v1' && r['error.type'] === 'rate_limited');

describe('OTLP/HTTP export to a receiver', () => {
  let rx: Receiver;
  let out: Outputs;
  const inputs: CallRecord[] = [];
  before(async () => {
    rx = await startReceiver();
    out = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, metricIntervalMs: 60_000, queue: { delayMs: 50 } } });
    for (const r of [...replay.records.filter((r) => r !== client.find((c) => c.stream) && r !== linked), traced, linked, ...retrieval.slice(0, 3), ...failed.slice(0, 1), serverRequest]) {
      inputs.push(r);
      out.onRecord(r);
    }
    out.onSloAlert({
      schema: 'llmslo.slo_alert/v1', time: '2026-12-04T17:00:00.000Z', slo: 'chat-ttft', service: 'chat', sli: 'ttft', severity: 'page', state: 'firing',
      since: null, objective: 0.99, period: '28d', error_budget_remaining: 0.5, windows: [{ long: '1h', short: '5m', factor: 14.4, long_burn_rate: 20, short_burn_rate: 20, long_events: 10, short_events: 2, active: true }], labels: {},
    } satisfies SloAlertEvent);
    await out.flush();
  });
  after(async () => {
    await out.shutdown();
    await rx.close();
  });

  test('protobuf over HTTP', () => {
    assert.deepEqual([...rx.contentTypes], ['application/x-protobuf']);
    assert.ok(rx.requests.traces >= 1 && rx.requests.metrics >= 1 && rx.requests.logs >= 1, JSON.stringify(rx.requests));
  });

  test('one CLIENT span per client-side call, none for the server side', () => {
    const clientSpans = rx.spans.filter((s) => s.kind === SPAN_KIND_CLIENT);
    const expected = inputs.filter((r) => r.observed_side === 'client').length;
    assert.equal(clientSpans.length, expected);
    assert.equal(rx.spans.filter((s) => s.kind === SPAN_KIND_SERVER).length, 1, 'only the server_request record');
    for (const s of clientSpans) {
      assert.equal(s.scope, 'llmslo');
      assert.equal(s.resource['service.name'], 'llmslo');
      assert.equal(s.resource['telemetry.sdk.language'], 'nodejs');
      assert.match(s.traceId, /^[0-9a-f]{32}$/);
      assert.ok(s.endNs >= s.startNs);
    }
  });

  test('span name, semconv attributes and kernel-derived times', () => {
    const s = rx.spans.find((x) => x.traceId === TRACE && x.kind === SPAN_KIND_CLIENT && x.parentSpanId === PARENT);
    assert.ok(s, 'the traced call has a span in the captured trace');
    assert.equal(s.parentSpanId, PARENT, 'child of the captured span id');
    assert.equal(s.name, `chat ${traced['gen_ai.request.model']}`);
    assert.equal(s.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(s.attributes['gen_ai.provider.name'], traced['gen_ai.provider.name']);
    assert.equal(s.attributes['gen_ai.request.model'], traced['gen_ai.request.model']);
    assert.equal(s.attributes['gen_ai.response.model'], traced['gen_ai.response.model']);
    assert.equal(s.attributes['server.address'], '127.0.0.1');
    assert.equal(s.attributes['server.port'], traced['server.port']);
    assert.equal(s.attributes['gen_ai.usage.output_tokens'], traced['gen_ai.usage.output_tokens']);
    assert.deepEqual(s.attributes['gen_ai.response.finish_reasons'], traced['gen_ai.response.finish_reasons']);
    assert.equal(s.attributes['gen_ai.request.stream'], true);
    // duration from the kernel timestamps, to the microsecond
    const durNs = Number(s.endNs - s.startNs);
    const t = traced.timestamps_ns;
    assert.ok(Math.abs(durNs - (t.response_end! - t.request_start)) < 2000, `${durNs} vs ${t.response_end! - t.request_start}`);
    assert.ok(Math.abs(Number(s.startNs / 1_000_000n) - Date.parse(traced.time)) <= 1, 'start = record time');
    const firstToken = s.events.find((e) => e.name === 'llmslo.first_token');
    assert.ok(firstToken);
    assert.ok(Math.abs(Number(firstToken.timeNs - s.startNs) / 1e9 - (t.first_token! - t.request_start) / 1e9) < 1e-5);
    // metadata only
    for (const v of Object.values(s.attributes)) if (typeof v === 'string' && traced.excerpts?.prompt) assert.ok(!v.includes(traced.excerpts.prompt));
  });

  test('retrieval spans and error status', () => {
    const r = rx.spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'retrieval');
    assert.equal(r.length, Math.min(3, retrieval.length));
    for (const s of r) {
      assert.match(s.name, /^retrieval( \S+)?$/);
      assert.equal(s.kind, SPAN_KIND_CLIENT);
      assert.ok(s.attributes['db.system.name']);
    }
    assert.ok(failed.length >= 1);
    const e = rx.spans.find((s) => s.attributes['error.type'] === 'rate_limited');
    assert.ok(e);
    assert.equal(e.status.code, STATUS_ERROR);
    assert.equal(e.attributes['http.response.status_code'], 429);
  });

  test('a server_request becomes a SERVER span with its preset ids; linked calls without a traceparent are its children', () => {
    const s = rx.spans.find((x) => x.kind === SPAN_KIND_SERVER)!;
    assert.equal(s.name, 'POST /ask');
    assert.equal(s.traceId, TRACE);
    assert.equal(s.spanId, SERVER_SPAN);
    assert.equal(s.parentSpanId, CALLER, 'child of the inbound traceparent');
    assert.equal(s.attributes['http.route'], '/ask');
    assert.equal(s.attributes['http.response.status_code'], 200);
    assert.equal(s.attributes['llmslo.outbound.llm.count'], 1);
    assert.equal(Number(s.endNs - s.startNs), 2e9);
    const child = rx.spans.find((x) => x.kind === SPAN_KIND_CLIENT && x.parentSpanId === SERVER_SPAN);
    assert.ok(child, 'the linked call hangs under the SERVER span');
    assert.equal(child.traceId, TRACE);
    assert.equal(child.name, `chat ${linked['gen_ai.request.model']}`);
    // a span created after it gets random ids again
    assert.equal(rx.spans.filter((x) => x.spanId === SERVER_SPAN).length, 1);
  });

  test('metrics: semconv names, units, advisory bounds, same counts as /metrics', async () => {
    const last = rx.metricExports.at(-1)!;
    const byName = new Map(last.map((m) => [m.name, m]));
    const d = byName.get('gen_ai.client.operation.duration');
    assert.ok(d);
    assert.equal(d.unit, 's');
    assert.equal(d.type, 'histogram');
    assert.equal(d.temporality, 2, 'cumulative');
    for (const p of d.histogram) {
      assert.deepEqual(p.bounds, DURATION_BUCKETS);
      assert.equal(p.bucketCounts.length, DURATION_BUCKETS.length + 1);
      assert.equal(p.bucketCounts.reduce((a, b) => a + b, 0), p.count);
      assert.ok(p.attributes['gen_ai.operation.name'] && p.attributes['gen_ai.provider.name']);
    }
    const u = byName.get('gen_ai.client.token.usage')!;
    assert.equal(u.unit, '{token}');
    assert.deepEqual(u.histogram[0]!.bounds, TOKEN_BUCKETS);
    assert.ok(u.histogram.every((p) => p.attributes['gen_ai.token.type'] === 'input' || p.attributes['gen_ai.token.type'] === 'output'));
    assert.ok(byName.get('gen_ai.client.operation.time_to_first_chunk'));
    assert.ok(byName.get('gen_ai.client.operation.time_per_output_chunk'));
    const calls = byName.get('llmslo.llm.calls')!;
    assert.equal(calls.type, 'sum');
    assert.ok(calls.monotonic);
    const prom = parseExposition(await out.metricsText());
    const otlpCount = d.histogram.reduce((a, p) => a + p.count, 0);
    assert.equal(otlpCount, sumOf(prom, 'gen_ai_client_operation_duration_seconds_count'));
    assert.equal(otlpCount, inputs.filter((r) => r.schema === 'llmslo.llm_call/v1' && r.observed_side === 'client' && r.duration_s !== null).length);
  });

  test('logs: one per client-side record plus the alert, trace-correlated, no text', () => {
    const recLogs = rx.logs.filter((l) => l.eventName === 'llmslo.llm_call.v1' || l.eventName === 'llmslo.retrieval_call.v1');
    assert.equal(recLogs.length, inputs.filter((r) => r.observed_side === 'client').length);
    const tracedLog = recLogs.find((l) => l.traceId === TRACE);
    assert.ok(tracedLog, 'the traced call log carries its trace id');
    const span = rx.spans.find((s) => s.traceId === TRACE && s.kind === SPAN_KIND_CLIENT)!;
    assert.equal(tracedLog.spanId, span.spanId, 'and the span id of its span');
    assert.ok(Math.abs(Number(tracedLog.timeNs - span.endNs)) < 2000, 'timestamped at the end of the call');
    const body = tracedLog.body as Record<string, unknown>;
    assert.equal(body.schema, 'llmslo.llm_call/v1');
    assert.equal(body['gen_ai.usage.output_tokens'], traced['gen_ai.usage.output_tokens']);
    assert.equal(body.excerpts, undefined, 'excerpts not exported without opt-in');
    assert.ok(!JSON.stringify(rx.logs.map((l) => [l.body, l.attributes])).includes(traced.excerpts!.prompt!));
    const warn = recLogs.find((l) => (l.attributes['error.type'] as string) === 'rate_limited');
    assert.equal(warn?.severityText, 'WARN');
    const alert = rx.logs.find((l) => l.eventName === 'llmslo.slo_alert.v1');
    assert.ok(alert);
    assert.equal(alert.severityText, 'ERROR');
    assert.equal(alert.attributes['llmslo.slo'], 'chat-ttft');
  });

  test('exporter counters', () => {
    const s = out.stats().otlp!;
    assert.equal(s.traces.failed + s.traces.droppedQueueFull, 0);
    assert.equal(s.traces.exported, rx.spans.length);
    assert.equal(s.logs.exported, rx.logs.length);
    assert.ok(s.metrics.exports >= 1);
  });
});

test('bad OTLP endpoints get a one-line error', async () => {
  assert.match(checkOtlpEndpoint('localhost:4318') ?? '', /must be http:\/\/ or https:\/\/|not a URL/);
  assert.match(checkOtlpEndpoint('http://127.0.0.1:4318/v1/traces') ?? '', /base URL/);
  assert.equal(checkOtlpEndpoint('http://127.0.0.1:4318'), null);
  await assert.rejects(createOutputs({ prometheus: false, otlp: { endpoint: 'nope' } }), /OTLP endpoint is not a URL/);
});

test('OTLP options from the standard OTEL_* environment variables', () => {
  assert.equal(otlpOptionsFromEnv({}), null);
  const o = otlpOptionsFromEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20x,x-tenant=a',
    OTEL_RESOURCE_ATTRIBUTES: 'k8s.node.name=n1,deployment.environment=prod',
    OTEL_METRIC_EXPORT_INTERVAL: '5000',
    OTEL_EXPORTER_OTLP_TIMEOUT: 'x',
  });
  assert.deepEqual(o, {
    endpoint: 'http://127.0.0.1:4318',
    headers: { authorization: 'Bearer x', 'x-tenant': 'a' },
    resourceAttributes: { 'k8s.node.name': 'n1', 'deployment.environment': 'prod' },
    metricIntervalMs: 5000,
    timeoutMs: undefined,
  });
});

test('server-side records: no span by default, SERVER spans when asked', async () => {
  const rx = await startReceiver();
  const serverSide = llm.filter((r) => r.observed_side === 'server').slice(0, 4);
  assert.equal(serverSide.length, 4);
  const a = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, metrics: false, queue: { delayMs: 10 } } });
  for (const r of serverSide) a.onRecord(r);
  await a.shutdown();
  assert.equal(rx.spans.length, 0);
  assert.equal(rx.logs.length, 0);
  const b = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, metrics: false, logs: 'none', queue: { delayMs: 10 } }, spans: { serverSideSpans: true } });
  for (const r of serverSide) b.onRecord(r);
  await b.shutdown();
  assert.equal(rx.spans.length, 4);
  assert.ok(rx.spans.every((s) => s.kind === SPAN_KIND_SERVER));
  await rx.close();
});

test('excerpts reach spans and logs only with the explicit export opt-in', async () => {
  const rx = await startReceiver();
  const withText = client.find((r) => r.excerpts?.prompt)!;
  assert.ok(withText, 'the replay kept excerpts');
  const a = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, metrics: false, queue: { delayMs: 10 } } });
  a.onRecord(withText);
  await a.shutdown();
  const b = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, metrics: false, queue: { delayMs: 10 } }, privacy: { includeExcerpts: true } });
  b.onRecord(withText);
  await b.shutdown();
  assert.equal(rx.spans.length, 2);
  assert.equal(rx.spans[0]!.attributes['llmslo.excerpt.prompt'], undefined);
  assert.equal((rx.logs[0]!.body as Record<string, unknown>).excerpts, undefined);
  assert.equal(rx.spans[1]!.attributes['llmslo.excerpt.prompt'], withText.excerpts!.prompt);
  assert.deepEqual((rx.logs[1]!.body as Record<string, unknown>).excerpts, withText.excerpts);
  await rx.close();
});

test('without traces, a call log still carries the application trace it was made under', async () => {
  const rx = await startReceiver();
  const out = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, metrics: false, traces: false, queue: { delayMs: 10 } } });
  out.onRecord(traced);
  await out.shutdown();
  assert.equal(rx.logs.length, 1);
  assert.equal(rx.logs[0]!.traceId, TRACE);
  assert.equal(rx.logs[0]!.spanId, PARENT);
  assert.equal(rx.logs[0]!.attributes['llmslo.schema'], 'llmslo.llm_call/v1');
  await rx.close();
});

test('delta temporality: each export carries only what happened since the previous one', async () => {
  const rx = await startReceiver();
  const out = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, traces: false, logs: 'none', metricIntervalMs: 60_000, temporality: 'delta' } });
  const first = client.slice(0, 10);
  const second = client.slice(10, 14);
  for (const r of first) out.onRecord(r);
  await out.flush();
  for (const r of second) out.onRecord(r);
  await out.flush();
  await out.flush(); // nothing new
  await out.shutdown();
  const counts = rx.metricExports.map((ex) => {
    const d = ex.find((m) => m.name === 'gen_ai.client.operation.duration');
    return d ? d.histogram.reduce((a, p) => a + p.count, 0) : 0;
  });
  const withDur = (rs: LlmCallRecord[]): number => rs.filter((r) => r.duration_s !== null).length;
  assert.deepEqual(counts.slice(0, 3), [withDur(first), withDur(second), 0]);
  const d = rx.metricExports[0]!.find((m) => m.name === 'gen_ai.client.operation.duration')!;
  assert.equal(d.temporality, 1, 'DELTA');
  for (const p of d.histogram) assert.equal(p.bucketCounts.reduce((a, b) => a + b, 0), p.count);
  const calls = rx.metricExports[1]!.find((m) => m.name === 'llmslo.llm.calls')!;
  assert.equal(calls.numbers.reduce((a, p) => a + p.value, 0), second.length);
  await rx.close();
});

test('span times: kernel timestamps relative to the record time; a bad time still gives a sane span', async () => {
  const { spanTimes } = await import('../../src/export/spans.ts');
  const t = spanTimes(traced);
  const k = traced.timestamps_ns;
  assert.equal(t.startMs, Date.parse(traced.time));
  assert.ok(Math.abs(t.endMs - t.startMs - (k.response_end! - k.request_start) / 1e6) < 1e-3, "within 1 µs (float ms at epoch scale)");
  assert.deepEqual(t.events.map((e) => e.name), ['llmslo.request_end', 'llmslo.response_start', 'llmslo.first_chunk', 'llmslo.first_token']);
  const bad = spanTimes({ ...traced, time: 'not a time' });
  assert.ok(Number.isFinite(bad.startMs) && bad.endMs >= bad.startMs);
  // an explicit clock (the call pipeline's) takes precedence
  const clocked = spanTimes(traced, (ns) => ns / 1e6);
  assert.equal(clocked.startMs, k.request_start / 1e6);
});
