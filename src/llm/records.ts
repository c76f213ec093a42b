// The records this layer emits. Field names follow DESIGN.md's contract (OTel GenAI semconv
// v1.41.0 names where one exists). JSON Schemas: schemas/llmslo.llm_call.v1.json and
// schemas/llmslo.retrieval_call.v1.json, schemas/llmslo.server_request.v1.json — keep them in step.

export const LLM_CALL_SCHEMA = 'llmslo.llm_call/v1';
export const RETRIEVAL_CALL_SCHEMA = 'llmslo.retrieval_call/v1';
export const SERVER_REQUEST_SCHEMA = 'llmslo.server_request/v1';

export type ErrorType =
  | 'rate_limited'
  | 'quota_exhausted'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'auth'
  | 'model_not_found'
  | 'context_length_exceeded'
  | 'request_too_large'
  | 'bad_request'
  | 'content_filter'
  | 'stream_error'
  | 'stream_interrupted'
  | 'client_cancelled'
  | 'connection_refused'
  | 'connection_reset'
  | 'dns_failure'
  | 'tls_failure'
  | '_OTHER';

export const ERROR_TYPES: readonly ErrorType[] = [
  'rate_limited', 'quota_exhausted', 'overloaded', 'server_error', 'timeout', 'auth', 'model_not_found',
  'context_length_exceeded', 'request_too_large', 'bad_request', 'content_filter', 'stream_error',
  'stream_interrupted', 'client_cancelled', 'connection_refused', 'connection_reset', 'dns_failure',
  'tls_failure', '_OTHER',
];

export type Operation = 'chat' | 'text_completion' | 'generate_content' | 'embeddings';

/** Kernel monotonic timestamps (ns) the derived times were computed from. */
/** Kernel monotonic ns of an HTTP exchange's milestones. */
export interface ExchangeTimestamps {
  request_start: number;
  request_end: number | null;
  response_start: number | null;
  response_end: number | null;
}

export interface CallTimestamps {
  request_start: number;
  request_end: number | null;
  response_start: number | null;
  first_chunk: number | null;
  first_token: number | null;
  response_end: number | null;
}

export interface GapStats {
  p50: number;
  p95: number;
  max: number;
  count: number;
  /** Exact smallest gap and sum of all gaps (s). */
  min?: number;
  sum?: number;
  /**
   * Exact per-bucket gap counts (not cumulative; the last one is above every bound), for the
   * GenAI semconv advisory bounds of gen_ai.client.operation.time_per_output_chunk.
   */
  histogram?: { bounds: number[]; counts: number[] };
}

export interface ProcessRef {
  pid: number;
  comm: string | null;
}

export interface RateLimitInfo {
  remaining_requests: number | null;
  remaining_tokens: number | null;
  retry_after_s: number | null;
}

export interface LlmCallRecord {
  schema: typeof LLM_CALL_SCHEMA;
  time: string;
  'gen_ai.operation.name': Operation;
  'gen_ai.provider.name': string;
  'gen_ai.request.model': string | null;
  'gen_ai.response.model': string | null;
  'gen_ai.response.id': string | null;
  'gen_ai.response.finish_reasons': string[];
  'server.address': string | null;
  'server.port': number | null;
  'http.request.method': string;
  'url.path': string;
  /** The SDK's retry ordinal for this request (x-stainless-retry-count), when sent. */
  'http.request.resend_count': number | null;
  stream: boolean;
  'http.response.status_code': number | null;
  'error.type': ErrorType | null;
  /** The provider's own error code/type, verbatim (bounded length). */
  'error.provider_code': string | null;
  /** Where the error was decided: HTTP status/body, an in-stream event, or the transport. */
  'error.source': 'http' | 'stream' | 'transport' | null;
  /** For `stream_error`: the class the embedded error code maps to (e.g. overloaded). */
  'error.stream_class': ErrorType | null;
  ttft_s: number | null;
  ttfc_s: number | null;
  duration_s: number | null;
  tpot_s: number | null;
  output_tokens_per_s: number | null;
  inter_chunk_gap_s: GapStats | null;
  /** Stream events/lines received (excluding pings and comments). */
  chunks: number;
  /** Of those, the ones carrying content (text, tool-call or reasoning deltas). */
  content_chunks: number;
  'gen_ai.usage.input_tokens': number | null;
  'gen_ai.usage.output_tokens': number | null;
  'gen_ai.usage.cache_read.input_tokens': number | null;
  'gen_ai.usage.cache_creation.input_tokens': number | null;
  'gen_ai.usage.reasoning.output_tokens': number | null;
  tokens_source: 'usage' | 'estimated' | null;
  /** Embedding vectors returned (embeddings only). */
  embeddings_count: number | null;
  rate_limit: RateLimitInfo;
  provider_request_id: string | null;
  trace_id: string | null;
  span_id: string | null;
  capture: 'tls' | 'plain';
  process: ProcessRef;
  cgroup_id: number;
  conn_id: number;
  /** Which side of the connection the observed process is on. */
  observed_side: 'client' | 'server';
  partial: boolean;
  partial_reasons: string[];
  timestamps_ns: CallTimestamps;
  /** Only with the opt-in `keepExcerpts`: redacted, truncated text. */
  excerpts?: { prompt: string | null; completion: string | null };
  /** Set when the call was made while serving an inbound request of the same process (see ServerRequestRecord). */
  enclosing_request?: EnclosingRequest;
}

export interface RetrievalCallRecord {
  schema: typeof RETRIEVAL_CALL_SCHEMA;
  time: string;
  'gen_ai.operation.name': 'retrieval';
  'db.system.name': string;
  'db.operation.name': string;
  'gen_ai.data_source.id': string | null;
  'db.collection.name': string | null;
  'gen_ai.request.top_k': number | null;
  'server.address': string | null;
  'server.port': number | null;
  'http.request.method': string;
  'url.path': string;
  'http.response.status_code': number | null;
  'error.type': ErrorType | null;
  duration_s: number | null;
  result_count: number | null;
  trace_id: string | null;
  span_id: string | null;
  capture: 'tls' | 'plain';
  process: ProcessRef;
  cgroup_id: number;
  conn_id: number;
  observed_side: 'client' | 'server';
  partial: boolean;
  partial_reasons: string[];
  timestamps_ns: ExchangeTimestamps;
  /** Set when the call was made while serving an inbound request of the same process (see ServerRequestRecord). */
  enclosing_request?: EnclosingRequest;
}

/** The SERVER span llmslo creates for an inbound request: its W3C trace id and span id. */
export interface EnclosingRequest {
  trace_id: string;
  span_id: string;
}

export interface OutboundPart {
  /** Calls linked to the request. */
  count: number;
  /** Their durations added up (parallel calls count each). */
  sum_s: number;
  /** Length of the union of their intervals (parallel calls count once). */
  union_s: number;
}

/** The LLM and retrieval calls the serving process made while serving one inbound request. */
export interface OutboundSummary {
  /** chat / text_completion / generate_content calls. */
  llm: OutboundPart;
  /** Embeddings calls and vector searches: the retrieval contribution. */
  retrieval: OutboundPart & { embeddings: number; vector_search: number };
  /** Calls in the request's window that could belong to a concurrent request too (no trace id): not counted above. */
  ambiguous: number;
  /** Linked calls whose interval was not kept (memory caps): in the counts and sums, not in the unions. */
  dropped: number;
}

/** An inbound HTTP request to an application on this node (the observed process is the server). */
export interface ServerRequestRecord {
  schema: typeof SERVER_REQUEST_SCHEMA;
  time: string;
  'http.request.method': string;
  'url.path': string;
  /** url.path with identifier-like segments templated as `{id}` (bounded cardinality). */
  'http.route': string;
  'http.response.status_code': number | null;
  /** `server_error` on HTTP status >= 500, else null. */
  'error.type': 'server_error' | null;
  'server.address': string | null;
  'server.port': number | null;
  'client.address': string | null;
  'client.port': number | null;
  /** request_start -> response_end; null when the response end was not seen. */
  duration_s: number | null;
  outbound: OutboundSummary;
  /** outbound.retrieval.union_s / duration_s (0..1); null when the duration is unknown or 0. */
  retrieval_share: number | null;
  /** From the inbound `traceparent`, when present: the caller's trace and span. */
  trace_id: string | null;
  span_id: string | null;
  /** The ids of the SERVER span llmslo exports for this request (trace_id = the inbound one when present). */
  server_span: EnclosingRequest;
  capture: 'tls' | 'plain';
  process: ProcessRef;
  cgroup_id: number;
  conn_id: number;
  observed_side: 'server';
  partial: boolean;
  partial_reasons: string[];
  timestamps_ns: ExchangeTimestamps;
}

/** The outbound calls the protocol layer reports. */
export type OutboundCallRecord = LlmCallRecord | RetrievalCallRecord;

export type CallRecord = LlmCallRecord | RetrievalCallRecord | ServerRequestRecord;
