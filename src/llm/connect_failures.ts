// Connection attempts to LLM and vector-database endpoints that never carried a request: the
// server refused the connection or never answered it. An availability SLO must count them — an
// endpoint that is down fails every call this way — yet no HTTP byte exists to say what the call
// was. Its destination does: an address and port that served such calls on this node before. The
// call pipeline learns those from the calls it sees and turns a failed connect to one of them into
// an llm_call or retrieval_call record with error.type `connection_refused` or `timeout`.
import type { ConnectFailed, ConnectionInfo, Endpoint } from '../capture/stream.ts';
import { rfc3339 } from './call.ts';
import type { BuilderEnv } from './env.ts';
import { LLM_CALL_SCHEMA, RETRIEVAL_CALL_SCHEMA } from './records.ts';
import type { CallRecord, LlmCallRecord, Operation, RetrievalCallRecord } from './records.ts';

/** What the last LLM calls through an address and port were. */
export interface KnownLlmEndpoint {
  kind: 'llm';
  provider: string;
  serverAddress: string | null;
  serverPort: number | null;
  operation: Operation;
  method: string;
  path: string;
  stream: boolean;
  tls: boolean;
  /** The model each workload (cgroup id) last asked this endpoint for, newest last. */
  models: Map<number, string>;
}

/** What the last vector-database call through an address and port was. */
export interface KnownRetrievalEndpoint {
  kind: 'retrieval';
  rec: RetrievalCallRecord;
}

export type KnownEndpoint = KnownLlmEndpoint | KnownRetrievalEndpoint;

const MAX_MODELS_PER_ENDPOINT = 64;

const key = (e: Endpoint): string => `${e.address}|${e.port}`;

/** Remote endpoints that answered LLM or vector-database calls, newest last, bounded. */
export class KnownEndpoints {
  private readonly byRemote = new Map<string, KnownEndpoint>();

  constructor(private readonly max = 1024) {}

  get size(): number {
    return this.byRemote.size;
  }

  /** A finished client-side call: its connection's remote end is an endpoint of its kind if it answered. */
  learn(rec: CallRecord, conn: ConnectionInfo): void {
    if (rec.schema === RETRIEVAL_CALL_SCHEMA) {
      if (rec.observed_side !== 'client' || rec['http.response.status_code'] === null || conn.remote === null) return;
      this.put(key(conn.remote), { kind: 'retrieval', rec });
    } else if (rec.schema === LLM_CALL_SCHEMA) this.learnLlm(rec, conn);
  }

  lookup(remote: Endpoint | null): KnownEndpoint | undefined {
    return remote === null ? undefined : this.byRemote.get(key(remote));
  }

  /** Inserts or refreshes `k` as the newest, evicting the oldest beyond the bound. */
  private put(k: string, e: KnownEndpoint): void {
    if (!this.byRemote.delete(k) && this.byRemote.size >= this.max) this.byRemote.delete(this.byRemote.keys().next().value as string);
    this.byRemote.set(k, e);
  }

  private learnLlm(rec: LlmCallRecord, conn: ConnectionInfo): void {
    if (rec.observed_side !== 'client' || rec['http.response.status_code'] === null || conn.remote === null) return;
    const k = key(conn.remote);
    const known = this.byRemote.get(k);
    const e: KnownLlmEndpoint =
      known?.kind === 'llm' ? known : { kind: 'llm', provider: '', serverAddress: null, serverPort: null, operation: 'chat', method: 'POST', path: '', stream: false, tls: false, models: new Map() };
    this.put(k, e);
    e.provider = rec['gen_ai.provider.name'];
    e.serverAddress = rec['server.address'];
    e.serverPort = rec['server.port'];
    e.operation = rec['gen_ai.operation.name'];
    e.method = rec['http.request.method'];
    e.path = rec['url.path'];
    e.stream = rec.stream;
    e.tls = rec.capture === 'tls';
    const model = rec['gen_ai.request.model'];
    if (model !== null) {
      e.models.delete(rec.cgroup_id);
      e.models.set(rec.cgroup_id, model);
      if (e.models.size > MAX_MODELS_PER_ENDPOINT) e.models.delete(e.models.keys().next().value as number);
    }
  }
}

type RecordEnv = Pick<BuilderEnv, 'clock' | 'resolveComm'>;

/** The record of a call that failed before its request could be sent, of the endpoint's kind. */
export function connectFailureRecord(ev: ConnectFailed, ep: KnownEndpoint, env: RecordEnv): CallRecord {
  return ep.kind === 'llm' ? llmConnectFailure(ev, ep, env) : retrievalConnectFailure(ev, ep, env);
}

/** What both record kinds say about the attempt itself: who made it; no trace (no header sent). */
function attemptFields(ev: ConnectFailed, env: RecordEnv) {
  return {
    trace_id: null,
    span_id: null,
    process: { pid: ev.conn.pid, comm: env.resolveComm(ev.conn.pid) },
    cgroup_id: ev.conn.cgroupId,
    conn_id: ev.conn.connId,
    observed_side: 'client' as const,
    partial: false,
    partial_reasons: [] as string[],
  };
}

const errorOf = (ev: ConnectFailed) => (ev.reason === 'refused' ? 'connection_refused' : 'timeout') as 'connection_refused' | 'timeout';

/**
 * Operation, path and provider are the endpoint's last call's; the model is the one this workload
 * last asked it for (null if it never did). Durations are the connect attempt's.
 */
function llmConnectFailure(ev: ConnectFailed, ep: KnownLlmEndpoint, env: RecordEnv): LlmCallRecord {
  const start = Math.max(0, ev.tsNs - ev.attemptNs);
  return {
    schema: LLM_CALL_SCHEMA,
    time: rfc3339(env.clock(start)),
    'gen_ai.operation.name': ep.operation,
    'gen_ai.provider.name': ep.provider,
    'gen_ai.request.model': ep.models.get(ev.conn.cgroupId) ?? null,
    'gen_ai.response.model': null,
    'gen_ai.response.id': null,
    'gen_ai.response.finish_reasons': [],
    'server.address': ep.serverAddress,
    'server.port': ep.serverPort,
    'http.request.method': ep.method,
    'url.path': ep.path,
    'http.request.resend_count': null,
    stream: ep.stream,
    'http.response.status_code': null,
    'error.type': errorOf(ev),
    'error.provider_code': ev.reason === 'refused' ? 'refused' : 'connect_timeout',
    'error.source': 'transport',
    'error.stream_class': null,
    ttft_s: null,
    ttfc_s: null,
    duration_s: ev.attemptNs / 1e9,
    tpot_s: null,
    output_tokens_per_s: null,
    inter_chunk_gap_s: null,
    chunks: 0,
    content_chunks: 0,
    'gen_ai.usage.input_tokens': null,
    'gen_ai.usage.output_tokens': null,
    'gen_ai.usage.cache_read.input_tokens': null,
    'gen_ai.usage.cache_creation.input_tokens': null,
    'gen_ai.usage.reasoning.output_tokens': null,
    tokens_source: null,
    embeddings_count: null,
    rate_limit: { remaining_requests: null, remaining_tokens: null, retry_after_s: null },
    provider_request_id: null,
    capture: ep.tls ? 'tls' : 'plain',
    ...attemptFields(ev, env),
    timestamps_ns: { request_start: start, request_end: null, response_start: null, first_chunk: null, first_token: null, response_end: ev.tsNs },
  };
}

/** Database system, operation, collection and path are the endpoint's last call's. */
function retrievalConnectFailure(ev: ConnectFailed, ep: KnownRetrievalEndpoint, env: RecordEnv): RetrievalCallRecord {
  const start = Math.max(0, ev.tsNs - ev.attemptNs);
  const last = ep.rec;
  return {
    schema: RETRIEVAL_CALL_SCHEMA,
    time: rfc3339(env.clock(start)),
    'gen_ai.operation.name': 'retrieval',
    'db.system.name': last['db.system.name'],
    'db.operation.name': last['db.operation.name'],
    'gen_ai.data_source.id': last['gen_ai.data_source.id'],
    'db.collection.name': last['db.collection.name'],
    'gen_ai.request.top_k': null,
    'server.address': last['server.address'],
    'server.port': last['server.port'],
    'http.request.method': last['http.request.method'],
    'url.path': last['url.path'],
    'http.response.status_code': null,
    'error.type': errorOf(ev),
    duration_s: ev.attemptNs / 1e9,
    result_count: null,
    capture: last.capture,
    ...attemptFields(ev, env),
    timestamps_ns: { request_start: start, request_end: null, response_start: null, response_end: ev.tsNs },
  };
}
