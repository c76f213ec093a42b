// Calls that failed before their request could be sent: the server's name did not resolve, the
// server refused the connection or never answered it, or the TLS handshake failed. An availability SLO must count them —
// an endpoint that is down fails every call this way — yet no HTTP byte exists to say what the
// call was. Its destination does: a host name, or an address and port, that served LLM or
// vector-database calls on this node before. The call pipeline learns those from the calls it
// sees and turns a failed attempt on one of them into an llm_call or retrieval_call record with
// error.type `dns_failure`, `connection_refused`, `timeout` or `tls_failure`.
import type { ConnectFailed, ConnectionInfo, Endpoint, TlsNoData } from '../capture/stream.ts';
import { rfc3339 } from './call.ts';
import type { BuilderEnv } from './env.ts';
import { LLM_CALL_SCHEMA, RETRIEVAL_CALL_SCHEMA } from './records.ts';
import type { CallRecord, LlmCallRecord, Operation, RetrievalCallRecord } from './records.ts';
import { putBounded } from '../util/bounded_map.ts';

/** What the last LLM calls through an endpoint were. */
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
  /** Workloads (cgroup ids) that called it, newest last. */
  workloads: Map<number, true>;
}

/** What the last vector-database call through an endpoint was. */
export interface KnownRetrievalEndpoint {
  kind: 'retrieval';
  rec: RetrievalCallRecord;
  workloads: Map<number, true>;
}

export type KnownEndpoint = KnownLlmEndpoint | KnownRetrievalEndpoint;

/** A call attempt that never sent its request. */
export interface FailedAttempt {
  /** The attempt's start (connect, DNS query) and end (kernel ns). */
  startNs: number;
  endNs: number;
  /** The socket the attempt used (the TCP connection, or the DNS query's). */
  conn: ConnectionInfo;
  errorType: 'dns_failure' | 'connection_refused' | 'timeout' | 'tls_failure';
  /** Verbatim detail: `refused`, `connect_timeout`, the DNS RCODE name, the TLS alert. */
  code: string;
  /** The server name the attempt was for, when known from DNS (else the endpoint's last call's). */
  serverAddress?: string;
}

/** Workloads remembered per endpoint (their models too). */
const MAX_WORKLOADS_PER_ENDPOINT = 64;

const remoteKey = (e: Endpoint): string => `${e.address}|${e.port}`;
const serverAddressOf = (e: KnownEndpoint): string | null => (e.kind === 'llm' ? e.serverAddress : e.rec['server.address']);
/** The server port its calls named (Host header or connection). */
export const endpointPort = (e: KnownEndpoint): number | null => (e.kind === 'llm' ? e.serverPort : e.rec['server.port']);


/** Endpoints (remote address:port, and server host name) that answered LLM or vector-DB calls. */
export class KnownEndpoints {
  private readonly byRemote = new Map<string, KnownEndpoint>();
  private readonly byHost = new Map<string, KnownEndpoint>();

  constructor(private readonly max = 1024) {}

  get size(): number {
    return this.byRemote.size;
  }

  /** A finished client-side call: its connection's remote end is an endpoint of its kind if it answered. */
  learn(rec: CallRecord, conn: ConnectionInfo): void {
    if (rec.schema !== RETRIEVAL_CALL_SCHEMA && rec.schema !== LLM_CALL_SCHEMA) return;
    if (rec.observed_side !== 'client' || rec['http.response.status_code'] === null || conn.remote === null) return;
    const k = remoteKey(conn.remote);
    const known = this.byRemote.get(k);
    let e: KnownEndpoint;
    if (rec.schema === RETRIEVAL_CALL_SCHEMA) e = { kind: 'retrieval', rec, workloads: known?.kind === 'retrieval' ? known.workloads : new Map() };
    else {
      e = known?.kind === 'llm' ? known : { kind: 'llm', provider: '', serverAddress: null, serverPort: null, operation: 'chat', method: 'POST', path: '', stream: false, tls: false, models: new Map(), workloads: new Map() };
      learnLlm(e, rec);
    }
    putBounded(e.workloads, rec.cgroup_id, true, MAX_WORKLOADS_PER_ENDPOINT);
    putBounded(this.byRemote, k, e, this.max);
    const host = serverAddressOf(e);
    if (host !== null) putBounded(this.byHost, host.toLowerCase(), e, this.max);
  }

  lookup(remote: Endpoint | null): KnownEndpoint | undefined {
    return remote === null ? undefined : this.byRemote.get(remoteKey(remote));
  }

  /** By the server's name (a DNS question), lower case. */
  lookupHost(name: string): KnownEndpoint | undefined {
    return this.byHost.get(name);
  }
}

function learnLlm(e: KnownLlmEndpoint, rec: LlmCallRecord): void {
  e.provider = rec['gen_ai.provider.name'];
  e.serverAddress = rec['server.address'];
  e.serverPort = rec['server.port'];
  e.operation = rec['gen_ai.operation.name'];
  e.method = rec['http.request.method'];
  e.path = rec['url.path'];
  e.stream = rec.stream;
  e.tls = rec.capture === 'tls';
  const model = rec['gen_ai.request.model'];
  if (model !== null) putBounded(e.models, rec.cgroup_id, model, MAX_WORKLOADS_PER_ENDPOINT);
}

/** A connect that never established, as a failed attempt (for `serverName`, when DNS told). */
export function fromConnectFailed(ev: ConnectFailed, serverName?: string): FailedAttempt {
  const refused = ev.reason === 'refused';
  const a: FailedAttempt = { startNs: Math.max(0, ev.tsNs - ev.attemptNs), endNs: ev.tsNs, conn: ev.conn, errorType: refused ? 'connection_refused' : 'timeout', code: refused ? 'refused' : 'connect_timeout' };
  if (serverName !== undefined) a.serverAddress = serverName;
  return a;
}

/** TLS alert descriptions (RFC 8446 §6, RFC 5246 §7.2). */
const TLS_ALERTS: Record<number, string> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 22: 'record_overflow', 40: 'handshake_failure',
  42: 'bad_certificate', 43: 'unsupported_certificate', 44: 'certificate_revoked', 45: 'certificate_expired',
  46: 'certificate_unknown', 47: 'illegal_parameter', 48: 'unknown_ca', 49: 'access_denied', 50: 'decode_error',
  51: 'decrypt_error', 70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error',
  86: 'inappropriate_fallback', 90: 'user_canceled', 109: 'missing_extension', 110: 'unsupported_extension',
  112: 'unrecognized_name', 113: 'bad_certificate_status_response', 115: 'unknown_psk_identity',
  116: 'certificate_required', 120: 'no_application_protocol',
};
/** Alerts that end a handshake without it having failed. */
const NOT_FAILURES: ReadonlySet<number> = new Set([0, 90]);

/** A TLS connection this side closed without data sooner than this after its ClientHello gave up on the handshake. */
const MAX_ABANDONED_HANDSHAKE_NS = 1e9;

/**
 * A TLS connection closed without any plaintext, as a failed attempt, when it was one: after an
 * alert (but close_notify and user_canceled end a handshake without it failing), or closed by this
 * side within a second of its ClientHello without an alert (a client rejecting the certificate
 * after the handshake, as Node's `tls` does). Null otherwise (an unused connection).
 */
export function fromTlsNoData(ev: TlsNoData): FailedAttempt | null {
  let code: string;
  if (ev.alertDirection !== null) {
    if (ev.alertDescription !== null && NOT_FAILURES.has(ev.alertDescription)) return null;
    const side = ev.alertDirection === 'egress' ? 'alert_sent' : 'alert_received';
    code = `${side}:${ev.alertDescription === null ? 'encrypted' : (TLS_ALERTS[ev.alertDescription] ?? String(ev.alertDescription))}`;
  } else if ((ev.reason === 'local_close' || ev.reason === 'reset_sent') && ev.tsNs - ev.helloNs <= MAX_ABANDONED_HANDSHAKE_NS) {
    code = 'closed_without_data';
  } else return null;
  const a: FailedAttempt = { startNs: ev.helloNs, endNs: ev.tsNs, conn: ev.conn, errorType: 'tls_failure', code };
  if (ev.conn.serverName !== null) a.serverAddress = ev.conn.serverName;
  return a;
}

type RecordEnv = Pick<BuilderEnv, 'clock' | 'resolveComm'>;

/** The record of a call that failed before its request could be sent, of the endpoint's kind. */
export function failedAttemptRecord(a: FailedAttempt, ep: KnownEndpoint, env: RecordEnv): CallRecord {
  return ep.kind === 'llm' ? llmRecord(a, ep, env) : retrievalRecord(a, ep, env);
}

/** What both record kinds say about the attempt itself: who made it; no trace (no header sent). */
function attemptFields(a: FailedAttempt, env: RecordEnv) {
  return {
    time: rfc3339(env.clock(a.startNs)),
    'http.response.status_code': null,
    'error.type': a.errorType,
    duration_s: Math.max(0, a.endNs - a.startNs) / 1e9,
    trace_id: null,
    span_id: null,
    process: { pid: a.conn.pid, comm: env.resolveComm(a.conn.pid) },
    cgroup_id: a.conn.cgroupId,
    conn_id: a.conn.connId,
    observed_side: 'client' as const,
    partial: false,
    partial_reasons: [] as string[],
  };
}

/**
 * Operation, path and provider are the endpoint's last call's; the model is the one this workload
 * last asked it for (null if it never did).
 */
function llmRecord(a: FailedAttempt, ep: KnownLlmEndpoint, env: RecordEnv): LlmCallRecord {
  return {
    schema: LLM_CALL_SCHEMA,
    ...attemptFields(a, env),
    'gen_ai.operation.name': ep.operation,
    'gen_ai.provider.name': ep.provider,
    'gen_ai.request.model': ep.models.get(a.conn.cgroupId) ?? null,
    'gen_ai.response.model': null,
    'gen_ai.response.id': null,
    'gen_ai.response.finish_reasons': [],
    'server.address': a.serverAddress ?? ep.serverAddress,
    'server.port': ep.serverPort,
    'http.request.method': ep.method,
    'url.path': ep.path,
    'http.request.resend_count': null,
    stream: ep.stream,
    'error.provider_code': a.code,
    'error.source': 'transport',
    'error.stream_class': null,
    ttft_s: null,
    ttfc_s: null,
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
    timestamps_ns: { request_start: a.startNs, request_end: null, response_start: null, first_chunk: null, first_token: null, response_end: a.endNs },
  };
}

/** Database system, operation, collection and path are the endpoint's last call's. */
function retrievalRecord(a: FailedAttempt, ep: KnownRetrievalEndpoint, env: RecordEnv): RetrievalCallRecord {
  const last = ep.rec;
  return {
    schema: RETRIEVAL_CALL_SCHEMA,
    ...attemptFields(a, env),
    'gen_ai.operation.name': 'retrieval',
    'db.system.name': last['db.system.name'],
    'db.operation.name': last['db.operation.name'],
    'gen_ai.data_source.id': last['gen_ai.data_source.id'],
    'db.collection.name': last['db.collection.name'],
    'gen_ai.request.top_k': null,
    'server.address': a.serverAddress ?? last['server.address'],
    'server.port': last['server.port'],
    'http.request.method': last['http.request.method'],
    'url.path': last['url.path'],
    result_count: null,
    capture: last.capture,
    timestamps_ns: { request_start: a.startNs, request_end: null, response_start: null, response_end: a.endNs },
  };
}
