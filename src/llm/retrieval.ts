// Vector search requests -> RetrievalCallRecord: Qdrant REST, Weaviate GraphQL, Chroma,
// Pinecone, Milvus REST, Elasticsearch / OpenSearch kNN, OpenAI vector stores. Latency,
// status, collection/index, top-k and the result count when the response shows it.
import type { ExchangeContext, ExchangeFinish, ExchangeHandler } from '../protocols/http_connection.ts';
import type { ResponseHead } from '../protocols/http1.ts';
import { CappedBytes } from '../protocols/bytes.ts';
import { decodeSegment } from '../util/uri.ts';
import { isObj, num } from './adapter.ts';
import { rfc3339 } from './call.ts';
import type { BuilderEnv } from './env.ts';
import { classifyError, extractProviderError } from './errors.ts';
import { parseTraceparent, serverEndpoint, splitTarget } from './http_meta.ts';
import { RETRIEVAL_CALL_SCHEMA } from './records.ts';
import type { ErrorType, RetrievalCallRecord } from './records.ts';

export interface RetrievalRoute {
  system: string;
  operation: string;
  collection: string | null;
  /** Confirms the request by body shape and reads collection / top-k from it. */
  inspect: (body: unknown) => { ok: boolean; collection?: string | null; topK?: number | null };
  /** Counts results in the response body. */
  count: (body: unknown) => number | null;
}

const arrLen = (v: unknown): number | null => (Array.isArray(v) ? v.length : null);

const QDRANT = /^\/collections\/([^/]+)\/points\/(search|query|scroll|recommend|discover)(\/batch|\/groups)?$/;
const CHROMA = /^\/api\/v[12]\/(?:tenants\/[^/]+\/databases\/[^/]+\/)?collections\/([^/]+)\/(query|get)$/;
const MILVUS = /^\/(?:v2\/vectordb\/entities\/(search|hybrid_search|query)|v1\/vector\/(search|query))$/;
const ES_SEARCH = /^\/(?:([^/_][^/]*)\/)?_search$/;
const OPENAI_VS = /\/vector_stores\/([^/]+)\/search$/;
const PINECONE_HOST = /^([a-z0-9-]+)-[a-z0-9]+\.svc\.[a-z0-9.-]+\.pinecone\.io$/;

export function routeRetrievalRequest(method: string, host: string | null, path: string): RetrievalRoute | null {
  if (method !== 'POST' && method !== 'GET') return null;
  let m = QDRANT.exec(path);
  if (m && method === 'POST') {
    const op = m[2]!;
    const batch = m[3] === '/batch';
    return {
      system: 'qdrant',
      operation: batch ? `${op}_batch` : op,
      collection: decodeSegment(m[1]!),
      inspect: (b) => ({ ok: true, topK: isObj(b) ? num(b['limit']) ?? num(b['top']) : null }),
      count: (b) => {
        if (!isObj(b)) return null;
        const r = b['result'];
        if (Array.isArray(r)) return batch ? r.reduce((n: number, x) => n + (arrLen(x) ?? arrLen(isObj(x) ? x['points'] : null) ?? 0), 0) : r.length;
        if (isObj(r)) return arrLen(r['points']) ?? arrLen(r['groups']);
        return null;
      },
    };
  }
  if (path === '/v1/graphql' && method === 'POST') {
    return {
      system: 'weaviate',
      operation: 'search',
      collection: null,
      inspect: (b) => {
        const q = isObj(b) && typeof b['query'] === 'string' ? (b['query'] as string) : '';
        if (!/\b(nearVector|nearText|nearObject|hybrid|bm25|nearImage)\b/.test(q)) return { ok: false };
        const cls = /\bGet\s*\{\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(q);
        const lim = /\blimit\s*:\s*(\d+)/.exec(q);
        return { ok: true, collection: cls ? cls[1]! : null, topK: lim ? Number(lim[1]) : null };
      },
      count: (b) => {
        if (!isObj(b) || !isObj(b['data']) || !isObj(b['data']['Get'])) return null;
        const get = b['data']['Get'];
        let n = 0;
        for (const v of Object.values(get)) n += arrLen(v) ?? 0;
        return n;
      },
    };
  }
  m = CHROMA.exec(path);
  if (m && method === 'POST') {
    return {
      system: 'chroma',
      operation: m[2]!,
      collection: decodeSegment(m[1]!),
      inspect: (b) => ({ ok: true, topK: isObj(b) ? num(b['n_results']) ?? num(b['limit']) : null }),
      count: (b) => {
        if (!isObj(b)) return null;
        const ids = b['ids'];
        if (!Array.isArray(ids)) return null;
        // query: one list per query embedding; get: a flat list
        return ids.reduce((n: number, x) => n + (Array.isArray(x) ? x.length : 1), 0);
      },
    };
  }
  m = MILVUS.exec(path);
  if (m && method === 'POST') {
    return {
      system: 'milvus',
      operation: m[1] ?? m[2]!,
      collection: null,
      inspect: (b) => ({ ok: true, collection: isObj(b) && typeof b['collectionName'] === 'string' ? b['collectionName'] : null, topK: isObj(b) ? num(b['limit']) ?? num(b['topK']) : null }),
      count: (b) => (isObj(b) ? arrLen(b['data']) : null),
    };
  }
  m = OPENAI_VS.exec(path);
  if (m && method === 'POST') {
    return {
      system: 'openai',
      operation: 'search',
      collection: decodeSegment(m[1]!),
      inspect: (b) => ({ ok: true, topK: isObj(b) ? num(b['max_num_results']) : null }),
      count: (b) => (isObj(b) ? arrLen(b['data']) : null),
    };
  }
  m = ES_SEARCH.exec(path);
  if (m) {
    const index = m[1] ? decodeSegment(m[1]) : null;
    return {
      system: 'elasticsearch',
      operation: 'search',
      collection: index,
      inspect: (b) => {
        if (!isObj(b)) return { ok: false };
        const knn = b['knn'];
        if (isObj(knn) || Array.isArray(knn)) {
          const k = isObj(knn) ? num(knn['k']) : null;
          return { ok: true, topK: k ?? num(b['size']) };
        }
        const q = b['query'];
        if (isObj(q) && (isObj(q['knn']) || isObj(q['neural']))) {
          let k: number | null = null;
          const inner = isObj(q['knn']) ? q['knn'] : (q['neural'] as Record<string, unknown>);
          for (const v of Object.values(inner)) if (isObj(v)) k = num(v['k']) ?? k;
          return { ok: true, topK: k ?? num(b['size']) };
        }
        return { ok: false };
      },
      count: (b) => (isObj(b) && isObj(b['hits']) ? arrLen(b['hits']['hits']) : null),
    };
  }
  if (path === '/query' && method === 'POST') {
    const pm = host !== null ? PINECONE_HOST.exec(host) : null;
    return {
      system: 'pinecone',
      operation: 'query',
      collection: pm ? pm[1]! : null,
      inspect: (b) => {
        if (!isObj(b) || !('topK' in b) || !('vector' in b || 'id' in b || 'sparseVector' in b)) return { ok: false };
        return { ok: true, topK: num(b['topK']) };
      },
      count: (b) => (isObj(b) ? arrLen(b['matches']) : null),
    };
  }
  return null;
}

export class RetrievalCallBuilder implements ExchangeHandler {
  private reqBody: CappedBytes | null;
  private requestEnd: number | null = null;
  private head: ResponseHead | null = null;
  private responseStart: number | null = null;
  private responseEnd: number | null = null;
  private body: CappedBytes | null = null;
  private bodyBroken = false;
  private inert = false;
  private collection: string | null;
  private topK: number | null = null;
  private resultCount: number | null = null;
  private errorInfo: ReturnType<typeof extractProviderError> = null;
  private readonly partial = new Set<string>();
  private done = false;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly route: RetrievalRoute,
    private readonly env: BuilderEnv,
    private readonly emit: (r: RetrievalCallRecord) => void,
  ) {
    this.collection = route.collection;
    this.reqBody = new CappedBytes(env.limits.maxRequestBodyBytes);
    if (ctx.resynced) this.partial.add('resynced');
  }

  get bufferedBytes(): number {
    return (this.reqBody?.length ?? 0) + (this.body?.length ?? 0);
  }

  markPartial(reason: string): void {
    this.partial.add(reason);
  }

  onRequestBody(buf: Buffer, start: number, end: number): void {
    this.reqBody?.append(buf, start, end);
  }
  onRequestGap(): void {
    this.partial.add('request_gap');
    if (this.reqBody) this.reqBody.dropped += 1;
  }
  onRequestEnd(tsNs: number, complete: boolean): void {
    if (complete) this.requestEnd = tsNs;
    else this.partial.add('request_incomplete');
    const rb = this.reqBody;
    this.reqBody = null;
    let body: unknown = null;
    if (rb && rb.length > 0 && !rb.truncated) {
      try {
        body = JSON.parse(rb.view().toString('utf8'));
      } catch {
        this.env.counters.badJsonPayloads++;
      }
    } else if (rb?.truncated) this.partial.add('request_body_truncated');
    const r = this.route.inspect(body);
    // Without a readable body only the path-certain systems are kept.
    if (!r.ok && (body !== null || this.route.system === 'elasticsearch' || this.route.system === 'weaviate' || this.route.system === 'pinecone')) {
      this.inert = true;
      this.env.counters.ignoredRequests++;
      return;
    }
    if (r.collection !== undefined && r.collection !== null) this.collection = r.collection;
    if (r.topK !== undefined) this.topK = r.topK;
  }
  onInterimResponse(): void {}
  onResponseHead(head: ResponseHead, tsNs: number, resynced: boolean): void {
    if (this.inert) return;
    this.head = head;
    this.responseStart = tsNs;
    if (resynced) this.partial.add('resynced');
    this.body = new CappedBytes(head.status >= 400 ? 64 * 1024 : this.env.limits.maxResponseBodyBytes);
  }
  onResponseBody(buf: Buffer, start: number, end: number): void {
    if (!this.inert) this.body?.append(buf, start, end);
  }
  onResponseGap(): void {
    this.partial.add('response_gap');
    this.bodyBroken = true;
  }
  onResponseEnd(tsNs: number): void {
    if (this.inert) return;
    this.responseEnd = tsNs;
    const b = this.body;
    this.body = null;
    if (!b || !this.head || this.bodyBroken) return;
    if (b.truncated) {
      this.env.counters.responseBodiesTruncated++;
      this.partial.add('response_body_truncated');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(b.view().toString('utf8'));
    } catch {
      if (b.length > 0) this.env.counters.badJsonPayloads++;
      return;
    }
    if (this.head.status >= 400) this.errorInfo = extractProviderError(json);
    else this.resultCount = this.route.count(json);
  }
  onFinish(f: ExchangeFinish): void {
    if (this.done || this.inert) return;
    this.done = true;
    let errorType: ErrorType | null = null;
    const status = this.head?.status ?? null;
    if (status !== null && status >= 400) errorType = classifyError(status, this.errorInfo);
    else if (this.responseEnd === null && f.cause === 'connection_closed') {
      const r = f.closeReason;
      const clientGaveUp = this.ctx.role === 'client' ? r === 'local_close' || r === 'reset_sent' : r === 'remote_close' || r === 'reset_received';
      const serverReset = this.ctx.role === 'client' ? r === 'reset_received' : r === 'reset_sent';
      errorType = r === 'refused' ? 'connection_refused' : r === 'timeout' ? 'timeout' : clientGaveUp ? 'client_cancelled' : serverReset ? 'connection_reset' : 'stream_interrupted';
    } else if (this.responseEnd === null) this.partial.add(f.cause === 'flush' ? 'flushed' : f.cause);
    const req = this.ctx.request;
    const endpoint = serverEndpoint(req.headers.get('host'), this.ctx.conn, this.ctx.role);
    const tp = parseTraceparent(req.headers.get('traceparent'));
    const responseEnd = this.responseEnd ?? (f.cause === 'connection_closed' ? f.tsNs : null);
    const rs = this.ctx.requestStartNs;
    const reasons = [...this.partial].sort();
    const rec: RetrievalCallRecord = {
      schema: RETRIEVAL_CALL_SCHEMA,
      time: rfc3339(this.env.clock(rs)),
      'gen_ai.operation.name': 'retrieval',
      'db.system.name': this.route.system,
      'db.operation.name': this.route.operation,
      'gen_ai.data_source.id': this.collection,
      'db.collection.name': this.collection,
      'gen_ai.request.top_k': this.topK,
      'server.address': endpoint.address,
      'server.port': endpoint.port,
      'http.request.method': req.method,
      'url.path': splitTarget(req.target).path,
      'http.response.status_code': status,
      'error.type': errorType,
      duration_s: responseEnd === null ? null : Math.max(0, responseEnd - rs) / 1e9,
      result_count: this.resultCount,
      trace_id: tp?.traceId ?? null,
      span_id: tp?.spanId ?? null,
      capture: this.ctx.conn.tls ? 'tls' : 'plain',
      process: { pid: this.ctx.conn.pid, comm: this.env.resolveComm(this.ctx.conn.pid) },
      cgroup_id: this.ctx.conn.cgroupId,
      conn_id: this.ctx.conn.connId,
      observed_side: this.ctx.role,
      partial: reasons.length > 0,
      partial_reasons: reasons,
      timestamps_ns: { request_start: rs, request_end: this.requestEnd, response_start: this.responseStart, response_end: responseEnd },
    };
    this.env.counters.retrievalCalls++;
    if (rec.partial) this.env.counters.partialCalls++;
    if (errorType !== null) this.env.counters.errorsByType[errorType] = (this.env.counters.errorsByType[errorType] ?? 0) + 1;
    this.emit(rec);
  }
}
