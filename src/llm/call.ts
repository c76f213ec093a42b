// Follows one LLM HTTP exchange and turns it into an LlmCallRecord: request JSON -> adapter,
// response framing (SSE / NDJSON / whole JSON) -> adapter, exact kernel timestamps for every
// milestone, error classification when the call ends.
import type { ExchangeContext, ExchangeFinish, ExchangeHandler, StreamPositions } from '../protocols/http_connection.ts';
import type { ResponseHead } from '../protocols/http1.ts';
import { CappedBytes } from '../protocols/bytes.ts';
import { JsonArraySplitter } from '../protocols/json_array.ts';
import { NdjsonSplitter } from '../protocols/ndjson.ts';
import { SseParser } from '../protocols/sse.ts';
import { ChunkKind, newCallState, TextTally } from './adapter.ts';
import type { CallState } from './adapter.ts';
import type { LlmRoute } from './detect.ts';
import { redact } from './env.ts';
import type { BuilderEnv } from './env.ts';
import { classifyError, extractProviderError } from './errors.ts';
import type { ProviderErrorInfo } from './errors.ts';
import { GapRecorder } from './gaps.ts';
import { providerRequestId, rateLimitInfo, requestMeta } from './http_meta.ts';
import type { RequestMeta } from './http_meta.ts';
import { LLM_CALL_SCHEMA } from './records.ts';
import { callTimings } from './timings.ts';
import type { ClientMilestones, MirrorAnchor, MirrorHooks } from './mirror.ts';
import { ContentTemplate, type ContentShape } from './template.ts';
import type { ErrorType, LlmCallRecord, RateLimitInfo } from './records.ts';
import type { ConnectionInfo } from '../capture/stream.ts';

type Framing = 'sse' | 'ndjson' | 'jsonarray' | 'json';

const MAX_TEMPLATES_PER_CALL = 8;
/** SSE events whose stream positions a mirrored client end keeps (the server end's chunk times). */
const MAX_TRACKED_EVENTS = 16384;
const NO_KEYS: ReadonlySet<string> = new Set();


/** The formatted second of the last call: records of one second share it (toISOString is slow). */
let lastSecond = NaN;
let lastSecondText = '';

export function rfc3339(epochMs: number): string {
  // Date keeps whole milliseconds, truncated toward zero; out-of-range times show the epoch
  const ms = Number.isFinite(epochMs) && Math.abs(epochMs) <= 8.64e15 ? Math.trunc(epochMs) : 0;
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    // "2026-12-04T19:05:42." from "2026-12-04T19:05:42.000Z" (extended years are longer)
    const iso = new Date(second * 1000).toISOString();
    lastSecondText = iso.slice(0, iso.length - 4);
    lastSecond = second;
  }
  const frac = ms - second * 1000;
  return `${lastSecondText}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

export class LlmCallBuilder implements ExchangeHandler {
  private readonly st: CallState;
  private reqBody: CappedBytes | null;
  private requestEnd: number | null = null;
  private requestComplete = false;
  private inert = false;
  /** Only the status is kept of the response head; the rest is read when it arrives. */
  private head: { status: number } | null = null;
  private rateLimit: RateLimitInfo = rateLimitInfo(null);
  private requestId: string | null = null;
  private readonly req: RequestMeta;
  private readonly conn: ConnectionInfo;
  private readonly role: 'client' | 'server';
  private readonly startNs: number;
  private responseStart: number | null = null;
  private responseEnd: number | null = null;
  private firstChunk: number | null = null;
  private firstToken: number | null = null;
  // -1 until a body piece arrives, not null: V8 keeps a field that only ever holds numbers as a
  // double in place, while a number-or-null field stores each double boxed (once per read here)
  private lastBodyTs = -1;
  private framing: Framing = 'json';
  private sse: SseParser | null = null;
  private nd: NdjsonSplitter | null = null;
  private arr: JsonArraySplitter | null = null;
  private body: CappedBytes | null = null;
  private bodyBroken = false;
  private chunks = 0;
  private contentChunks = 0;
  private readonly gaps = new GapRecorder();
  private readonly partial = new Set<string>();
  private httpErrorBody: ProviderErrorInfo | null = null;
  private done = false;
  /** Shape of this stream's plain content chunks, learned from one the adapter parsed. */
  private template: ContentTemplate | null = null;
  /** Templates learned so far (bounded: a stream whose chunks keep changing shape stops learning). */
  private learned = 0;
  /**
   * Chunks tried in vain against other calls' templates (bounded: a stream whose chunks never
   * match stops trying). Events no template is for (role, block starts, pings) do not count.
   */
  private borrowMisses = 0;
  /** Where the exchange sits in the connection's byte streams (mirror.ts). */
  private readonly positions: StreamPositions | null;
  private readonly reqStartOffset: number;
  private reqEndOffset = NaN;
  /** Payload events (SSE events, lines, elements) handed over so far. */
  private events = 0;
  /**
   * A client end whose server end is captured too, in derive mode: the byte-stream positions of
   * its milestones, from which the server end's record is derived.
   */
  private milestones: ClientMilestones | null = null;
  /** A client end in derive mode whose positions are known: it may serve a mirrored server end. */
  private readonly mayMirror: boolean;

  constructor(
    ctx: ExchangeContext,
    private readonly route: LlmRoute,
    private readonly env: BuilderEnv,
    private readonly emit: (r: LlmCallRecord) => void,
  ) {
    const est = env.estimate;
    const keepText = est !== null || env.excerpts !== null;
    this.st = newCallState({
      operation: route.operation,
      provider: route.provider,
      requestModel: route.pathModel,
      requestedStream: route.pathStream,
      completion: new TextTally(env.limits.maxTallyChars, keepText ? (est ?? (() => 0)) : null),
      prompt: new TextTally(env.limits.maxTallyChars, keepText ? (est ?? (() => 0)) : null),
    });
    this.reqBody = new CappedBytes(env.limits.maxRequestBodyBytes);
    if (ctx.resynced) this.partial.add('resynced');
    // Keep what the record needs, not the request head itself (memory per open call).
    this.req = requestMeta(ctx.request, ctx.conn, ctx.role);
    this.conn = ctx.conn;
    this.role = ctx.role;
    this.startNs = ctx.requestStartNs;
    this.positions = ctx.positions ?? null;
    this.reqStartOffset = this.positions?.messageStart(ctx.role === 'client' ? 'egress' : 'ingress') ?? NaN;
    this.mayMirror = ctx.role === 'client' && env.mirror?.mode === 'derive' && !ctx.resynced && this.positions !== null;
  }

  /** Start noting milestones (before the response head: what follows needs them). */
  private trackMilestones(): ClientMilestones {
    this.milestones = { reqStart: this.reqStartOffset, reqEnd: this.reqEndOffset, respStart: NaN, respEnd: NaN, eventEnds: null, firstChunkEvent: -1, contentEvents: [], anchor: null };
    return this.milestones;
  }

  /**
   * The server end of this (client) exchange handed over here: its record will be derived from
   * this one. False when this builder cannot serve (its response already started untracked).
   */
  acceptMirrorAnchor(anchor: MirrorAnchor): boolean {
    if (this.done) return false;
    let m = this.milestones;
    if (m === null) {
      // the server end's connection was first seen after this request started (a new connection)
      if (!this.mayMirror || this.head !== null) return false;
      m = this.trackMilestones();
    }
    m.anchor = anchor;
    return true;
  }

  /** Memory held by this call (for accounting). */
  get bufferedBytes(): number {
    return (this.reqBody?.length ?? 0) + (this.body?.length ?? 0) + (this.sse?.bufferedBytes ?? 0) + (this.nd?.bufferedBytes ?? 0) + (this.arr?.bufferedBytes ?? 0) + this.st.completion.bufferedChars + this.st.prompt.bufferedChars;
  }

  markPartial(reason: string): void {
    this.partial.add(reason);
  }

  onRequestBody(buf: Buffer, start: number, end: number): void {
    this.reqBody?.append(buf, start, end);
  }

  onRequestGap(): void {
    this.partial.add('request_gap');
    if (this.reqBody) this.reqBody.dropped += 1; // cannot be parsed whole any more
  }

  onRequestEnd(tsNs: number, complete: boolean): void {
    if (complete) {
      this.reqEndOffset = this.positions?.messageEnd(this.role === 'client' ? 'egress' : 'ingress') ?? NaN;
      if (this.milestones !== null) this.milestones.reqEnd = this.reqEndOffset;
      this.requestEnd = tsNs;
      this.requestComplete = true;
    } else this.partial.add('request_incomplete');
    const rb = this.reqBody;
    this.reqBody = null;
    let body: unknown = null;
    if (rb && rb.length > 0) {
      if (rb.truncated) {
        this.env.counters.requestBodiesTruncated++;
        this.partial.add('request_body_truncated');
      } else {
        try {
          body = JSON.parse(rb.view().toString('utf8'));
        } catch {
          this.env.counters.badJsonPayloads++;
        }
      }
    }
    if (this.route.confirm && body !== null && !this.route.confirm(body)) {
      this.inert = true;
      this.env.counters.ignoredRequests++;
      return;
    }
    this.route.adapter.onRequest(body, this.st);
    // Keep completion text only when it may be needed: estimation without usage, or excerpts.
    if (this.st.usageExpected && this.env.excerpts === null) {
      this.st.completion.discard();
      this.st.prompt.discard();
    }
  }

  onInterimResponse(): void {
    /* 100-continue: the request body follows; timing is unaffected */
  }

  onResponseHead(head: ResponseHead, tsNs: number, resynced: boolean): void {
    if (this.inert) return;
    const mirror = this.env.mirror;
    const framing = this.framingOf(head);
    if (mirror !== null && this.role === 'server' && this.conn.peerConnId !== undefined && this.handOver(mirror, head, framing, tsNs, resynced)) {
      // The client end of this call is captured too and makes the record (decided here, when
      // both ends have surely been seen: the response follows the request on both).
      this.inert = true;
      return;
    }
    this.head = { status: head.status };
    this.rateLimit = rateLimitInfo(head.headers);
    this.requestId = providerRequestId(head.headers);
    this.responseStart = tsNs;
    if (resynced) this.partial.add('resynced');
    this.framing = framing;
    if (this.st.provider === 'openai_compatible') {
      for (const k of head.headers.names?.() ?? head.headers.raw.keys()) {
        if (k.startsWith('x-litellm-')) {
          this.st.provider = 'litellm';
          break;
        }
        if (k === 'x-compute-type' || k === 'x-compute-time') {
          this.st.provider = 'tgi';
          break;
        }
      }
    }
    const onPayload = (event: string | null, data: string, ts: number): void => this.onPayload(event, data, ts);
    if (this.mayMirror && this.milestones === null && this.conn.peerConnId !== undefined) this.trackMilestones();
    const m = this.milestones;
    if (m !== null) {
      if (resynced) this.milestones = null;
      else m.respStart = this.positions!.messageStart('ingress');
    }
    if (this.framing === 'sse') {
      this.sse = new SseParser((data, event, ts) => this.onPayload(event, data, ts), { maxEventBytes: this.env.limits.maxEventBytes }, this.env.stream);
      this.sse.fastEvent = (s, pos, ts) => this.onFastSseEvent(s, pos, ts);
      if (this.milestones !== null) {
        this.sse.trackEventEnds(MAX_TRACKED_EVENTS);
        this.milestones.eventEnds = this.sse.eventEnds;
      }
    } else if (this.framing === 'jsonarray') {
      this.arr = new JsonArraySplitter((el, ts) => onPayload(null, el, ts), this.env.limits.maxEventBytes, this.env.stream);
    } else if (this.framing === 'ndjson') {
      this.nd = new NdjsonSplitter((line, ts) => onPayload(null, line, ts), this.env.limits.maxEventBytes, this.env.stream);
    } else {
      const cap = head.status >= 400 ? Math.min(this.env.limits.maxResponseBodyBytes, 64 * 1024) : this.env.limits.maxResponseBodyBytes;
      this.body = new CappedBytes(cap);
    }
  }

  private framingOf(head: ResponseHead): Framing {
    const ct = (head.headers.get('content-type') ?? '').toLowerCase();
    if (ct.includes('text/event-stream')) return 'sse';
    if (ct.includes('ndjson') || ct.includes('jsonl') || (this.route.adapterName === 'ollama' && this.st.requestedStream && head.status < 300 && !ct.includes('json'))) return 'ndjson';
    if (this.route.adapterName === 'gemini' && this.route.pathStream && head.status < 300 && ct.includes('json')) return 'jsonarray';
    return 'json';
  }

  /** A server end whose client end is captured too: stop following it (skip), or hand over (derive). */
  private handOver(mirror: MirrorHooks, head: ResponseHead, framing: Framing, tsNs: number, resynced: boolean): boolean {
    if (mirror.mode === 'skip') {
      this.env.counters.mirroredServerSkipped++;
      // the connection's ends stay paired for its life: the rest of it need not be parsed either
      mirror.dropServerEnd(this.conn);
      return true;
    }
    if (mirror.mode !== 'derive') return false;
    const declined = mirror.counters.declined;
    if (resynced || this.partial.size > 0 || this.positions === null) {
      declined.incomplete++;
      return false;
    }
    // Only framings whose events the client end locates in the byte stream: SSE or one whole
    // body, not compressed (decoded pieces are not stream bytes); NDJSON and JSON arrays are
    // parsed here.
    const enc = head.headers.get('content-encoding');
    if ((enc !== undefined && enc.trim().toLowerCase() !== 'identity') || (framing !== 'sse' && framing !== 'json')) {
      declined.framing++;
      return false;
    }
    const anchor: MirrorAnchor = {
      reqStart: this.reqStartOffset,
      reqEnd: this.reqEndOffset,
      respStart: this.positions.messageStart('egress'),
      requestStartNs: this.startNs,
      requestEndNs: this.requestEnd,
      responseStartNs: tsNs,
    };
    if (!Number.isFinite(anchor.reqStart) || !Number.isFinite(anchor.reqEnd) || !Number.isFinite(anchor.respStart)) {
      declined.incomplete++;
      return false;
    }
    return mirror.adopt(this.conn, anchor);
  }

  /** A whole SSE event at `pos` of the piece, if it has the learned content shape. */
  private onFastSseEvent(s: string, pos: number, ts: number): number {
    const tpl = this.template;
    if (tpl === null || s.length - pos < tpl.minSseEventLength) return -1;
    const tally = this.st.completion;
    if (tpl.readKeys === null && (!tpl.keep || !tally.wantsText)) {
      // The text's characters are not needed (usage will come, or it is reasoning): only
      // whether the event has the shape and a non-empty text.
      const end = tpl.testSseEvent(s, pos);
      if (end < 0) return -1;
      this.events++;
      if (tpl.keep) tally.sawSome();
      this.countChunk(ChunkKind.Content, ts);
      return end;
    }
    const text = tpl.matchSseEvent(s, pos);
    if (text === null) return -1;
    this.events++;
    this.takeMatched(tpl, text);
    this.countChunk(ChunkKind.Content, ts);
    return tpl.sseEventEnd;
  }

  /** What a chunk a template matched changes: the text, and the numbers the adapter reads. */
  private takeMatched(tpl: ContentTemplate, text: string): void {
    if (tpl.keep) this.st.completion.add(text);
    // learning a shape with numbers required onTemplateNumbers (onPayload)
    if (tpl.readKeys !== null) this.route.adapter.onTemplateNumbers!(tpl.readKeys, tpl.numbers, this.st);
  }

  private onPayload(event: string | null, data: string, ts: number): void {
    this.events++;
    const st = this.st;
    let kind: ChunkKind;
    let tpl = this.template;
    if (tpl === null && this.borrowMisses < 2 && this.route.adapter.templatesReady?.(st) === true) {
      // the first content chunk of a stream whose shape another call already taught
      const found = ContentTemplate.recentFor(data, event, this.route.adapter.skipKeys ?? NO_KEYS, st.provider);
      if (found === null) this.borrowMisses++;
      tpl = this.template = found ?? null;
    }
    const text = tpl !== null && event === tpl.event ? tpl.match(data) : null;
    if (text !== null) {
      // Same shape as a content chunk the adapter already read: only the text (and read numbers) differ.
      this.takeMatched(tpl!, text);
      kind = ChunkKind.Content;
    } else {
      st.contentShape = null;
      try {
        kind = this.route.adapter.onStreamPayload(event, data, st);
      } catch (err) {
        this.env.counters.internalErrors++;
        this.env.counters.lastInternalError = `adapter ${this.route.adapterName}: ${(err as Error).message}`;
        return;
      }
      // (the adapter may have set it: TypeScript's narrowing to null above does not know that)
      const shape = st.contentShape as ContentShape | null;
      // a shape with numbers needs the adapter's onTemplateNumbers to hand them back to
      if (shape !== null && kind === ChunkKind.Content && this.learned < MAX_TEMPLATES_PER_CALL && (shape.numbers === undefined || this.route.adapter.onTemplateNumbers !== undefined)) {
        this.learned++;
        this.template = ContentTemplate.forChunk(data, event, shape, this.route.adapter.skipKeys ?? NO_KEYS, st.provider) ?? this.template;
      }
    }
    this.countChunk(kind, ts);
  }

  private countChunk(kind: ChunkKind, ts: number): void {
    if (kind === ChunkKind.Ignore) return;
    this.chunks++;
    const m = this.milestones;
    if (this.firstChunk === null) {
      this.firstChunk = ts;
      if (m !== null) m.firstChunkEvent = this.events - 1;
    }
    if (kind === ChunkKind.Content) {
      this.contentChunks++;
      if (this.firstToken === null) this.firstToken = ts;
      this.gaps.mark(ts);
      if (m !== null && m.contentEvents.length < MAX_TRACKED_EVENTS) (m.contentEvents as number[]).push(this.events - 1);
    }
  }

  onResponseBody(buf: Buffer, start: number, end: number, tsNs: number): void {
    if (this.inert) return;
    this.lastBodyTs = tsNs;
    if (this.sse) this.sse.push(buf, tsNs, start, end, this.milestones === null ? 0 : this.positions!.base('ingress') + start);
    else if (this.nd) this.nd.push(buf, tsNs, start, end);
    else if (this.arr) this.arr.push(buf, tsNs, start, end);
    else this.body?.append(buf, start, end);
  }

  onResponseGap(): void {
    if (this.inert) return;
    this.partial.add('response_gap');
    this.sse?.gap();
    this.nd?.gap();
    this.arr?.gap();
    if (this.body) this.bodyBroken = true;
  }

  onResponseEnd(tsNs: number): void {
    if (this.inert) return;
    this.responseEnd = tsNs;
    if (this.milestones !== null) this.milestones.respEnd = this.positions!.messageEnd('ingress');
    this.sse?.end();
    this.nd?.end(tsNs);
    this.readWholeBody();
  }

  private readWholeBody(): void {
    const b = this.body;
    if (!b || !this.head) return;
    this.body = null;
    if (b.truncated) {
      this.env.counters.responseBodiesTruncated++;
      this.partial.add('response_body_truncated');
      return;
    }
    if (this.bodyBroken || b.length === 0) return;
    let json: unknown;
    try {
      json = JSON.parse(b.view().toString('utf8'));
    } catch {
      this.env.counters.badJsonPayloads++;
      return;
    }
    if (this.head.status >= 400) this.httpErrorBody = extractProviderError(json);
    else {
      try {
        this.route.adapter.onBody(json, this.st);
      } catch (err) {
        this.env.counters.internalErrors++;
        this.env.counters.lastInternalError = `adapter ${this.route.adapterName}: ${(err as Error).message}`;
      }
    }
  }

  onFinish(f: ExchangeFinish): void {
    if (this.done) return;
    this.done = true;
    if (this.route.recognised && !this.route.recognised()) {
      // a response without its request whose payloads were not LLM-shaped: not ours
      this.env.counters.ignoredRequests++;
      return;
    }
    if (this.inert) return;
    if (this.responseEnd === null) {
      // The response did not end normally: flush what the parsers hold, then classify.
      this.nd?.end(f.tsNs);
      if (this.body) {
        this.partial.add('response_incomplete');
        this.body = null;
      }
      switch (f.cause) {
        case 'desync':
          this.partial.add('desync');
          break;
        case 'response_lost':
          this.partial.add('response_lost');
          break;
        case 'flush':
          this.partial.add('flushed');
          break;
        default:
          break;
      }
    }
    const record = this.build(f);
    this.env.counters.llmCalls++;
    if (record.partial) this.env.counters.partialCalls++;
    if (record['error.type'] !== null) this.env.counters.errorsByType[record['error.type']] = (this.env.counters.errorsByType[record['error.type']] ?? 0) + 1;
    this.emit(record);
    if (this.milestones !== null && Number.isFinite(this.milestones.respStart)) this.env.mirror!.clientFinished(this.conn, record, this.milestones);
  }

  private classify(f: ExchangeFinish): { type: ErrorType | null; code: string | null; source: 'http' | 'stream' | 'transport' | null; streamClass: ErrorType | null } {
    const st = this.st;
    const status = this.head?.status ?? null;
    const streaming = this.framing !== 'json';
    if (status !== null && status >= 400) {
      const info = this.httpErrorBody ?? st.streamError;
      return { type: classifyError(status, info), code: info?.code ?? String(status), source: 'http', streamClass: null };
    }
    if (st.streamError !== null) {
      const inner = classifyError(null, st.streamError);
      if (streaming) return { type: 'stream_error', code: st.streamError.code, source: 'stream', streamClass: inner };
      return { type: inner, code: st.streamError.code, source: 'http', streamClass: null };
    }
    if (st.contentBlocked) return { type: 'content_filter', code: st.finishReasons[0] ?? null, source: 'http', streamClass: null };
    const side = this.role;
    if (this.responseEnd === null && f.cause === 'connection_closed') {
      const r = f.closeReason;
      if (r === 'refused') return { type: 'connection_refused', code: r, source: 'transport', streamClass: null };
      if (r === 'timeout') return { type: 'timeout', code: r, source: 'transport', streamClass: null };
      // Who closed first, seen from the observed process: for a client, a local close/RST is
      // the client giving up; for a server, the peer (client) going away is.
      const clientGaveUp = side === 'client' ? r === 'local_close' || r === 'reset_sent' : r === 'remote_close' || r === 'reset_received';
      if (clientGaveUp) {
        // An SDK that gives up after its read timeout (x-stainless-read-timeout) timed out: it did not cancel.
        const idleFrom = this.lastBodyTs >= 0 ? this.lastBodyTs : (this.responseStart ?? this.requestEnd);
        const limit = this.req.readTimeoutS;
        if (limit !== null && idleFrom !== null && (f.tsNs - idleFrom) / 1e9 >= limit * 0.95)
          return { type: 'timeout', code: 'read_timeout', source: 'transport', streamClass: null };
        return { type: 'client_cancelled', code: r, source: 'transport', streamClass: null };
      }
      // The server side ended it: an RST is connection_reset; a FIN (or an unattributed close)
      // before the response finished is stream_interrupted, unless the stream already ended.
      const serverReset = side === 'client' ? r === 'reset_received' : r === 'reset_sent';
      if (serverReset) return { type: 'connection_reset', code: r, source: 'transport', streamClass: null };
      if (streaming && st.terminal) return { type: null, code: null, source: null, streamClass: null };
      return { type: 'stream_interrupted', code: r, source: 'transport', streamClass: null };
    }
    if (this.responseEnd !== null && streaming && !st.terminal && !this.partial.has('response_gap') && status !== null && status < 300) {
      // The body ended cleanly but the stream never sent its terminal marker.
      return { type: 'stream_interrupted', code: 'no_terminal_event', source: 'stream', streamClass: null };
    }
    return { type: null, code: null, source: null, streamClass: null };
  }

  private build(f: ExchangeFinish): LlmCallRecord {
    const st = this.st;
    const req = this.req;
    const err = this.classify(f);
    const streaming = this.framing !== 'json';
    const isStream = st.requestedStream || (this.head !== null && streaming);
    let responseEnd = this.responseEnd;
    if (responseEnd === null && f.cause === 'connection_closed') responseEnd = f.tsNs;
    if (responseEnd === null && this.lastBodyTs >= 0) responseEnd = this.lastBodyTs;

    // Tokens: provider usage first; otherwise a tokenizer estimate for successful calls.
    let input: number | null = null;
    let output: number | null = null;
    let tokensSource: 'usage' | 'estimated' | null = null;
    if (st.usageSeen) {
      input = st.usage.input;
      output = st.usage.output;
      tokensSource = 'usage';
    } else if (this.env.estimate !== null && err.type === null && this.head !== null && this.head.status < 300) {
      if (st.prompt.sawText) input = st.prompt.total();
      if (st.operation !== 'embeddings' && (st.completion.sawText || st.terminal)) output = st.completion.total();
      if (input !== null || output !== null) tokensSource = 'estimated';
    }
    const rs = this.startNs;
    const re = this.requestEnd;
    const firstChunk = isStream ? this.firstChunk : null;
    const firstToken = isStream ? this.firstToken : null;
    const t = callTimings({ request_start: rs, request_end: re, first_chunk: firstChunk, first_token: firstToken, response_end: responseEnd }, isStream, output, st.operation === 'embeddings');
    if (!this.requestComplete && !this.partial.has('request_incomplete')) this.partial.add('request_incomplete');
    if (this.head === null && f.cause !== 'connection_closed') this.partial.add('no_response');
    const partialReasons = [...this.partial].sort();
    const rec: LlmCallRecord = {
      schema: LLM_CALL_SCHEMA,
      time: rfc3339(this.env.clock(rs)),
      'gen_ai.operation.name': st.operation,
      'gen_ai.provider.name': st.provider,
      'gen_ai.request.model': st.requestModel,
      'gen_ai.response.model': st.responseModel,
      'gen_ai.response.id': st.responseId,
      'gen_ai.response.finish_reasons': st.finishReasons,
      'server.address': req.address,
      'server.port': req.port,
      'http.request.method': req.method,
      'url.path': req.path,
      'http.request.resend_count': req.resendCount,
      stream: isStream,
      'http.response.status_code': this.head?.status ?? null,
      'error.type': err.type,
      'error.provider_code': err.code,
      'error.source': err.source,
      'error.stream_class': err.streamClass,
      ttft_s: t.ttft_s,
      ttfc_s: t.ttfc_s,
      duration_s: t.duration_s,
      tpot_s: t.tpot_s,
      output_tokens_per_s: t.output_tokens_per_s,
      inter_chunk_gap_s: isStream ? this.gaps.summary() : null,
      chunks: this.chunks,
      content_chunks: this.contentChunks,
      'gen_ai.usage.input_tokens': input,
      'gen_ai.usage.output_tokens': output,
      'gen_ai.usage.cache_read.input_tokens': tokensSource === 'usage' ? st.usage.cacheRead : null,
      'gen_ai.usage.cache_creation.input_tokens': tokensSource === 'usage' ? st.usage.cacheCreation : null,
      'gen_ai.usage.reasoning.output_tokens': tokensSource === 'usage' ? st.usage.reasoning : null,
      tokens_source: tokensSource,
      embeddings_count: st.vectors,
      rate_limit: this.rateLimit,
      provider_request_id: this.requestId,
      trace_id: req.traceId,
      span_id: req.spanId,
      capture: this.conn.tls ? 'tls' : 'plain',
      process: { pid: this.conn.pid, comm: this.env.resolveComm(this.conn.pid) },
      cgroup_id: this.conn.cgroupId,
      conn_id: this.conn.connId,
      observed_side: this.role,
      partial: partialReasons.length > 0,
      partial_reasons: partialReasons,
      timestamps_ns: {
        request_start: rs,
        request_end: re,
        response_start: this.responseStart,
        first_chunk: firstChunk,
        first_token: firstToken,
        response_end: responseEnd,
      },
    };
    if (this.env.excerpts !== null) {
      const n = this.env.excerpts.maxChars;
      rec.excerpts = {
        prompt: st.prompt.sawText ? redact(st.prompt.head(n * 2), n) : null,
        completion: st.completion.sawText ? redact(st.completion.head(n * 2), n) : null,
      };
    }
    return rec;
  }
}
