// Inbound HTTP requests of an application on this node (the observed process is the SERVER side
// of the connection) -> ServerRequestRecord, with a summary of the LLM and retrieval calls the
// same process made while serving each request ("retrieval contribution per request").
//
// Linking rule. An outbound call C (a client-side llm_call / retrieval_call record) belongs to an
// inbound request R when both are in the same pid and C's [request_start, response_end] lies
// within R's [request_start, response_end]. Records come out in capture order, so when C
// finishes, the requests that can contain it are exactly R's of that pid that are still open and
// started no later than C: the decision is taken right then, and C's interval is kept on R
// (no per-pid history to scan later). Among those candidates:
//   - when C and some R both carry W3C trace ids and they are equal, that R owns C;
//   - an R whose trace id differs from C's is never a candidate;
//   - otherwise C goes to the single remaining candidate; with several (concurrent requests and
//     no trace ids to tell them apart) C goes to none of them and each counts it as ambiguous.
// A linked C gets `enclosing_request` (the ids llmslo gives R's SERVER span), so JSONL readers
// can join, and the exporter can hang C's CLIENT span under R's SERVER span when C carries no
// traceparent of its own.
//
// Bounded: open requests tracked per pid and in total, intervals held across all open requests;
// what does not fit is counted (record `outbound.dropped`, stats counters), never queued.
// No body is read: no prompt or completion text can reach this record.
import { randomFillSync } from 'node:crypto';
import type { ExchangeContext, ExchangeFinish, ExchangeHandler } from '../protocols/http_connection.ts';
import type { ResponseHead } from '../protocols/http1.ts';
import { rfc3339 } from './call.ts';
import { parseTraceparent, serverEndpoint, splitTarget } from './http_meta.ts';
import { SERVER_REQUEST_SCHEMA } from './records.ts';
import type { EnclosingRequest, LlmCallRecord, OutboundSummary, RetrievalCallRecord, ServerRequestRecord } from './records.ts';
import { BoundedMemo } from '../util/bounded_memo.ts';

export interface ServerRequestLimits {
  /** Inbound requests followed for linking at once, per pid. */
  maxOpenPerPid: number;
  /** ... and across all pids. */
  maxOpen: number;
  /** Outbound call intervals kept per inbound request (for the union). */
  maxCallsPerRequest: number;
  /** Outbound call intervals kept across all open inbound requests. */
  maxHeldIntervals: number;
  /** Distinct `http.route` values; later new ones become `_OTHER`. */
  maxRoutes: number;
  /**
   * An open request older than this may be forgotten when a cap is reached (its connection was
   * dropped without an end, e.g. after an internal error), so a leak cannot fill the caps.
   */
  staleAfterNs: number;
}

export const DEFAULT_SERVER_REQUEST_LIMITS: ServerRequestLimits = {
  maxOpenPerPid: 1024,
  maxOpen: 16384,
  maxCallsPerRequest: 2000,
  maxHeldIntervals: 200_000,
  maxRoutes: 1000,
  staleAfterNs: 600e9,
};

export interface ServerRequestCounters {
  /** server_request records emitted. */
  records: number;
  /** Outbound calls linked to an inbound request. */
  linkedCalls: number;
  /** Outbound calls of a pid with several candidate inbound requests and no trace id to choose. */
  ambiguousCalls: number;
  /** Linked calls whose interval could not be kept (per-request or global cap): counted, not in the union. */
  droppedIntervals: number;
  /** Inbound requests not followed for linking (open-request caps). */
  untrackedRequests: number;
  /** Open requests forgotten at a cap because they were older than staleAfterNs. */
  staleForgotten: number;
  /** Paths whose route was folded into `_OTHER` (route cap; counted per path, not per request). */
  routesFolded: number;
}

export function newServerRequestCounters(): ServerRequestCounters {
  return { records: 0, linkedCalls: 0, ambiguousCalls: 0, droppedIntervals: 0, untrackedRequests: 0, staleForgotten: 0, routesFolded: 0 };
}

// ---------------------------------------------------------------------------------------------
// Route templating: conservative, bounded. Segments that look like identifiers become `{id}`.

const MAX_SEGMENTS = 8;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const NUMERIC = /^[+-]?\d+([.,]\d+)?$/;
const HEX_ID = /^(?=.*\d)[0-9a-f]{8,}$/i;
const TOKEN_ID = /^(?=.*\d)[A-Za-z0-9_-]{16,}$/;
const SAFE_SEGMENT = /^[A-Za-z0-9._~:@!$&'()*+,;=-]+$/;

function templateSegment(seg: string): string {
  if (seg.length === 0) return seg;
  if (seg.length > 48) return '{id}';
  if (NUMERIC.test(seg) || UUID.test(seg) || HEX_ID.test(seg) || TOKEN_ID.test(seg)) return '{id}';
  // percent-encoded or otherwise unusual text (names, emails, free text) is not a route word
  if (!SAFE_SEGMENT.test(seg) || seg.includes('@')) return '{id}';
  // a prefix plus a number (`item42`, `v2` excepted): ids more often than not
  if (/^[A-Za-z_-]*\d{3,}$/.test(seg)) return '{id}';
  return seg;
}

/** `/users/42/orders/9f1c...` -> `/users/{id}/orders/{id}`; at most 8 segments, then `/{rest}`. */
export function routeTemplate(path: string): string {
  if (!path.startsWith('/')) return path === '*' ? '*' : '/';
  const segs = path.slice(1).split('/');
  const out: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    if (i === MAX_SEGMENTS) {
      out.push('{rest}');
      break;
    }
    out.push(templateSegment(segs[i]!));
  }
  return `/${out.join('/')}`;
}

// ---------------------------------------------------------------------------------------------
// W3C ids for the SERVER spans llmslo creates (random, from a pooled buffer).

const POOL = Buffer.alloc(4096);
let poolPos = POOL.length;
function randomHex(bytes: number): string {
  for (;;) {
    if (poolPos + bytes > POOL.length) {
      randomFillSync(POOL);
      poolPos = 0;
    }
    const s = POOL.toString('hex', poolPos, poolPos + bytes);
    poolPos += bytes;
    if (!/^0+$/.test(s)) return s;
  }
}

// ---------------------------------------------------------------------------------------------

type OutboundRecord = LlmCallRecord | RetrievalCallRecord;

interface Acc {
  count: number;
  sumNs: number;
  /** Flat [start, end, start, end, ...] of the intervals kept. */
  iv: number[];
}

const newAcc = (): Acc => ({ count: 0, sumNs: 0, iv: [] });

interface OpenRequest {
  pid: number;
  startNs: number;
  /** Inbound traceparent's trace id (lower case), or null. */
  traceId: string | null;
  spanIds: EnclosingRequest | null;
  parentSpanId: string | null;
  llm: Acc;
  retrieval: Acc;
  embeddings: number;
  vectorSearch: number;
  ambiguous: number;
  dropped: number;
  held: number;
}

/** Half-open union length of flat [s, e] pairs clipped to [lo, hi]. */
export function unionNs(iv: readonly number[], lo: number, hi: number): { union: number; sum: number } {
  const pairs: Array<[number, number]> = [];
  let sum = 0;
  for (let i = 0; i + 1 < iv.length; i += 2) {
    const s = Math.max(iv[i]!, lo);
    const e = Math.min(iv[i + 1]!, hi);
    if (e > s) {
      pairs.push([s, e]);
      sum += e - s;
    }
  }
  pairs.sort((a, b) => a[0] - b[0]);
  let union = 0;
  let cs = -Infinity;
  let ce = -Infinity;
  for (const [s, e] of pairs) {
    if (s > ce) {
      if (ce > cs) union += ce - cs;
      cs = s;
      ce = e;
    } else if (e > ce) ce = e;
  }
  if (ce > cs) union += ce - cs;
  return { union, sum };
}

function outboundEnd(r: OutboundRecord): number {
  const t = r.timestamps_ns;
  if (t.response_end !== null) return t.response_end;
  if (r.duration_s !== null) return t.request_start + r.duration_s * 1e9;
  return Math.max(t.request_start, t.request_end ?? 0, t.response_start ?? 0);
}

/** Follows the open inbound requests of every pid and links outbound calls to them. */
export class ServerRequestTracker {
  readonly counters = newServerRequestCounters();
  private readonly byPid = new Map<number, Set<OpenRequest>>();
  /** Every open request, oldest first. */
  private readonly all = new Set<OpenRequest>();
  private held = 0;
  private readonly routes = new Set<string>();
  /** path -> admitted route (most requests repeat a handful of paths) */
  private readonly routeCache = new BoundedMemo<string, string>(4096, (path) => this.admitRoute(routeTemplate(path)));

  constructor(readonly limits: ServerRequestLimits = DEFAULT_SERVER_REQUEST_LIMITS) {}

  /** Open inbound requests followed now (for stats). */
  get openRequests(): number {
    return this.all.size;
  }

  /** Outbound intervals held now (for stats). */
  get heldIntervals(): number {
    return this.held;
  }

  /** An inbound request started; null when the caps say it cannot be followed for linking. */
  begin(pid: number, startNs: number, traceId: string | null, parentSpanId: string | null): OpenRequest | null {
    let set = this.byPid.get(pid);
    if (this.all.size >= this.limits.maxOpen) this.forgetStale(this.all, startNs);
    if (set !== undefined && set.size >= this.limits.maxOpenPerPid) this.forgetStale(set, startNs);
    set = this.byPid.get(pid);
    if (this.all.size >= this.limits.maxOpen || (set !== undefined && set.size >= this.limits.maxOpenPerPid)) {
      this.counters.untrackedRequests++;
      return null;
    }
    if (set === undefined) {
      set = new Set();
      this.byPid.set(pid, set);
    }
    const r: OpenRequest = { pid, startNs, traceId, spanIds: null, parentSpanId, llm: newAcc(), retrieval: newAcc(), embeddings: 0, vectorSearch: 0, ambiguous: 0, dropped: 0, held: 0 };
    set.add(r);
    this.all.add(r);
    return r;
  }

  /** Forgets the oldest request of `from` when it is stale. */
  private forgetStale(from: Set<OpenRequest>, nowNs: number): void {
    const oldest = from.values().next().value;
    if (oldest !== undefined && nowNs - oldest.startNs > this.limits.staleAfterNs) {
      this.end(oldest);
      this.counters.staleForgotten++;
    }
  }

  /** The ids of the request's SERVER span (created on first need). */
  idsOf(r: OpenRequest): EnclosingRequest {
    r.spanIds ??= { trace_id: r.traceId ?? randomHex(16), span_id: randomHex(8) };
    return r.spanIds;
  }

  /** The inbound request is over: stop linking to it and release what it held. */
  end(r: OpenRequest): void {
    const set = this.byPid.get(r.pid);
    this.all.delete(r);
    if (set?.delete(r)) {
      this.held -= r.held;
      r.held = 0;
      if (set.size === 0) this.byPid.delete(r.pid);
    }
  }

  /** A client-side call record finished: link it to the inbound request it was made for, if any. */
  onOutbound(rec: OutboundRecord): void {
    if (rec.observed_side !== 'client') return;
    const set = this.byPid.get(rec.process.pid);
    if (set === undefined) return;
    const start = rec.timestamps_ns.request_start;
    if (!Number.isFinite(start)) return;
    const trace = rec.trace_id ? rec.trace_id.toLowerCase() : null;
    let exact: OpenRequest | null = null;
    let only: OpenRequest | null = null;
    let compatible = 0;
    for (const r of set) {
      if (r.startNs > start) continue;
      if (trace !== null && r.traceId !== null) {
        if (r.traceId === trace && exact === null) exact = r;
        continue;
      }
      compatible++;
      only = r;
    }
    const owner = exact ?? (compatible === 1 ? only : null);
    if (owner === null) {
      if (compatible > 1) {
        this.counters.ambiguousCalls++;
        for (const r of set) if (r.startNs <= start && !(trace !== null && r.traceId !== null)) r.ambiguous++;
      }
      return;
    }
    const end = Math.max(start, outboundEnd(rec));
    const isRetrieval = rec.schema === 'llmslo.retrieval_call/v1' || rec['gen_ai.operation.name'] === 'embeddings';
    const acc = isRetrieval ? owner.retrieval : owner.llm;
    acc.count++;
    acc.sumNs += end - start;
    if (rec.schema === 'llmslo.retrieval_call/v1') owner.vectorSearch++;
    else if (isRetrieval) owner.embeddings++;
    if (owner.held < this.limits.maxCallsPerRequest && this.held < this.limits.maxHeldIntervals) {
      acc.iv.push(start, end);
      owner.held++;
      this.held++;
    } else {
      owner.dropped++;
      this.counters.droppedIntervals++;
    }
    this.counters.linkedCalls++;
    rec.enclosing_request = { ...this.idsOf(owner) };
  }

  /** Bounded `http.route`: past `maxRoutes` distinct values, new ones are `_OTHER`. */
  admitRoute(route: string): string {
    if (this.routes.has(route)) return route;
    if (this.routes.size >= this.limits.maxRoutes) {
      this.counters.routesFolded++;
      return '_OTHER';
    }
    this.routes.add(route);
    return route;
  }

  /** The summary of the calls linked to `r`, clipped to [startNs, endNs] (endNs null: unclipped). */
  summary(r: OpenRequest | null, startNs: number, endNs: number | null): OutboundSummary {
    if (r === null) return emptySummary();
    const hi = endNs ?? Infinity;
    const llm = summarize(r.llm, r.dropped > 0, startNs, hi);
    const retrieval = summarize(r.retrieval, r.dropped > 0, startNs, hi);
    return {
      llm,
      retrieval: { count: retrieval.count, sum_s: retrieval.sum_s, union_s: retrieval.union_s, embeddings: r.embeddings, vector_search: r.vectorSearch },
      ambiguous: r.ambiguous,
      dropped: r.dropped,
    };
  }

  routeOf(path: string): string {
    return this.routeCache.get(path);
  }
}

function emptySummary(): OutboundSummary {
  return { llm: { count: 0, sum_s: 0, union_s: 0 }, retrieval: { count: 0, sum_s: 0, union_s: 0, embeddings: 0, vector_search: 0 }, ambiguous: 0, dropped: 0 };
}

function summarize(a: Acc, someDropped: boolean, lo: number, hi: number): { count: number; sum_s: number; union_s: number } {
  if (a.count === 0) return { count: 0, sum_s: 0, union_s: 0 };
  const u = unionNs(a.iv, lo, hi);
  // calls whose interval was not kept still count, and add their (unclipped) time to the sum
  const extra = someDropped ? Math.max(0, a.sumNs - unionNs(a.iv, -Infinity, Infinity).sum) : 0;
  return { count: a.count, sum_s: round9((u.sum + extra) / 1e9), union_s: round9(u.union / 1e9) };
}

const round9 = (x: number): number => Math.round(x * 1e9) / 1e9;

export interface ServerRequestEnv {
  clock: (monoNs: number) => number;
  resolveComm: (pid: number) => string | null;
  emit: (rec: ServerRequestRecord) => void;
}

/** Follows one inbound exchange on a server-side connection; emits its record when it ends. */
export class ServerRequestBuilder implements ExchangeHandler {
  /** Only timing and status matter: the response body is framed, never decoded. */
  readonly wantsResponseBody = false;
  private readonly method: string;
  private readonly path: string;
  private readonly route: string;
  private readonly address: string | null;
  private readonly port: number | null;
  private readonly traceId: string | null;
  private readonly spanId: string | null;
  private readonly open: OpenRequest | null;
  private requestEnd: number | null = null;
  private responseStart: number | null = null;
  private responseEnd: number | null = null;
  private status: number | null = null;
  private readonly partial = new Set<string>();
  private done = false;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly tracker: ServerRequestTracker,
    private readonly env: ServerRequestEnv,
  ) {
    const req = ctx.request;
    this.method = req.method.slice(0, 16);
    this.path = splitTarget(req.target).path;
    this.route = tracker.routeOf(this.path);
    const ep = serverEndpoint(req.headers.get('host'), ctx.conn, 'server');
    this.address = ep.address;
    this.port = ep.port;
    const tp = parseTraceparent(req.headers.get('traceparent'));
    this.traceId = tp?.traceId ?? null;
    this.spanId = tp?.spanId ?? null;
    if (ctx.resynced) this.partial.add('resynced');
    this.open = tracker.begin(ctx.conn.pid, ctx.requestStartNs, this.traceId, this.spanId);
    if (this.open === null) this.partial.add('outbound_not_tracked');
  }

  get bufferedBytes(): number {
    return 0;
  }

  markPartial(reason: string): void {
    this.partial.add(reason);
  }

  onRequestBody(): void {}
  onRequestGap(): void {
    this.partial.add('request_gap');
  }
  onRequestEnd(tsNs: number, complete: boolean): void {
    if (complete) this.requestEnd = tsNs;
    else this.partial.add('request_incomplete');
  }
  onInterimResponse(): void {}
  onResponseHead(head: ResponseHead, tsNs: number, resynced: boolean): void {
    this.status = head.status;
    this.responseStart = tsNs;
    if (resynced) this.partial.add('resynced');
  }
  onResponseBody(): void {}
  onResponseGap(bytes: number): void {
    // 0: the body could not be decoded (an encoding we do not read): irrelevant here
    if (bytes > 0) this.partial.add('response_gap');
  }
  onResponseEnd(tsNs: number): void {
    this.responseEnd = tsNs;
  }

  onFinish(f: ExchangeFinish): void {
    if (this.done) return;
    this.done = true;
    try {
      if (f.cause !== 'complete') this.partial.add(f.cause);
      const start = this.ctx.requestStartNs;
      const end = this.responseEnd;
      const duration = end !== null ? round9(Math.max(0, end - start) / 1e9) : null;
      const outbound = this.tracker.summary(this.open, start, end);
      const ids = this.open ? this.tracker.idsOf(this.open) : { trace_id: this.traceId ?? randomHex(16), span_id: randomHex(8) };
      const conn = this.ctx.conn;
      const rec: ServerRequestRecord = {
        schema: SERVER_REQUEST_SCHEMA,
        time: rfc3339(this.env.clock(start)),
        'http.request.method': this.method,
        'url.path': this.path,
        'http.route': this.route,
        'http.response.status_code': this.status,
        'error.type': this.status !== null && this.status >= 500 ? 'server_error' : null,
        'server.address': this.address,
        'server.port': this.port,
        'client.address': conn.remote?.address ?? null,
        'client.port': conn.remote?.port ?? null,
        duration_s: duration,
        outbound,
        retrieval_share: duration !== null && duration > 0 ? Math.min(1, round9(outbound.retrieval.union_s / duration)) : null,
        trace_id: this.traceId,
        span_id: this.spanId,
        server_span: { trace_id: ids.trace_id, span_id: ids.span_id },
        capture: conn.tls ? 'tls' : 'plain',
        process: { pid: conn.pid, comm: this.env.resolveComm(conn.pid) },
        cgroup_id: conn.cgroupId,
        conn_id: conn.connId,
        observed_side: 'server',
        partial: this.partial.size > 0,
        partial_reasons: [...this.partial].sort(),
        timestamps_ns: { request_start: start, request_end: this.requestEnd, response_start: this.responseStart, response_end: end },
      };
      this.tracker.counters.records++;
      this.env.emit(rec);
    } finally {
      if (this.open) this.tracker.end(this.open);
    }
  }
}
