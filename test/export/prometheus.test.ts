// The /metrics endpoint for records replayed from the real capture fixture: names, units,
// advisory buckets, labels and counts; client/server separation; capture health; label caps.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Counter, Registry } from 'prom-client';
import { createOutputs, type Outputs } from '../../src/export/outputs.ts';
import { DURATION_BUCKETS, LONG_LATENCY_BUCKETS, Metrics, TOKEN_BUCKETS, prometheusName } from '../../src/export/semconv.ts';
import { gapObservations } from '../../src/export/metrics.ts';
import { MetricStore } from '../../src/export/store.ts';
import type { LlmCallRecord } from '../../src/llm/records.ts';
import { requireBinary } from '../slo/helpers/promtool.ts';
import { parseExposition, replayFixture, sumOf, type Exposition } from './helpers.ts';
import { ragScenario } from '../llm/server_streams.ts';
import { connInfo, fixtureEvents, loadFixtures, run, T0 } from '../llm/wire.ts';

const replay = replayFixture();
const llm = replay.records.filter((r): r is LlmCallRecord => r.schema === 'llmslo.llm_call/v1');
const client = llm.filter((r) => r.observed_side === 'client');
const server = llm.filter((r) => r.observed_side === 'server');

describe('Prometheus endpoint, fixture replay', () => {
  let out: Outputs;
  let text: string;
  let e: Exposition;
  before(async () => {
    out = await createOutputs({ prometheus: { host: '127.0.0.1', port: 0 } });
    for (const r of replay.records) out.onRecord(r);
    out.onCaptureStats({
      kernel: { records: 12345, bytes: 999_000, kernelByName: { ringbuf_drops: 7, read_faults: 2, payload_truncated: 3, conn_map_full: 0, tls_unbound: 1, ssl_hits: 40 } },
      decoder: replay.decoder,
      pipeline: replay.pipeline,
    });
    assert.ok(out.prometheusUrl?.startsWith('http://127.0.0.1:'));
    const res = await fetch(out.prometheusUrl!);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    text = await res.text();
    e = parseExposition(text);
  });
  after(() => out.shutdown());

  test('the fixture has both sides of 30 calls', () => {
    assert.equal(client.length, 30);
    assert.equal(server.length, 30);
  });

  test('OTel -> Prometheus names and types', () => {
    assert.equal(prometheusName(Metrics.clientDuration), 'gen_ai_client_operation_duration_seconds');
    assert.equal(prometheusName(Metrics.clientTokenUsage), 'gen_ai_client_token_usage');
    assert.equal(prometheusName(Metrics.clientTtfc), 'gen_ai_client_operation_time_to_first_chunk_seconds');
    assert.equal(prometheusName(Metrics.clientTpoc), 'gen_ai_client_operation_time_per_output_chunk_seconds');
    assert.equal(prometheusName(Metrics.calls), 'llmslo_llm_calls_total');
    assert.equal(prometheusName(Metrics.outputRate), 'llmslo_llm_output_tokens_rate_per_second');
    assert.equal(prometheusName(Metrics.captureBytes), 'llmslo_capture_bytes_total');
    assert.equal(prometheusName(Metrics.bufferedBytes), 'llmslo_capture_buffered_bytes');
    for (const n of ['gen_ai_client_operation_duration_seconds', 'gen_ai_client_token_usage', 'gen_ai_client_operation_time_to_first_chunk_seconds', 'gen_ai_client_operation_time_per_output_chunk_seconds', 'llmslo_llm_time_to_first_token_seconds', 'llmslo_llm_time_per_output_token_seconds']) {
      assert.equal(e.types.get(n), 'histogram', n);
    }
    assert.equal(e.types.get('llmslo_llm_calls_total'), 'counter');
    assert.equal(e.types.get('llmslo_capture_lost_events_total'), 'counter');
    assert.equal(sumOf(e, 'llmslo_build_info', { llmslo_semconv_version: '1.41.0' }), 1);
    assert.ok(e.samples.some((s) => s.name === 'llmslo_agent_process_cpu_seconds_total'), 'agent process metrics');
    for (const s of e.samples) for (const k of Object.keys(s.labels)) assert.match(k, /^[a-zA-Z_][a-zA-Z0-9_]*$/);
  });

  test('advisory buckets, cumulative and ending in +Inf = count', () => {
    const check = (name: string, bounds: number[]): void => {
      const buckets = e.samples.filter((s) => s.name === `${name}_bucket`);
      assert.ok(buckets.length > 0, name);
      const bySeries = new Map<string, Array<{ le: string; v: number }>>();
      for (const b of buckets) {
        const { le, ...rest } = b.labels;
        const k = JSON.stringify(rest);
        bySeries.set(k, [...(bySeries.get(k) ?? []), { le: le!, v: b.value }]);
      }
      for (const [k, bs] of bySeries) {
        assert.deepEqual(bs.map((b) => (b.le === '+Inf' ? Infinity : Number(b.le))), [...bounds, Infinity], `${name} bounds`);
        for (let i = 1; i < bs.length; i++) assert.ok(bs[i]!.v >= bs[i - 1]!.v, `${name} cumulative`);
        const count = e.samples.find((s) => s.name === `${name}_count` && JSON.stringify(s.labels) === k);
        assert.equal(bs.at(-1)!.v, count?.value, `${name} +Inf bucket = _count`);
      }
    };
    check('gen_ai_client_operation_duration_seconds', DURATION_BUCKETS);
    check('gen_ai_client_operation_time_to_first_chunk_seconds', DURATION_BUCKETS);
    check('gen_ai_client_token_usage', TOKEN_BUCKETS);
    check('llmslo_llm_time_to_first_token_seconds', LONG_LATENCY_BUCKETS);
    assert.equal(LONG_LATENCY_BUCKETS.at(-1), 600);
  });

  test('counts and sums match the client-side records (server side not double counted)', () => {
    const withDuration = client.filter((r) => r.duration_s !== null);
    assert.equal(sumOf(e, 'gen_ai_client_operation_duration_seconds_count'), withDuration.length);
    const durSum = withDuration.reduce((a, r) => a + r.duration_s!, 0);
    assert.ok(Math.abs(sumOf(e, 'gen_ai_client_operation_duration_seconds_sum') - durSum) < 1e-6);
    assert.equal(sumOf(e, 'llmslo_llm_calls_total'), client.length);
    const streams = client.filter((r) => r.stream && r.ttfc_s !== null);
    assert.ok(streams.length >= 10);
    assert.equal(sumOf(e, 'gen_ai_client_operation_time_to_first_chunk_seconds_count'), streams.length);
    const inTok = client.reduce((a, r) => a + (r['gen_ai.usage.input_tokens'] ?? 0), 0);
    const outTok = client.reduce((a, r) => a + (r['gen_ai.usage.output_tokens'] ?? 0), 0);
    assert.equal(sumOf(e, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: 'input' }), inTok);
    assert.equal(sumOf(e, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: 'output' }), outTok);
    assert.equal(sumOf(e, 'llmslo_llm_tokens_total', { gen_ai_token_type: 'output' }), outTok);
    // one time_per_output_chunk observation per gap between content chunks
    const gaps = client.reduce((a, r) => a + (r.stream && r.inter_chunk_gap_s ? r.inter_chunk_gap_s.count : 0), 0);
    assert.equal(sumOf(e, 'gen_ai_client_operation_time_per_output_chunk_seconds_count'), gaps);
    // exact: every bucket and the sum equal the records' own gap counts (non-cumulative -> `le`)
    const withGaps = client.filter((r) => r.stream && r.inter_chunk_gap_s?.histogram);
    assert.equal(withGaps.length, client.filter((r) => r.stream && r.inter_chunk_gap_s).length, 'every record carries bucket counts');
    const bounds = withGaps[0]!.inter_chunk_gap_s!.histogram!.bounds;
    let cumulative = 0;
    bounds.forEach((b, i) => {
      cumulative += withGaps.reduce((a, r) => a + r.inter_chunk_gap_s!.histogram!.counts[i]!, 0);
      assert.equal(sumOf(e, 'gen_ai_client_operation_time_per_output_chunk_seconds_bucket', { le: String(b) }), cumulative, `le=${b}`);
    });
    const gapSum = withGaps.reduce((a, r) => a + r.inter_chunk_gap_s!.sum!, 0);
    assert.ok(Math.abs(sumOf(e, 'gen_ai_client_operation_time_per_output_chunk_seconds_sum') - gapSum) < 1e-9);
    assert.equal(sumOf(e, 'llmslo_llm_time_to_first_token_seconds_count'), client.filter((r) => r.ttft_s !== null).length);
    // the serving side of the same calls feeds gen_ai.server.* only
    assert.equal(sumOf(e, 'gen_ai_server_request_duration_seconds_count'), server.filter((r) => r.duration_s !== null).length);
  });

  test('spec labels on the duration histogram', () => {
    const s = e.samples.filter((x) => x.name === 'gen_ai_client_operation_duration_seconds_count');
    const providers = new Set(s.map((x) => x.labels.gen_ai_provider_name));
    assert.ok(providers.has('anthropic') && providers.has('openai_compatible'), [...providers].join());
    for (const x of s) {
      assert.ok(x.labels.gen_ai_operation_name === 'chat' || x.labels.gen_ai_operation_name === 'embeddings');
      assert.ok(x.labels.gen_ai_request_model, 'request model');
      assert.equal(x.labels.server_address, '127.0.0.1');
      assert.match(x.labels.server_port ?? '', /^\d+$/);
      assert.equal(x.labels.error_type, undefined, 'no error.type on successful calls');
    }
  });

  test('capture health', () => {
    assert.equal(sumOf(e, 'llmslo_capture_events_total'), 12345);
    assert.equal(sumOf(e, 'llmslo_capture_bytes_total'), 999_000);
    assert.equal(sumOf(e, 'llmslo_capture_lost_events_total', { llmslo_reason: 'ringbuf_drops' }), 7);
    assert.equal(sumOf(e, 'llmslo_capture_lost_events_total', { llmslo_reason: 'read_faults' }), 2);
    assert.equal(sumOf(e, 'llmslo_capture_payload_truncated_total'), 3);
    assert.equal(sumOf(e, 'llmslo_capture_kernel_total', { llmslo_counter: 'ssl_hits' }), 40);
    assert.ok(e.samples.some((s) => s.name === 'llmslo_capture_parse_errors_total' && s.labels.llmslo_stage === 'http'));
  });

  test('no prompt or completion text on the endpoint', () => {
    for (const r of replayFixture({ keepExcerpts: true }).records) {
      if (r.schema !== 'llmslo.llm_call/v1' || !r.excerpts?.prompt) continue;
      assert.ok(!text.includes(r.excerpts.prompt.slice(0, 20)));
    }
  });

  test('promtool check metrics accepts the exposition', (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    // parses, and no lint findings on our metrics (names, units, _total, HELP). prom-client's own
    // process metrics name three gauges *_total; those findings are theirs.
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const findings = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() && !/^llmslo_agent_nodejs_active_\w+_total non-counter/.test(l));
    assert.deepEqual(findings, []);
    assert.ok(r.status === 0 || r.status === 3, `promtool exit ${r.status}`);
  });
});

describe('Prometheus endpoint behaviour', () => {
  test('shares a caller registry (SLO metrics) and serves 404 elsewhere', async () => {
    const registry = new Registry();
    new Counter({ name: 'llmslo_slo_events_total', help: 'x', labelNames: ['slo', 'result'], registers: [registry] }).inc({ slo: 'a', result: 'good' }, 3);
    const out = await createOutputs({ prometheus: { port: 0, registry } });
    try {
      const e = parseExposition(await (await fetch(out.prometheusUrl!)).text());
      assert.equal(sumOf(e, 'llmslo_slo_events_total'), 3);
      assert.equal(e.types.get('gen_ai_client_operation_duration_seconds'), 'histogram');
      const other = await fetch(out.prometheusUrl!.replace('/metrics', '/nope'));
      assert.equal(other.status, 404);
      await other.text();
    } finally {
      await out.shutdown();
    }
  });

  test('port in use: one-line error', async () => {
    const a = await createOutputs({ prometheus: { port: 0 } });
    const port = Number(new URL(a.prometheusUrl!).port);
    await assert.rejects(createOutputs({ prometheus: { port } }), /prometheus endpoint 127\.0\.0\.1:\d+: address already in use/);
    await a.shutdown();
  });

  test('label cardinality is capped: new models fold into _OTHER on every metric alike, counted', async () => {
    const out = await createOutputs({ prometheus: false, maxLabelSets: 50 });
    const base = client.find((r) => r.stream)!;
    for (let i = 0; i < 1000; i++) out.onRecord({ ...base, 'gen_ai.request.model': `model-${i}`, 'gen_ai.response.model': `model-${i}` });
    const e = parseExposition(await out.metricsText());
    for (const name of ['gen_ai_client_operation_duration_seconds_count', 'llmslo_llm_calls_total', 'llmslo_llm_time_to_first_token_seconds_count']) {
      const series = e.samples.filter((s) => s.name === name);
      assert.equal(series.length, 51, `${name}: 50 admitted + _OTHER`);
      const other = series.find((s) => s.labels.gen_ai_request_model === '_OTHER');
      assert.equal(other?.value, 950, `${name}: the rest in _OTHER`);
      assert.equal(other?.labels.server_address, '_OTHER');
      assert.equal(other?.labels.gen_ai_provider_name, base['gen_ai.provider.name'], 'bounded labels kept');
    }
    assert.equal(sumOf(e, 'gen_ai_client_operation_duration_seconds_count'), 1000, 'no observation lost');
    assert.equal(sumOf(e, 'llmslo_export_series_overflow_total', { llmslo_metric: '_label_sets' }), 950);
    await out.shutdown();
  });

  test('per-metric series backstop: folds, then drops, both counted', () => {
    const store = new MetricStore({ maxSeries: 20, maxLabelSets: 1e9 });
    const fam = store.family(Metrics.errors);
    for (let i = 0; i < 100; i++) {
      fam.add({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': `p${i % 40}`, 'gen_ai.request.model': `m${i}`, 'error.type': 'timeout' }, 1);
    }
    assert.ok(fam.series.size <= 20 + 16);
    assert.equal(fam.overflowed, 80);
    const total = [...fam.series.values()].reduce((a, s) => a + s.value, 0);
    assert.equal(total + fam.dropped, 100);
    assert.ok([...fam.series.values()].some((s) => s.attributes['gen_ai.request.model'] === '_OTHER'));
  });
});

test('per-chunk gap reconstruction keeps the count and never under-reports', () => {
  const obs = gapObservations({ p50: 0.02, p95: 0.05, max: 0.4, count: 63 });
  assert.equal(obs.reduce((a, [, w]) => a + w, 0), 63);
  assert.deepEqual(obs, [[0.02, 32], [0.05, 28], [0.4, 3]]);
  assert.deepEqual(gapObservations({ p50: 0.1, p95: 0.1, max: 0.1, count: 1 }), [[0.1, 1]]);
  assert.deepEqual(gapObservations({ p50: 0, p95: 0, max: 0, count: 0 }), []);
});

test('server_request records: request duration and retrieval share per route', async () => {
  const { servers, calls, stats } = ragScenario();
  const out = await createOutputs({ prometheus: false });
  for (const r of [...calls, ...servers]) out.onRecord(Object.assign(r, { 'k8s.namespace.name': 'rag', 'k8s.workload.name': 'rag-app' }));
  out.onCaptureStats({ pipeline: stats });
  const e = parseExposition(await out.metricsText());
  assert.equal(sumOf(e, 'llmslo_server_request_linking_total', { llmslo_reason: 'linked_calls' }), 3);
  assert.equal(sumOf(e, 'llmslo_server_request_linking_total', { llmslo_reason: 'ambiguous_calls' }), 0);
  const labels = { http_request_method: 'POST', http_route: '/ask', http_response_status_code: '200', k8s_namespace_name: 'rag', k8s_workload_name: 'rag-app' };
  assert.equal(sumOf(e, 'llmslo_server_request_duration_seconds_count', labels), 1);
  assert.equal(sumOf(e, 'llmslo_server_request_duration_seconds_count', { http_route: '/healthz' }), 1);
  assert.ok(Math.abs(sumOf(e, 'llmslo_server_request_duration_seconds_sum', labels) - 0.6) < 1e-6);
  // only the request that made calls has a share: 92 ms of retrieval in 600 ms
  assert.equal(sumOf(e, 'llmslo_retrieval_share_ratio_count'), 1);
  assert.ok(Math.abs(sumOf(e, 'llmslo_retrieval_share_ratio_sum', { http_route: '/ask' }) - 0.092 / 0.6) < 1e-6);
  assert.equal(sumOf(e, 'llmslo_retrieval_share_ratio_bucket', { le: '0.1' }), 0);
  assert.equal(sumOf(e, 'llmslo_retrieval_share_ratio_bucket', { le: '0.2' }), 1);
  assert.equal(e.types.get('llmslo_retrieval_share_ratio'), 'histogram');
  await out.shutdown();
});

test('a malformed record is counted, never thrown', async () => {
  const out = await createOutputs({ prometheus: false });
  out.onRecord({ schema: 'llmslo.unknown/v9' } as unknown as LlmCallRecord);
  out.onRecord({ ...client[0]!, timestamps_ns: null } as unknown as LlmCallRecord);
  out.onRecord(null as unknown as LlmCallRecord);
  out.onCaptureStats({ pipeline: {} } as never);
  const e = parseExposition(await out.metricsText());
  assert.equal(sumOf(e, 'llmslo_export_records_skipped_total', { llmslo_reason: 'export_error' }), 1);
  assert.equal(sumOf(e, 'llmslo_export_records_skipped_total', { llmslo_reason: 'bad_capture_stats' }), 1);
  assert.equal(sumOf(e, 'llmslo_export_records_skipped_total', { llmslo_reason: 'unknown_schema' }), 1);
  await out.shutdown();
});

test('BPF program run-time statistics, when the agent turns them on', async () => {
  const out = await createOutputs({ prometheus: false });
  out.onCaptureStats({ programs: { sys_exit_write: { runCount: 40, runTimeNs: 2_000_000 }, ssl_read_return: { runCount: 2, runTimeNs: 500 } } });
  const e = parseExposition(await out.metricsText());
  assert.equal(sumOf(e, 'llmslo_capture_bpf_runs_total', { llmslo_bpf_program: 'sys_exit_write' }), 40);
  assert.equal(sumOf(e, 'llmslo_capture_bpf_run_time_seconds_total', { llmslo_bpf_program: 'sys_exit_write' }), 0.002);
  assert.equal(sumOf(e, 'llmslo_capture_bpf_runs_total'), 42);
  await out.shutdown();
});

test('output token rate: streaming calls only', async () => {
  const out = await createOutputs({ prometheus: false });
  for (const r of client) out.onRecord(r);
  const e = parseExposition(await out.metricsText());
  const expected = client.filter((r) => r.stream && r.output_tokens_per_s !== null).length;
  assert.ok(expected > 0 && expected < client.filter((r) => r.output_tokens_per_s !== null).length);
  assert.equal(sumOf(e, 'llmslo_llm_output_tokens_rate_per_second_count'), expected);
  await out.shutdown();
});

test('promtool accepts everything at once: errors, retrieval, server side, folding, capture health', async (t) => {
  const promtool = requireBinary(t, 'promtool');
  if (!promtool) return;
  const { asServerSide, fixtureEvents, loadFixtures, run } = await import('../llm/wire.ts');
  const out = await createOutputs({ prometheus: false, maxLabelSets: 5 });
  for (const fx of loadFixtures()) for (const evs of [fixtureEvents(fx), asServerSide(fixtureEvents(fx))]) for (const r of run(evs).records) out.onRecord(r);
  for (const r of replay.records) out.onRecord(r);
  out.onCaptureStats({ kernel: { records: 1, bytes: 2, kernelByName: { ringbuf_drops: 0 } }, decoder: replay.decoder, pipeline: replay.pipeline });
  const text = await out.metricsText();
  const e = parseExposition(text);
  assert.ok(sumOf(e, 'llmslo_llm_errors_total') >= 10, 'provider errors counted');
  assert.ok(e.samples.some((s) => s.name === 'gen_ai_client_operation_duration_seconds_count' && s.labels.error_type === 'rate_limited'));
  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  await out.shutdown();
});

test('calls that never sent their request: records on the GenAI metrics, every attempt counted by outcome', async () => {
  const fx = loadFixtures().find((f) => f.name === 'openai_chat_stream_usage')!;
  const info = connInfo(fx, 1);
  const failed = (connId: number, reason: 'refused' | 'timeout', attemptNs: number, remote = info.remote) => ({
    kind: 'connect_failed' as const, tsNs: T0 + 2e12 + connId * 1e9, reason, attemptNs, conn: { ...info, connId, tls: false, serverName: null, remote },
  });
  const { records, stats } = run([
    ...fixtureEvents(fx, 1),
    failed(2, 'refused', 1e6),
    failed(3, 'timeout', 5e9),
    failed(4, 'timeout', 250e6), // happy eyeballs
    failed(5, 'refused', 1e6, { address: '10.0.0.10', port: 443 }), // never served a call
  ]);
  const out = await createOutputs({ prometheus: false });
  for (const r of records) out.onRecord(r);
  out.onCaptureStats({ pipeline: stats });
  const e = parseExposition(await out.metricsText());
  assert.equal(sumOf(e, 'gen_ai_client_operation_duration_seconds_count', { error_type: 'connection_refused' }), 1);
  assert.equal(sumOf(e, 'gen_ai_client_operation_duration_seconds_count', { error_type: 'timeout' }), 1);
  const outcome = (r: string) => sumOf(e, 'llmslo_unsent_calls_total', { llmslo_reason: r });
  assert.deepEqual(['connect_recorded', 'connect_unknown_endpoint', 'connect_abandoned', 'dns_recorded', 'tls_recorded'].map(outcome), [2, 1, 1, 0, 0]);
  await out.shutdown();
});
