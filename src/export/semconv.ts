// The one place that maps llmslo record fields to OpenTelemetry semantic-convention names
// (GenAI semconv v1.41.0, DB semconv for retrieval) and to their Prometheus spellings.
// The GenAI conventions are still "Development" and moving to a separate repository: when a
// name changes, change it here and nowhere else.
import { CHUNK_GAP_BOUNDS_S } from '../llm/gaps.ts';
import type { LlmCallRecord, OutboundCallRecord, RetrievalCallRecord, ServerRequestRecord } from '../llm/records.ts';

export const SEMCONV_VERSION = '1.41.0';
export const SEMCONV_SCHEMA_URL = `https://opentelemetry.io/schemas/${SEMCONV_VERSION}`;

/** Attribute keys (OTel spelling). */
export const Attr = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  requestStream: 'gen_ai.request.stream',
  responseTtfc: 'gen_ai.response.time_to_first_chunk',
  tokenType: 'gen_ai.token.type',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
  dataSourceId: 'gen_ai.data_source.id',
  topK: 'gen_ai.request.top_k',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  httpStatus: 'http.response.status_code',
  httpMethod: 'http.request.method',
  urlPath: 'url.path',
  dbSystem: 'db.system.name',
  dbOperation: 'db.operation.name',
  dbCollection: 'db.collection.name',
  processPid: 'process.pid',
  processName: 'process.executable.name',
  // llmslo's own attributes, for what the conventions lack
  errorSource: 'llmslo.error.source',
  errorProviderCode: 'llmslo.error.provider_code',
  tokensSource: 'llmslo.tokens_source',
  partialReason: 'llmslo.partial_reason',
  captureKind: 'llmslo.capture',
  lossReason: 'llmslo.reason',
  parseStage: 'llmslo.stage',
  kernelCounter: 'llmslo.counter',
  bpfProgram: 'llmslo.bpf.program',
  metricName: 'llmslo.metric',
  signal: 'llmslo.signal',
  exportResult: 'llmslo.result',
  version: 'llmslo.version',
  semconvVersion: 'llmslo.semconv_version',
  httpRoute: 'http.route',
  clientAddress: 'client.address',
  k8sNamespace: 'k8s.namespace.name',
  k8sWorkload: 'k8s.workload.name',
  schema: 'llmslo.schema',
  slo: 'llmslo.slo',
  sloState: 'llmslo.slo.state',
  sloSeverity: 'llmslo.slo.severity',
  excerptPrompt: 'llmslo.excerpt.prompt',
  excerptCompletion: 'llmslo.excerpt.completion',
} as const;

/** Span event names for the kernel timestamps of a call. */
export const SpanEvents = {
  requestEnd: 'llmslo.request_end',
  responseStart: 'llmslo.response_start',
  firstChunk: 'llmslo.first_chunk',
  firstToken: 'llmslo.first_token',
} as const;

/** Metric attribute sets per the GenAI metric spec (same for every gen_ai.client.* metric). */
export const GENAI_METRIC_ATTRS = [
  Attr.operationName, Attr.providerName, Attr.requestModel, Attr.responseModel, Attr.serverAddress, Attr.serverPort, Attr.errorType,
] as const;
/** Attributes whose values are open-ended: collapsed to `_OTHER` when a metric reaches its series cap. */
export const HIGH_CARDINALITY_ATTRS: readonly string[] = [Attr.requestModel, Attr.responseModel, Attr.serverAddress, Attr.serverPort, Attr.dataSourceId, Attr.dbCollection, Attr.httpRoute, Attr.k8sWorkload];
export const OTHER_VALUE = '_OTHER';

// Advisory bucket boundaries from the spec.
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
export const SERVER_TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
export const SERVER_TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
/** DB semconv advisory buckets for db.client.operation.duration. */
export const DB_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
// llmslo's own buckets: reasoning models can think for minutes before the first token.
export const LONG_LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];
export const PER_TOKEN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
export const GAP_BUCKETS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];
export const RATE_BUCKETS = [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000];
export const RATIO_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];
/** Inbound requests: from health checks (ms) to streamed LLM answers (minutes). */
export const SERVER_REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

export type InstrumentKind = 'histogram' | 'counter' | 'gauge';

export interface MetricDef {
  /** OTel name (dots). */
  name: string;
  kind: InstrumentKind;
  /** UCUM unit as OTel writes it. */
  unit: string;
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
}

const m = (name: string, kind: InstrumentKind, unit: string, labels: readonly string[], help: string, buckets?: readonly number[]): MetricDef => ({ name, kind, unit, labels, help, buckets });

const LLM_ATTRS = GENAI_METRIC_ATTRS;
const LLM_OK_ATTRS = GENAI_METRIC_ATTRS.filter((a) => a !== Attr.errorType);
const RETRIEVAL_ATTRS = [Attr.dbSystem, Attr.dbOperation, Attr.dbCollection, Attr.serverAddress, Attr.serverPort, Attr.errorType] as const;
const SERVER_REQUEST_ATTRS = [Attr.httpMethod, Attr.httpRoute, Attr.httpStatus, Attr.k8sNamespace, Attr.k8sWorkload] as const;
const SHARE_ATTRS = [Attr.httpMethod, Attr.httpRoute, Attr.k8sNamespace, Attr.k8sWorkload] as const;

/** Every metric llmslo exports. Prometheus names are derived with `prometheusName`. */
export const Metrics = {
  // GenAI semconv v1.41.0, client side
  clientDuration: m('gen_ai.client.operation.duration', 'histogram', 's', LLM_ATTRS, 'GenAI operation duration (request start to last response byte).', DURATION_BUCKETS),
  clientTokenUsage: m('gen_ai.client.token.usage', 'histogram', '{token}', [...LLM_OK_ATTRS, Attr.tokenType], 'Input and output tokens used per GenAI operation.', TOKEN_BUCKETS),
  clientTtfc: m('gen_ai.client.operation.time_to_first_chunk', 'histogram', 's', LLM_OK_ATTRS, 'Time from the end of the request to the first response chunk of a streaming call.', DURATION_BUCKETS),
  clientTpoc: m('gen_ai.client.operation.time_per_output_chunk', 'histogram', 's', LLM_OK_ATTRS, 'Time between consecutive content chunks of a streaming call (one observation per chunk, exact: each call counts its gaps into these buckets).', [...CHUNK_GAP_BOUNDS_S]),
  // GenAI semconv, server side (records observed on the serving process)
  serverDuration: m('gen_ai.server.request.duration', 'histogram', 's', LLM_ATTRS, 'GenAI request duration as seen by the serving process on this node.', DURATION_BUCKETS),
  serverTtft: m('gen_ai.server.time_to_first_token', 'histogram', 's', LLM_OK_ATTRS, 'Time to first token as seen by the serving process on this node.', SERVER_TTFT_BUCKETS),
  serverTpot: m('gen_ai.server.time_per_output_token', 'histogram', 's', LLM_OK_ATTRS, 'Time per output token after the first, successful responses, as seen by the serving process.', SERVER_TPOT_BUCKETS),
  // DB semconv for retrieval calls
  dbDuration: m('db.client.operation.duration', 'histogram', 's', RETRIEVAL_ATTRS, 'Vector database operation duration.', DB_DURATION_BUCKETS),
  // llmslo project metrics
  ttft: m('llmslo.llm.time_to_first_token', 'histogram', 's', LLM_OK_ATTRS, 'Time from the end of the request to the first chunk carrying content (TTFT).', LONG_LATENCY_BUCKETS),
  tpot: m('llmslo.llm.time_per_output_token', 'histogram', 's', LLM_OK_ATTRS, 'Time per output token after the first: (end - first token) / (output tokens - 1).', PER_TOKEN_BUCKETS),
  gapMax: m('llmslo.llm.inter_chunk_gap.max', 'histogram', 's', LLM_OK_ATTRS, 'Longest gap between content chunks, one observation per streaming call (stalls).', GAP_BUCKETS),
  outputRate: m('llmslo.llm.output_tokens_rate', 'histogram', '{token}/s', LLM_OK_ATTRS, 'Output tokens per second after the first token, one observation per streaming call.', RATE_BUCKETS),
  calls: m('llmslo.llm.calls', 'counter', '{call}', LLM_ATTRS, 'LLM calls by outcome (error.type absent when ok).'),
  errors: m('llmslo.llm.errors', 'counter', '{error}', [Attr.operationName, Attr.providerName, Attr.requestModel, Attr.errorType, Attr.errorSource], 'LLM call errors by class and where the class was decided.'),
  tokens: m('llmslo.llm.tokens', 'counter', '{token}', [Attr.operationName, Attr.providerName, Attr.requestModel, Attr.tokenType, Attr.tokensSource], 'Tokens by type and by source (provider usage or tokenizer estimate).'),
  partialCalls: m('llmslo.llm.partial_calls', 'counter', '{call}', [Attr.operationName, Attr.providerName, Attr.partialReason], 'Calls whose capture was incomplete, by reason.'),
  retrievalDuration: m('llmslo.retrieval.duration', 'histogram', 's', [Attr.dbSystem, Attr.dataSourceId, Attr.serverAddress, Attr.errorType], 'Retrieval (vector search) duration.', LONG_LATENCY_BUCKETS),
  serverRequestDuration: m('llmslo.server_request.duration', 'histogram', 's', SERVER_REQUEST_ATTRS, 'Inbound HTTP request duration of applications on this node (request start to last response byte).', SERVER_REQUEST_BUCKETS),
  retrievalShare: m('llmslo.retrieval.share_ratio', 'histogram', '1', SHARE_ATTRS, 'Share of an inbound request spent in retrieval (embeddings + vector search, union of their intervals), for requests that made LLM or retrieval calls.', RATIO_BUCKETS),
  serverRequestLinking: m('llmslo.server_request.linking', 'counter', '{event}', [Attr.lossReason], 'How outbound calls were tied to inbound requests: linked_calls, ambiguous_calls (concurrent requests, no trace id), dropped_intervals (memory cap), untracked_requests (open-request cap), stale_requests_forgotten (open requests without an end, forgotten at a cap after 10 min), folded_routes (route cap).'),
  unsentCalls: m('llmslo.unsent_calls', 'counter', '{attempt}', [Attr.lossReason], 'Calls that never sent their request, by outcome: connect_recorded, connect_unknown_endpoint (the address never served a call), connect_abandoned (given up in under 1 s: happy eyeballs), dns_recorded, dns_failed_answers (all failing DNS answers seen), dns_unanswered (lookups of a known server by its caller that no response answered within 7 s of their last try), dns_unanswered_untracked (such lookups given up before they could tell: records lost, or over 1,024 pending), tls_recorded, tls_other (no failure, or not a known endpoint and workload), tls_unused (closed without data while the same process worked with that server over another TLS connection: unused, not failed).'),
  mirroredServers: m('llmslo.mirrored_server_ends', 'counter', '{event}', [Attr.lossReason], 'Server ends of calls whose client end is on this node too (records.mirrored_server_side): adopted (handed over: only sizes shipped after), derived (records made from the client end), derived_partial (some server time not found), unaligned (no server record: lost records or cut requests), skipped (mode skip), log_overflow (transfer times forgotten for a cap), evicted (mirrored connections forgotten for the memory budget), inconsistent (derived server times that broke causality against the client\'s: not reported); server ends that parsed an exchange themselves: parsed_framing (compressed, NDJSON, JSON arrays), parsed_incomplete (resynchronised, bytes lost), parsed_no_client_exchange (the client end\'s exchange not found, or past its response head untracked).'),
  // capture health (copied from the capture and pipeline counters)
  captureEvents: m('llmslo.capture.events', 'counter', '{event}', [], 'Kernel events received from the ring buffer.'),
  captureBytes: m('llmslo.capture.bytes', 'counter', 'By', [], 'Bytes of kernel events received.'),
  captureLost: m('llmslo.capture.lost_events', 'counter', '{event}', [Attr.lossReason], 'Events lost before parsing, by reason (ring buffer full, read faults, map full, unbound TLS, pipeline loss).'),
  captureTruncated: m('llmslo.capture.payload_truncated', 'counter', '{event}', [], 'Payloads cut at the capture size limit.'),
  parseErrors: m('llmslo.capture.parse_errors', 'counter', '{error}', [Attr.parseStage], 'Records or messages that could not be parsed, by stage.'),
  kernelCounters: m('llmslo.capture.kernel', 'counter', '{event}', [Attr.kernelCounter], 'Raw in-kernel counters, by name.'),
  bpfRuns: m('llmslo.capture.bpf.runs', 'counter', '{run}', [Attr.bpfProgram], 'Runs of each BPF program (only with capture.bpf_stats: the kernel counts when run-time statistics are on).'),
  bpfRunTime: m('llmslo.capture.bpf.run_time', 'counter', 's', [Attr.bpfProgram], 'Time spent in each BPF program, in the traced processes (only with capture.bpf_stats).'),
  openConnections: m('llmslo.capture.open_connections', 'gauge', '{connection}', [], 'Connections the parser currently follows.'),
  bufferedBytes: m('llmslo.capture.buffered', 'gauge', 'By', [], 'Bytes held in parser buffers.'),
  // the exporters' own health
  seriesOverflow: m('llmslo.export.series_overflow', 'counter', '{observation}', [Attr.metricName], 'Observations whose model/server labels were folded into _OTHER because the metric hit its series cap.'),
  seriesDropped: m('llmslo.export.series_dropped', 'counter', '{observation}', [Attr.metricName], 'Observations dropped because even the _OTHER series could not be added.'),
  exportItems: m('llmslo.export.items', 'counter', '{item}', [Attr.signal, Attr.exportResult], 'Items handed to an exporter, by signal and result (exported, failed, dropped_queue_full, dropped_shutdown).'),
  exportQueue: m('llmslo.export.queue', 'gauge', '{item}', [Attr.signal], 'Items waiting in an exporter queue.'),
  buildInfo: m('llmslo.build_info', 'gauge', '', [Attr.version, Attr.semconvVersion], 'Always 1: the agent version and the GenAI semantic-conventions version its names follow.'),
  recordsSkipped: m('llmslo.export.records_skipped', 'counter', '{record}', [Attr.lossReason], 'Records not turned into metrics or spans, by reason.'),
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof Metrics;

// OTel -> Prometheus naming (OTel spec "Prometheus and OpenMetrics compatibility").
const UNIT_WORDS: Record<string, string> = { s: 'seconds', ms: 'milliseconds', By: 'bytes', '1': 'ratio', '%': 'percent' };

/** Prometheus unit suffix for a UCUM unit: braces annotations drop, `x/y` becomes `x_per_y`. */
export function prometheusUnit(unit: string, kind: InstrumentKind): string {
  const [num = '', den] = unit.split('/');
  const word = (u: string): string => (u.startsWith('{') ? '' : UNIT_WORDS[u] ?? u.replace(/[^a-zA-Z0-9]/g, '_'));
  const n = word(num);
  // "1" (dimensionless) only becomes "ratio" on gauges, per the spec
  const nn = num === '1' && kind !== 'gauge' ? '' : n;
  if (den === undefined) return nn;
  const d = den === 's' ? 'second' : word(den);
  return d ? (nn ? `${nn}_per_${d}` : `per_${d}`) : nn;
}

export function prometheusName(def: Pick<MetricDef, 'name' | 'unit' | 'kind'>): string {
  let base = def.name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
  const unit = prometheusUnit(def.unit, def.kind);
  if (unit && !base.endsWith(`_${unit}`)) base += `_${unit}`;
  if (def.kind === 'counter' && !base.endsWith('_total')) base += '_total';
  return base;
}

export function prometheusLabel(attr: string): string {
  const l = attr.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(l) ? `_${l}` : l;
}

export type AttrValue = string | number | boolean;
export type Attributes = Record<string, AttrValue>;

const put = (a: Attributes, k: string, v: AttrValue | null | undefined): void => {
  if (v !== null && v !== undefined && v !== '') a[k] = v;
};

/** server.address, server.port (only with an address) and error.type of an outbound call. */
function putPeerAndError(a: Attributes, r: LlmCallRecord | RetrievalCallRecord): Attributes {
  put(a, Attr.serverAddress, r['server.address']);
  if (r['server.address']) put(a, Attr.serverPort, r['server.port']);
  put(a, Attr.errorType, r['error.type']);
  return a;
}

/** The metric attributes of an LLM call (spec set; nulls left out). */
export function llmMetricAttributes(r: LlmCallRecord): Attributes {
  const a: Attributes = {};
  put(a, Attr.operationName, r['gen_ai.operation.name']);
  put(a, Attr.providerName, r['gen_ai.provider.name']);
  put(a, Attr.requestModel, r['gen_ai.request.model']);
  put(a, Attr.responseModel, r['gen_ai.response.model']);
  return putPeerAndError(a, r);
}

export function retrievalMetricAttributes(r: RetrievalCallRecord): Attributes {
  const a: Attributes = {};
  put(a, Attr.dbSystem, r['db.system.name']);
  put(a, Attr.dbOperation, r['db.operation.name']);
  put(a, Attr.dbCollection, r['db.collection.name']);
  put(a, Attr.dataSourceId, r['gen_ai.data_source.id']);
  return putPeerAndError(a, r);
}

/** Metric attributes of an inbound request (k8s labels only when the agent's enrichment set them). */
export function serverRequestMetricAttributes(r: ServerRequestRecord, withStatus = true): Attributes {
  const a: Attributes = {};
  put(a, Attr.httpMethod, r['http.request.method']);
  put(a, Attr.httpRoute, r['http.route']);
  if (withStatus) put(a, Attr.httpStatus, r['http.response.status_code']);
  const e = r as unknown as Record<string, unknown>;
  const ns = e[Attr.k8sNamespace];
  const wl = e[Attr.k8sWorkload];
  if (typeof ns === 'string') put(a, Attr.k8sNamespace, ns);
  if (typeof wl === 'string') put(a, Attr.k8sWorkload, wl);
  return a;
}

/** SERVER span attributes of an inbound request: HTTP metadata and the outbound summary. */
export function serverRequestSpanAttributes(r: ServerRequestRecord): Attributes {
  const a = serverRequestMetricAttributes(r);
  put(a, Attr.urlPath, r['url.path']);
  put(a, Attr.serverAddress, r['server.address']);
  if (r['server.address']) put(a, Attr.serverPort, r['server.port']);
  put(a, Attr.clientAddress, r['client.address']);
  put(a, Attr.errorType, r['error.type']);
  put(a, Attr.processPid, r.process.pid);
  put(a, Attr.processName, r.process.comm);
  put(a, Attr.captureKind, r.capture);
  const o = r.outbound;
  a['llmslo.outbound.llm.count'] = o.llm.count;
  a['llmslo.outbound.llm.union_s'] = o.llm.union_s;
  a['llmslo.outbound.retrieval.count'] = o.retrieval.count;
  a['llmslo.outbound.retrieval.union_s'] = o.retrieval.union_s;
  if (o.ambiguous) a['llmslo.outbound.ambiguous'] = o.ambiguous;
  put(a, 'llmslo.retrieval_share', r.retrieval_share);
  if (r.partial) a['llmslo.partial'] = true;
  return a;
}

/** Span name: `{gen_ai.operation.name} {gen_ai.request.model}`, or `retrieval {gen_ai.data_source.id}`. */
export function spanName(r: OutboundCallRecord): string {
  if (r.schema === 'llmslo.retrieval_call/v1') {
    const source = r['gen_ai.data_source.id'] ?? r['db.collection.name'];
    return source ? `retrieval ${source}` : 'retrieval';
  }
  const model = r['gen_ai.request.model'] ?? r['gen_ai.response.model'];
  return model ? `${r['gen_ai.operation.name']} ${model}` : r['gen_ai.operation.name'];
}

/** Span attributes: metadata only, never prompt or completion text. */
export function spanAttributes(r: OutboundCallRecord): Attributes {
  const a: Attributes = {};
  if (r.schema === 'llmslo.retrieval_call/v1') {
    Object.assign(a, retrievalMetricAttributes(r));
    put(a, Attr.operationName, 'retrieval');
    put(a, Attr.topK, r['gen_ai.request.top_k']);
    put(a, 'llmslo.result_count', r.result_count);
  } else {
    Object.assign(a, llmMetricAttributes(r));
    put(a, Attr.responseId, r['gen_ai.response.id']);
    a[Attr.requestStream] = r.stream;
    put(a, Attr.responseTtfc, r.ttfc_s);
    put(a, Attr.inputTokens, r['gen_ai.usage.input_tokens']);
    put(a, Attr.outputTokens, r['gen_ai.usage.output_tokens']);
    put(a, Attr.cacheReadTokens, r['gen_ai.usage.cache_read.input_tokens']);
    put(a, Attr.cacheCreationTokens, r['gen_ai.usage.cache_creation.input_tokens']);
    put(a, Attr.reasoningTokens, r['gen_ai.usage.reasoning.output_tokens']);
    put(a, Attr.tokensSource, r.tokens_source);
    put(a, Attr.errorProviderCode, r['error.provider_code']);
    put(a, Attr.errorSource, r['error.source']);
    put(a, 'llmslo.ttft_s', r.ttft_s);
    put(a, 'llmslo.tpot_s', r.tpot_s);
    put(a, 'llmslo.output_tokens_per_s', r.output_tokens_per_s);
    put(a, 'llmslo.chunks', r.chunks);
    put(a, 'llmslo.content_chunks', r.content_chunks);
    put(a, 'llmslo.provider_request_id', r.provider_request_id);
    if (r.inter_chunk_gap_s) {
      put(a, 'llmslo.inter_chunk_gap.p50_s', r.inter_chunk_gap_s.p50);
      put(a, 'llmslo.inter_chunk_gap.p95_s', r.inter_chunk_gap_s.p95);
      put(a, 'llmslo.inter_chunk_gap.max_s', r.inter_chunk_gap_s.max);
    }
  }
  put(a, Attr.httpStatus, r['http.response.status_code']);
  put(a, Attr.httpMethod, r['http.request.method']);
  put(a, Attr.urlPath, r['url.path']);
  put(a, Attr.processPid, r.process.pid);
  put(a, Attr.processName, r.process.comm);
  put(a, Attr.captureKind, r.capture);
  if (r.partial) a['llmslo.partial'] = true;
  return a;
}

/** String-array span attributes (kept apart so Attributes stays scalar for metrics). */
export function spanArrayAttributes(r: OutboundCallRecord | ServerRequestRecord): Record<string, string[]> {
  const a: Record<string, string[]> = {};
  if (r.schema === 'llmslo.llm_call/v1' && r['gen_ai.response.finish_reasons'].length) a[Attr.finishReasons] = r['gen_ai.response.finish_reasons'];
  if (r.partial_reasons.length) a['llmslo.partial_reasons'] = r.partial_reasons;
  return a;
}
