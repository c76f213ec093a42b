// One observed TCP connection speaking HTTP/1.1: two Http1Parsers (one per direction), role
// detection (client or server side of the connection, from which direction carries requests),
// request/response pairing on keep-alive and pipelined connections, interim 1xx responses,
// upgrades/CONNECT tunnels, content decoding of response bodies, and the end of every
// exchange with a clear cause. Exchanges are handed to an observer that may ignore them.
import type { CloseReason, ConnectionInfo, DataChunk, Direction } from '../capture/stream.ts';
import { BodyDecoder, parseContentEncoding } from './decompress.ts';
import type { DecoderLimits } from './decompress.ts';
import { defaultBodyMode, Http1Parser } from './http1.ts';
import type { AbortWhy, BodyMode, Http1Counters, Http1Hooks, Http1Limits, MessageHead, MessageKind, RequestHead, ResponseHead } from './http1.ts';

export type ConnRole = 'client' | 'server';

/**
 * Where a connection's parsers are in each direction's byte stream (lost bytes counted): see
 * Http1Parser. NaN when unknown (no parser yet, or a head found by resynchronising).
 */
export interface StreamPositions {
  /** Offset of byte 0 of the buffer being parsed (body pieces handed over are views of it). */
  base(dir: Direction): number;
  /** Where the current (or last) message's head began. */
  messageStart(dir: Direction): number;
  /** Just past the last finished message. */
  messageEnd(dir: Direction): number;
}

export interface ExchangeContext {
  conn: ConnectionInfo;
  role: ConnRole;
  request: RequestHead;
  requestStartNs: number;
  /** The request head was found by resynchronising after lost bytes. */
  resynced: boolean;
  positions?: StreamPositions;
}

export type FinishCause =
  | 'complete' // response finished normally
  | 'connection_closed' // connection ended before the response finished
  | 'desync' // bytes were lost and the response could not be followed to its end
  | 'response_lost' // a later response was paired instead (lost bytes) or queue overflow
  | 'flush'; // agent shutdown / end of replay

export interface ExchangeFinish {
  cause: FinishCause;
  tsNs: number;
  closeReason: CloseReason | null;
}

/** Receives one exchange's happenings. Body pieces are de-chunked and decoded. */
export interface ExchangeHandler {
  /**
   * False when the handler never reads the response body: it is then framed (for timing and
   * message boundaries) but not decoded or handed over. Default true.
   */
  readonly wantsResponseBody?: boolean;
  /** Body pieces are views `buf[start, end)`, valid only during the call. */
  onRequestBody(buf: Buffer, start: number, end: number, tsNs: number): void;
  onRequestGap(bytes: number): void;
  onRequestEnd(tsNs: number, complete: boolean): void;
  onInterimResponse(head: ResponseHead, tsNs: number): void;
  onResponseHead(head: ResponseHead, tsNs: number, resynced: boolean): void;
  onResponseBody(buf: Buffer, start: number, end: number, tsNs: number): void;
  /** Bytes of the response body were lost (or could not be decoded). */
  onResponseGap(bytes: number): void;
  onResponseEnd(tsNs: number): void;
  /** Called exactly once, last. */
  onFinish(f: ExchangeFinish): void;
}

export interface OrphanContext {
  conn: ConnectionInfo;
  role: ConnRole;
  response: ResponseHead;
  responseStartNs: number;
}

export interface HttpObserver {
  /** A request head was seen; return a handler to follow it, or null to ignore its bodies. */
  onRequest(ctx: ExchangeContext): ExchangeHandler | null;
  /**
   * A final response arrived whose request was never seen (capture started mid-connection, or
   * the request was lost). Optional; return a handler to follow it anyway, or null.
   */
  onOrphanResponse?(ctx: OrphanContext): ExchangeHandler | null;
}

export interface HttpConnCounters extends Http1Counters {
  exchanges: number;
  unpairedResponses: number;
  responsesLost: number;
  tunnels: number;
  nonHttpConnections: number;
  undecodableBodies: number;
}

export function newHttpConnCounters(): HttpConnCounters {
  return {
    messages: 0,
    resyncs: 0,
    resyncBytesSkipped: 0,
    headTooLarge: 0,
    badHeads: 0,
    bodyGapBytes: 0,
    exchanges: 0,
    unpairedResponses: 0,
    responsesLost: 0,
    tunnels: 0,
    nonHttpConnections: 0,
    undecodableBodies: 0,
  };
}

export interface HttpConnLimits extends Http1Limits, DecoderLimits {
  /** Bytes a connection may carry before its first HTTP message is recognised (else: not HTTP). */
  maxPreHttpBytes: number;
  /** Requests waiting for their response on one connection (pipelining depth). */
  maxPendingExchanges: number;
}

interface Exchange {
  handler: ExchangeHandler | null;
  method: string;
  startNs: number;
  requestDone: boolean;
  responseStarted: boolean;
  responseDone: boolean;
  decoder: BodyDecoder | null;
  /** The handler itself when the body is not encoded (identity): pieces go straight to it. */
  plainBody: ExchangeHandler | null;
  finished: boolean;
}

const METHOD_START = /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|CONNECT|TRACE) /;
const METHOD_PREFIXES = ['GET ', 'POST ', 'PUT ', 'DELETE ', 'PATCH ', 'HEAD ', 'OPTIONS ', 'CONNECT ', 'TRACE '];
const HTTP_PREFIX = 'HTTP/1.';

function looksLikeMessageStart(u8: Uint8Array): 'http' | 'other' | 'resync' | 'wait' {
  if (u8.length === 0) return 'wait';
  const b0 = u8[0]!;
  // TLS record (handshake/app data/alert) on a plain socket: not ours to parse.
  if ((b0 === 0x16 || b0 === 0x17 || b0 === 0x15) && u8.length >= 3 && u8[1] === 0x03 && u8[2]! <= 0x04) return 'other';
  const head = Buffer.from(u8.buffer, u8.byteOffset, Math.min(u8.length, 24)).toString('latin1');
  if (head.startsWith('PRI * HTTP/2.0')) return 'other';
  if (head.startsWith('HTTP/1.')) return 'http';
  if (METHOD_START.test(head)) return 'http';
  // Too short to tell: a prefix of a status line or of "METHOD ".
  if (head.length < 8 && (HTTP_PREFIX.startsWith(head) || METHOD_PREFIXES.some((m) => m.startsWith(head)))) return 'wait';
  return 'resync';
}

/** NUL bytes never occur in HTTP heads, SSE or JSON; binary protocols are full of them. */
function looksBinary(u8: Uint8Array): boolean {
  const n = Math.min(u8.length, 256);
  for (let i = 0; i < n; i++) if (u8[i] === 0) return true;
  return false;
}

export class HttpConnection implements StreamPositions {
  role: ConnRole | null = null;
  private readonly parsers: Record<Direction, Http1Parser | null> = { egress: null, ingress: null };
  private readonly waiting: Record<Direction, Buffer | null> = { egress: null, ingress: null };
  private waitingTs: Record<Direction, number> = { egress: 0, ingress: 0 };
  private readonly queue: Exchange[] = [];
  /** Exchange whose request is currently being parsed. */
  private reqCur: Exchange | null = null;
  /** Exchange whose response is currently being parsed. */
  private respCur: Exchange | null = null;
  private nonHttp = false;
  private lastTs = 0;
  /** Bytes seen before any HTTP message was recognised on this connection. */
  private preHttpBytes = 0;
  private closed = false;

  constructor(
    readonly info: ConnectionInfo,
    private readonly observer: HttpObserver,
    private readonly limits: HttpConnLimits,
    private readonly counters: HttpConnCounters,
  ) {}

  base(dir: Direction): number {
    return (dir === 'egress' ? this.parsers.egress : this.parsers.ingress)?.base ?? NaN;
  }

  messageStart(dir: Direction): number {
    return (dir === 'egress' ? this.parsers.egress : this.parsers.ingress)?.messageStart ?? NaN;
  }

  messageEnd(dir: Direction): number {
    return (dir === 'egress' ? this.parsers.egress : this.parsers.ingress)?.messageEnd ?? NaN;
  }

  get openExchanges(): number {
    return this.queue.length;
  }

  get bufferedBytes(): number {
    let n = 0;
    for (const d of ['egress', 'ingress'] as const) {
      n += this.parsers[d]?.bufferedBytes ?? 0;
      n += this.waiting[d]?.length ?? 0;
    }
    for (const ex of this.queue) n += ex.decoder?.bufferedBytes ?? 0;
    return n;
  }

  onData(ch: DataChunk): void {
    if (this.nonHttp || this.closed) return;
    this.lastTs = ch.tsNs;
    if (this.role === null && looksBinary(ch.bytes)) {
      // A connection that shows no HTTP message start and carries binary data is another
      // protocol (a database, gRPC, Kafka): stop scanning it after a bounded amount. Text
      // (an SSE stream joined mid-way, RESP) is never given up: HTTP may still follow.
      this.preHttpBytes += ch.bytes.length + ch.missingAfter;
      if (this.preHttpBytes > this.limits.maxPreHttpBytes) {
        this.nonHttp = true;
        this.counters.nonHttpConnections++;
        this.parsers.egress = this.parsers.ingress = null;
        this.waiting.egress = this.waiting.ingress = null;
        return;
      }
    }
    const dir = ch.direction;
    // named loads, not a keyed load by a string variable (this runs per captured read)
    let parser = dir === 'egress' ? this.parsers.egress : this.parsers.ingress;
    if (parser === null) {
      let bytes: Uint8Array = ch.bytes;
      const w = this.waiting[dir];
      if (w !== null) bytes = Buffer.concat([w, ch.bytes]);
      const verdict = looksLikeMessageStart(bytes);
      if (verdict === 'wait' && ch.missingAfter === 0) {
        if (w === null) this.waitingTs[dir] = ch.tsNs;
        this.waiting[dir] = Buffer.from(bytes);
        return;
      }
      if (verdict === 'other') {
        this.nonHttp = true;
        this.counters.nonHttpConnections++;
        this.waiting.egress = this.waiting.ingress = null;
        return;
      }
      const other = this.parsers[dir === 'egress' ? 'ingress' : 'egress'];
      const kind: MessageKind | null = other?.messageKind ? (other.messageKind === 'request' ? 'response' : 'request') : null;
      parser = new Http1Parser(kind, this.hooksFor(dir), this.limits, this.counters, verdict === 'resync');
      this.parsers[dir] = parser;
      if (w !== null) {
        this.waiting[dir] = null;
        parser.push(w, this.waitingTs[dir], 0);
        parser.push(ch.bytes, ch.tsNs, ch.missingAfter);
        return;
      }
    }
    parser.push(ch.bytes, ch.tsNs, ch.missingAfter);
  }

  onClose(reason: CloseReason, ts: number): void {
    if (this.closed) return;
    this.closed = true;
    this.parsers.egress?.end(ts);
    this.parsers.ingress?.end(ts);
    this.finishAll('connection_closed', ts, reason);
  }

  flush(ts: number): void {
    this.finishAll('flush', ts, null);
  }

  private finishAll(cause: FinishCause, ts: number, reason: CloseReason | null): void {
    while (this.queue.length > 0) this.finish(this.queue[0]!, cause, ts, reason);
    this.reqCur = null;
    this.respCur = null;
  }

  private finish(ex: Exchange, cause: FinishCause, ts: number, reason: CloseReason | null): void {
    if (ex.finished) return;
    ex.finished = true;
    const i = this.queue.indexOf(ex);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.reqCur === ex) this.reqCur = null;
    if (this.respCur === ex) this.respCur = null;
    if (ex.decoder && !ex.responseDone) ex.decoder.end(ts);
    ex.handler?.onFinish({ cause, tsNs: ts, closeReason: reason });
  }

  private learnKind(dir: Direction, kind: MessageKind): void {
    const otherDir: Direction = dir === 'egress' ? 'ingress' : 'egress';
    this.parsers[otherDir]?.setKind(kind === 'request' ? 'response' : 'request');
    if (this.role === null) this.role = (dir === 'egress') === (kind === 'request') ? 'client' : 'server';
  }

  private hooksFor(dir: Direction): Http1Hooks {
    // One hooks object per direction; it dispatches on the kind the parser has learned.
    const self = this;
    // Cached: asked for every body piece (the parser's kind only ever changes from null once).
    let kind: MessageKind | null = null;
    const parserKind = (): MessageKind | null => (kind ??= self.parsers[dir]?.messageKind ?? null);
    return {
      onKind(k) {
        kind = k;
        self.learnKind(dir, k);
      },
      bodyModeFor(head: MessageHead): BodyMode {
        return head.kind === 'request' ? defaultBodyMode(head) : self.responseBodyMode(head);
      },
      onHead(head, ts, resynced) {
        if (head.kind === 'request') self.onRequestHead(head, ts, resynced);
        else self.onResponseHead(head, ts, resynced);
      },
      onBody(buf, start, end, ts) {
        if (parserKind() === 'request') self.reqCur?.handler?.onRequestBody(buf, start, end, ts);
        else {
          const ex = self.respCur;
          if (ex === null) return;
          if (ex.plainBody !== null) ex.plainBody.onResponseBody(buf, start, end, ts);
          else if (ex.decoder !== null) ex.decoder.push(buf, start, end, ts);
        }
      },
      onBodyGap(n) {
        if (parserKind() === 'request') self.reqCur?.handler?.onRequestGap(n);
        else {
          const ex = self.respCur;
          if (ex) {
            ex.decoder?.gap();
            ex.handler?.onResponseGap(n);
          }
        }
      },
      onEnd(ts) {
        if (parserKind() === 'request') {
          const ex = self.reqCur;
          if (ex) {
            ex.requestDone = true;
            self.reqCur = null;
            ex.handler?.onRequestEnd(ts, true);
          }
        } else self.onResponseEnd(ts);
      },
      onAbort(why: AbortWhy) {
        if (parserKind() === 'request') {
          const ex = self.reqCur;
          if (ex) {
            self.reqCur = null;
            ex.handler?.onRequestEnd(ex.startNs, false);
          }
        } else {
          const ex = self.respCur;
          if (ex && why !== 'closed') {
            ex.handler?.onResponseGap(0);
            self.finish(ex, 'desync', self.lastTs, null);
          }
        }
      },
    };
  }


  private responseBodyMode(head: ResponseHead): BodyMode {
    // onResponseHead ran just before this and made the paired exchange current.
    const ex = this.respCur;
    if (head.status >= 100 && head.status < 200) {
      if (head.status === 101) {
        this.counters.tunnels++;
        return { type: 'tunnel' };
      }
      return { type: 'none' };
    }
    if (ex?.method === 'HEAD' || head.status === 204 || head.status === 304) return { type: 'none' };
    if (ex?.method === 'CONNECT' && head.status >= 200 && head.status < 300) {
      this.counters.tunnels++;
      return { type: 'tunnel' };
    }
    return defaultBodyMode(head);
  }

  private onRequestHead(head: RequestHead, ts: number, resynced: boolean): void {
    if (this.reqCur && !this.reqCur.requestDone) this.reqCur.handler?.onRequestEnd(this.reqCur.startNs, false);
    const ex: Exchange = {
      handler: null,
      method: head.method,
      startNs: ts,
      requestDone: false,
      responseStarted: false,
      responseDone: false,
      decoder: null,
      plainBody: null,
      finished: false,
    };
    this.counters.exchanges++;
    while (this.queue.length >= this.limits.maxPendingExchanges) {
      this.counters.responsesLost++;
      this.finish(this.queue[0]!, 'response_lost', ts, null);
    }
    this.queue.push(ex);
    this.reqCur = ex;
    ex.handler = this.observer.onRequest({ conn: this.info, role: this.role ?? 'client', request: head, requestStartNs: ts, resynced, positions: this });
  }

  private onResponseHead(head: ResponseHead, ts: number, resynced: boolean): void {
    let ex = this.queue.find((e) => !e.responseStarted) ?? null;
    if (resynced && ex) {
      // Bytes were lost in this direction: whole responses may have gone with them. Pair with
      // the newest request that started before this response; older ones lost their response.
      const candidates = this.queue.filter((e) => !e.responseStarted && e.startNs <= ts);
      const newest = candidates[candidates.length - 1] ?? ex;
      for (const e of candidates) {
        if (e === newest) break;
        this.counters.responsesLost++;
        this.finish(e, 'response_lost', ts, null);
      }
      ex = newest;
    }
    if (ex === null) {
      this.counters.unpairedResponses++;
      const h = head.status >= 200 ? (this.observer.onOrphanResponse?.({ conn: this.info, role: this.role ?? 'client', response: head, responseStartNs: ts }) ?? null) : null;
      if (h === null) {
        this.respCur = null;
        return;
      }
      ex = { handler: h, method: '', startNs: ts, requestDone: true, responseStarted: false, responseDone: false, decoder: null, plainBody: null, finished: false };
      this.queue.push(ex);
    }
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      ex.handler?.onInterimResponse(head, ts);
      this.respCur = null;
      return;
    }
    ex.responseStarted = true;
    this.respCur = ex;
    if (ex.handler?.wantsResponseBody === false) {
      ex.handler.onResponseHead(head, ts, resynced);
    } else if (ex.handler) {
      const handler = ex.handler;
      const ct = head.headers.get('content-type') ?? '';
      const incremental = /event-stream|ndjson|jsonl|stream/i.test(ct);
      const enc = parseContentEncoding(head.headers.get('content-encoding'));
      if (enc === null) {
        // a decoder that only keeps the failure: the body's pieces are dropped
        ex.decoder = new BodyDecoder('identity', incremental, this.limits, () => {});
        ex.decoder.failure = 'unsupported_encoding';
        this.counters.undecodableBodies++;
        handler.onResponseHead(head, ts, resynced);
        handler.onResponseGap(0);
        return;
      }
      // identity (nearly every LLM stream): no decoder in the way of every piece
      if (enc === 'identity') ex.plainBody = handler;
      else ex.decoder = new BodyDecoder(enc, incremental, this.limits, (b, s, e, t) => handler.onResponseBody(b, s, e, t));
      handler.onResponseHead(head, ts, resynced);
    }
    if (head.status === 101) {
      this.parsers.egress?.toTunnel();
      this.parsers.ingress?.toTunnel();
    }
  }

  private onResponseEnd(ts: number): void {
    const ex = this.respCur;
    if (ex === null) return;
    this.respCur = null;
    if (ex.decoder) {
      ex.decoder.end(ts);
      if (ex.decoder.failure !== null && ex.decoder.failure !== 'gap') {
        this.counters.undecodableBodies++;
        ex.handler?.onResponseGap(0);
      }
    }
    ex.responseDone = true;
    ex.handler?.onResponseEnd(ts);
    this.finish(ex, 'complete', ts, null);
  }
}
