// Incremental HTTP/1.1 message framing for ONE direction of one connection.
//
// It turns a sequence of (bytes, kernel ts, missing-bytes) pieces into message heads, body
// pieces (de-chunked, each with the ts of the capture chunk it arrived in) and message ends
// with the ts of their last byte. It never throws on bad input: a parse error or a capture gap
// it cannot account for sends it into RESYNC, where it scans for the next plausible message
// start (a request line or a status line) and marks what it lost.
import { asBuffer, concat2, CR, LF } from './bytes.ts';

export type MessageKind = 'request' | 'response';

export interface Headers {
  /** Lower-case name -> value (repeated fields joined with ", "). */
  get(name: string): string | undefined;
  readonly raw: ReadonlyMap<string, string>;
  /** The lower-case field names, without building `raw`. */
  names?(): readonly string[];
}

export interface RequestHead {
  kind: 'request';
  method: string;
  target: string;
  version: string;
  headers: Headers;
}

export interface ResponseHead {
  kind: 'response';
  status: number;
  reason: string;
  version: string;
  headers: Headers;
}

export type MessageHead = RequestHead | ResponseHead;

export type BodyMode =
  | { type: 'none' }
  | { type: 'length'; length: number }
  | { type: 'chunked' }
  | { type: 'close' }
  /** Everything after this head is another protocol (101 upgrade, CONNECT): pass it over. */
  | { type: 'tunnel' };

export interface Http1Hooks {
  /** The parser learned which kind of messages this direction carries. */
  onKind(kind: MessageKind): void;
  bodyModeFor(head: MessageHead): BodyMode;
  onHead(head: MessageHead, tsFirst: number, resynced: boolean): void;
  /** A body piece: `buf[start, end)` (a view, not a copy: consume it before returning). */
  onBody(buf: Buffer, start: number, end: number, ts: number): void;
  /** `n` body bytes were not captured; framing is still known. */
  onBodyGap(n: number): void;
  onEnd(tsLast: number): void;
  /** The message in progress cannot be finished (desync, connection end). */
  onAbort(why: AbortWhy): void;
}

export type AbortWhy = 'desync' | 'closed' | 'head_too_large' | 'bad_head';

export interface Http1Limits {
  /** Max bytes in one header block (request/status line + headers). */
  maxHeadBytes: number;
  /** Bytes kept between chunks while searching for a message start. */
  resyncCarryBytes: number;
}

export const DEFAULT_HTTP1_LIMITS: Http1Limits = { maxHeadBytes: 64 * 1024, resyncCarryBytes: 4096 };

export interface Http1Counters {
  messages: number;
  resyncs: number;
  resyncBytesSkipped: number;
  headTooLarge: number;
  badHeads: number;
  bodyGapBytes: number;
}

const enum St {
  Head,
  BodyLength,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  BodyClose,
  Tunnel,
  Resync,
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE']);
const HTTP1_MARK = Buffer.from('HTTP/1.');

/**
 * Header fields as parallel arrays, looked up by a linear scan: a head has a few dozen fields
 * and is asked for a handful, and hashing every fresh name into a Map costs more than that.
 */
class HeaderMap implements Headers {
  private map: Map<string, string> | null = null;
  constructor(
    private readonly fieldNames: string[],
    private readonly values: string[],
  ) {}
  get(name: string): string | undefined {
    const names = this.fieldNames;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return this.values[i];
    return undefined;
  }
  names(): readonly string[] {
    return this.fieldNames;
  }
  get raw(): ReadonlyMap<string, string> {
    if (this.map === null) {
      this.map = new Map();
      for (let i = 0; i < this.fieldNames.length; i++) this.map.set(this.fieldNames[i]!, this.values[i]!);
    }
    return this.map;
  }
}

/** RFC 9110 token characters (header names), by char code. */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN_CHAR[c.charCodeAt(0)] = 1;

/** 0: not a token; 1: a lower-case token; 2: a token with upper-case letters. */
function tokenKind(s: string, from: number, to: number): 0 | 1 | 2 {
  if (to <= from) return 0;
  let upper = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) return 0;
    if (c >= 65 && c <= 90) upper = true;
  }
  return upper ? 2 : 1;
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Parse one header block (start line + fields, without the blank line). Returns null if
 * malformed. One pass with index arithmetic: heads of SDK requests carry ~20 fields, and a
 * split/regex/trim per field cost more than everything else in a short call.
 */
export function parseHead(block: Buffer, expect: MessageKind | null): MessageHead | null {
  const text = block.toString('latin1');
  const len = text.length;
  let lineEnd = text.indexOf('\n');
  if (lineEnd < 0) lineEnd = len;
  const start = text.slice(0, lineEnd > 0 && text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd);
  const names: string[] = [];
  const values: string[] = [];
  /** Field the previous line belonged to (for obsolete line folding). */
  let last = -1;
  let pos = lineEnd + 1;
  while (pos < len) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = len;
    let end = nl;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    if (end > pos) {
      const first = text.charCodeAt(pos);
      const colon = text.indexOf(':', pos);
      if (colon <= pos || colon >= end) {
        // obsolete line folding: continuation of the previous value
        if (!isOws(first) || last < 0) return null;
        let a = pos;
        while (a < end && isOws(text.charCodeAt(a))) a++;
        let b = end;
        while (b > a && isOws(text.charCodeAt(b - 1))) b--;
        values[last] = `${values[last]} ${text.slice(a, b)}`;
      } else {
        // a name with whitespace before the colon is malformed (RFC 9112 §5.1)
        const kind = tokenKind(text, pos, colon);
        if (kind === 0) return null;
        const name = kind === 1 ? text.slice(pos, colon) : text.slice(pos, colon).toLowerCase();
        let a = colon + 1;
        while (a < end && isOws(text.charCodeAt(a))) a++;
        let b = end;
        while (b > a && isOws(text.charCodeAt(b - 1))) b--;
        const value = text.slice(a, b);
        const at = names.indexOf(name);
        if (at < 0) {
          last = names.length;
          names.push(name);
          values.push(value);
        } else {
          // repeated fields are joined (RFC 9110 §5.3)
          last = at;
          values[at] = `${values[at]}, ${value}`;
        }
      }
    }
    pos = nl + 1;
  }
  const headers = new HeaderMap(names, values);
  // Start lines by hand: a regular expression per head cost as much as all its fields.
  if (start.startsWith('HTTP/1.')) {
    if (expect === 'request') return null;
    // HTTP/1.x SP 3DIGIT [SP reason]
    const v = start.charCodeAt(7);
    if ((v !== 48 && v !== 49) || start.charCodeAt(8) !== 32 || start.length < 12 || (start.length > 12 && start.charCodeAt(12) !== 32)) return null;
    const status = threeDigits(start, 9);
    if (status < 0) return null;
    return { kind: 'response', version: v === 48 ? '1.0' : '1.1', status, reason: start.length > 13 ? start.slice(13) : '', headers };
  }
  if (expect === 'response') return null;
  // METHOD SP target SP HTTP/1.x (target: no whitespace)
  const sp1 = start.indexOf(' ');
  const sp2 = start.length - 9;
  if (sp1 <= 0 || sp2 <= sp1 + 1 || start.charCodeAt(sp2) !== 32 || !start.startsWith('HTTP/1.', sp2 + 1)) return null;
  const v = start.charCodeAt(start.length - 1);
  if (v !== 48 && v !== 49) return null;
  const method = start.slice(0, sp1);
  if (!METHODS.has(method)) return null;
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = start.charCodeAt(i);
    if (c <= 32 || c === 0xa0) return null; // whitespace (and controls) end the target
  }
  return { kind: 'request', method, target: start.slice(sp1 + 1, sp2), version: v === 48 ? '1.0' : '1.1', headers };
}

/** The number written by three ASCII digits at `at`, or -1. */
function threeDigits(s: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + 3; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Default framing rules (RFC 9112 §6.3) when the connection has nothing more specific to say. */
export function defaultBodyMode(head: MessageHead): BodyMode {
  const te = head.headers.get('transfer-encoding');
  if (te !== undefined && (te === 'chunked' || /(^|,)\s*chunked\s*$/i.test(te))) return CHUNKED;
  const cl = head.headers.get('content-length');
  if (cl !== undefined) {
    // the first of repeated values (joined with ", "); a valid length is 1-15 digits
    const comma = cl.indexOf(',');
    const first = comma < 0 ? cl : cl.slice(0, comma).trim();
    if (first.length > 0 && first.length <= 15 && isDigits(first)) return { type: 'length', length: Number(first) };
  }
  return head.kind === 'response' ? CLOSE : NONE;
}

// Body modes without parameters are shared (read-only)
const CHUNKED: BodyMode = { type: 'chunked' };
const CLOSE: BodyMode = { type: 'close' };
const NONE: BodyMode = { type: 'none' };

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export class Http1Parser {
  private st: St;
  private kind: MessageKind | null;
  private head: Buffer | null = null; // accumulated head bytes
  private headLen = 0;
  private headTs = 0;
  private remaining = 0;
  private lineBuf = ''; // chunk-size / trailer line in progress (short, latin1)
  private lastTs = 0;
  private carry: Buffer | null = null;
  private carryTs = 0;
  private inMessage = false;
  private resynced = false;
  private skipLeadingEol = true;
  /**
   * Stream offsets, counted in bytes of this direction pushed so far (lost bytes included):
   * `base` is the offset of byte 0 of the buffer being consumed (body pieces are views of it),
   * `messageStart` where the current message's head began, `messageEnd` just past the last
   * finished message. Both ends of a connection count the same bytes, so an offset names the
   * same byte on both when both were seen from the same point (src/llm/mirror.ts).
   * Positions inside heads found by resynchronising are not tracked (NaN).
   */
  base = 0;
  messageStart = NaN;
  messageEnd = NaN;
  private pushed = 0;

  constructor(
    kind: MessageKind | null,
    private readonly hooks: Http1Hooks,
    private readonly limits: Http1Limits,
    private readonly counters: Http1Counters,
    startInResync = false,
  ) {
    this.kind = kind;
    this.st = startInResync ? St.Resync : St.Head;
  }

  get messageKind(): MessageKind | null {
    return this.kind;
  }

  get inProgress(): boolean {
    return this.inMessage;
  }

  /** True while framing is lost and bytes are being scanned for a message start. */
  get resyncing(): boolean {
    return this.st === St.Resync;
  }

  setKind(kind: MessageKind): void {
    if (this.kind === null) this.kind = kind;
  }

  /** Pass everything over from now on (upgrade / CONNECT tunnel / not HTTP). */
  toTunnel(): void {
    if (this.inMessage) this.abort('desync');
    this.st = St.Tunnel;
    this.head = null;
    this.carry = null;
  }

  get tunnelled(): boolean {
    return this.st === St.Tunnel;
  }

  /** Bytes held by this parser (for memory accounting). */
  get bufferedBytes(): number {
    return (this.head?.length ?? 0) + (this.carry?.length ?? 0) + this.lineBuf.length;
  }

  push(u8: Uint8Array, ts: number, missingAfter: number): void {
    this.lastTs = ts;
    this.base = this.pushed;
    if (u8.length > 0) this.consume(asBuffer(u8), ts);
    this.pushed += u8.length;
    this.base = this.pushed; // a message the gap finishes ends after the gap (see gap())
    if (missingAfter > 0) this.gap(missingAfter);
    this.pushed += missingAfter;
    this.base = this.pushed; // between pushes: where the next byte goes
  }

  /** The connection ended: a read-until-close body ends here; anything else in progress is lost. */
  end(ts: number): void {
    if (this.st === St.BodyClose && this.inMessage) {
      this.finish(ts, this.pushed - this.base);
      return;
    }
    if (this.inMessage) this.abort('closed');
  }

  private gap(n: number): void {
    switch (this.st) {
      case St.BodyLength:
        // The hole is inside this body (framing still known): skip it.
        if (n <= this.remaining) {
          this.remaining -= n;
          this.counters.bodyGapBytes += n;
          this.hooks.onBodyGap(n);
          if (this.remaining === 0) this.finish(this.lastTs, n);
          return;
        }
        break;
      case St.ChunkData:
        if (n <= this.remaining) {
          this.remaining -= n;
          this.counters.bodyGapBytes += n;
          this.hooks.onBodyGap(n);
          if (this.remaining === 0) {
            this.st = St.ChunkDataEnd;
            this.lineBuf = '';
          }
          return;
        }
        break;
      case St.BodyClose:
        this.counters.bodyGapBytes += n;
        this.hooks.onBodyGap(n);
        return;
      case St.Tunnel:
        return;
      case St.Resync:
        this.carry = null; // bytes around the hole are not contiguous
        return;
      case St.Head:
        if (!this.inMessage && this.headLen === 0) break;
        break;
      default:
        break;
    }
    this.enterResync();
  }

  private enterResync(): void {
    if (this.inMessage) this.abort('desync');
    this.counters.resyncs++;
    this.st = St.Resync;
    this.head = null;
    this.headLen = 0;
    this.carry = null;
    this.lineBuf = '';
  }

  private abort(why: AbortWhy): void {
    this.inMessage = false;
    this.hooks.onAbort(why);
  }

  /** The message ended at `end` of the buffer being consumed. */
  private finish(ts: number, end: number): void {
    this.messageEnd = this.base + end;
    this.inMessage = false;
    this.counters.messages++;
    this.st = St.Head;
    this.skipLeadingEol = true;
    this.hooks.onEnd(ts);
  }

  private consume(buf: Buffer, ts: number): void {
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      switch (this.st) {
        case St.Head:
          pos = this.consumeHead(buf, pos, ts);
          break;
        case St.BodyLength: {
          const take = Math.min(this.remaining, len - pos);
          this.hooks.onBody(buf, pos, pos + take, ts);
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.finish(ts, pos);
          break;
        }
        case St.BodyClose:
          this.hooks.onBody(buf, pos, len, ts);
          pos = len;
          break;
        case St.ChunkSize: {
          // Fast path: the whole size line is in this buffer ("1a2\r\n"), no extensions.
          if (this.lineBuf.length === 0) {
            let p = pos;
            let size = 0;
            while (p < len && p - pos < 12) {
              const c = buf[p]!;
              const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
              if (v < 0) break;
              size = size * 16 + v;
              p++;
            }
            if (p > pos && p + 1 < len && buf[p] === CR && buf[p + 1] === LF) {
              pos = p + 2;
              if (size === 0) this.st = St.Trailers;
              else {
                this.st = St.ChunkData;
                this.remaining = size;
              }
              break;
            }
          }
          pos = this.consumeLine(buf, pos, ts);
          break;
        }
        case St.ChunkDataEnd:
          if (this.lineBuf.length === 0 && pos + 1 < len && buf[pos] === CR && buf[pos + 1] === LF) {
            pos += 2;
            this.st = St.ChunkSize;
            break;
          }
          pos = this.consumeLine(buf, pos, ts);
          break;
        case St.Trailers:
          // Common case: no trailers, the blank line follows the last chunk at once.
          if (this.lineBuf.length === 0 && pos + 1 < len && buf[pos] === CR && buf[pos + 1] === LF) {
            pos += 2;
            this.finish(ts, pos);
            break;
          }
          pos = this.consumeLine(buf, pos, ts);
          break;
        case St.ChunkData: {
          const take = Math.min(this.remaining, len - pos);
          this.hooks.onBody(buf, pos, pos + take, ts);
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.st = St.ChunkDataEnd;
            this.lineBuf = '';
          }
          break;
        }
        case St.Tunnel:
          return;
        case St.Resync:
          pos = this.consumeResync(buf, pos, ts);
          break;
      }
    }
  }

  /** Accumulate a header block; returns the new position. */
  private consumeHead(buf: Buffer, pos: number, ts: number): number {
    if (this.headLen === 0) {
      // Tolerate stray CRLFs between messages (RFC 9112 §2.2).
      if (this.skipLeadingEol) {
        while (pos < buf.length && (buf[pos] === CR || buf[pos] === LF)) pos++;
        if (pos >= buf.length) return pos;
      }
      this.headTs = ts;
      this.messageStart = this.base + pos;
      this.inMessage = true;
      // Common case: the whole head is in this chunk. Parse it in place, no copy.
      const limit = Math.min(buf.length, pos + this.limits.maxHeadBytes);
      const end = findHeadEnd(buf, pos, limit);
      if (end >= 0) return this.headComplete(buf.subarray(pos, blockLength(buf, end)), end, ts);
      if (this.head === null) this.head = Buffer.allocUnsafe(1024);
    }
    const searchFrom = Math.max(0, this.headLen - 3);
    const take = Math.min(buf.length - pos, this.limits.maxHeadBytes - this.headLen);
    if (take <= 0) {
      this.counters.headTooLarge++;
      this.inMessage = false;
      this.head = null;
      this.hooks.onAbort('head_too_large');
      this.enterResyncSilently();
      return pos;
    }
    this.ensureHead(this.headLen + take);
    this.head!.set(buf.subarray(pos, pos + take), this.headLen);
    const total = this.headLen + take;
    const end = findHeadEnd(this.head!, searchFrom, total);
    if (end < 0) {
      this.headLen = total;
      return pos + take;
    }
    // end = index just past the blank line
    const consumedHere = end - this.headLen;
    const block = this.head!.subarray(0, blockLength(this.head!, end));
    this.headLen = 0;
    const next = this.headComplete(block, pos + consumedHere, ts);
    // Idle connections keep no head buffer (allocated again when a head spans chunks).
    this.head = null;
    return next;
  }

  /** A whole header block is known; `after` is the position just past it in the current chunk. */
  private headComplete(block: Buffer, after: number, ts: number): number {
    this.headLen = 0;
    const parsed = parseHead(block, this.kind);
    if (parsed === null) {
      this.counters.badHeads++;
      this.inMessage = false;
      this.hooks.onAbort('bad_head');
      this.enterResyncSilently();
      return after;
    }
    if (this.kind === null) {
      this.kind = parsed.kind;
      this.hooks.onKind(parsed.kind);
    }
    const resynced = this.resynced;
    this.resynced = false;
    this.hooks.onHead(parsed, this.headTs, resynced);
    const mode = this.hooks.bodyModeFor(parsed);
    switch (mode.type) {
      case 'none':
        this.finish(ts, after);
        break;
      case 'length':
        if (mode.length === 0) this.finish(ts, after);
        else {
          this.st = St.BodyLength;
          this.remaining = mode.length;
        }
        break;
      case 'chunked':
        this.st = St.ChunkSize;
        this.lineBuf = '';
        break;
      case 'close':
        this.st = St.BodyClose;
        break;
      case 'tunnel':
        this.inMessage = false;
        this.counters.messages++;
        this.hooks.onEnd(ts);
        this.st = St.Tunnel;
        break;
    }
    return after;
  }

  private enterResyncSilently(): void {
    this.counters.resyncs++;
    this.st = St.Resync;
    this.headLen = 0;
    this.carry = null;
    this.lineBuf = '';
  }

  private ensureHead(size: number): void {
    if (this.head!.length >= size) return;
    let n = this.head!.length * 2;
    while (n < size) n *= 2;
    const next = Buffer.allocUnsafe(Math.min(n, this.limits.maxHeadBytes));
    this.head!.copy(next, 0, 0, this.headLen);
    this.head = next;
  }

  /** Chunk-size lines, the CRLF after chunk data, and trailers. */
  private consumeLine(buf: Buffer, pos: number, ts: number): number {
    const lf = buf.indexOf(LF, pos);
    const stop = lf < 0 ? buf.length : lf;
    if (this.lineBuf.length + (stop - pos) > 4096) {
      this.enterResync();
      return stop;
    }
    if (stop > pos) this.lineBuf += buf.toString('latin1', pos, stop);
    if (lf < 0) return buf.length;
    let line = this.lineBuf;
    this.lineBuf = '';
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const next = lf + 1;
    if (this.st === St.ChunkDataEnd) {
      if (line.length !== 0) {
        this.enterResync();
        return next;
      }
      this.st = St.ChunkSize;
      return next;
    }
    if (this.st === St.Trailers) {
      if (line.length === 0) this.finish(ts, next);
      return next;
    }
    // chunk size
    const semi = line.indexOf(';');
    const hex = (semi >= 0 ? line.slice(0, semi) : line).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) {
      this.enterResync();
      return next;
    }
    const size = parseInt(hex, 16);
    if (size === 0) this.st = St.Trailers;
    else {
      this.st = St.ChunkData;
      this.remaining = size;
    }
    return next;
  }

  /**
   * Scan for the next message start. Candidates: a status line "HTTP/1.x DDD" at a line start,
   * or "METHOD target HTTP/1.x" + EOL. Bytes before it are skipped (and counted).
   */
  private consumeResync(buf: Buffer, pos: number, ts: number): number {
    let scan: Buffer;
    let carryLen = 0;
    if (this.carry && this.carry.length > 0) {
      carryLen = this.carry.length;
      scan = concat2(this.carry, buf.subarray(pos));
    } else {
      scan = buf.subarray(pos);
    }
    let from = 0;
    for (;;) {
      const hit = scan.indexOf(HTTP1_MARK, from);
      if (hit < 0) break;
      const start = this.candidateStart(scan, hit);
      if (start === -2) break; // need more bytes to decide
      if (start >= 0) {
        const skipped = start;
        this.counters.resyncBytesSkipped += skipped;
        this.carry = null;
        this.resynced = true;
        this.st = St.Head;
        this.headLen = 0;
        this.skipLeadingEol = false;
        if (start < carryLen) {
          // The message began in carried bytes: feed them as part of this head.
          const fromCarry = scan.subarray(start, carryLen);
          const ts0 = this.carryTs;
          this.consumeHeadSeed(fromCarry, ts0);
          return pos;
        }
        return pos + (start - carryLen);
      }
      from = hit + 1;
    }
    // Nothing found: keep a tail so a start line split across chunks is still found.
    const keep = Math.min(scan.length, this.limits.resyncCarryBytes);
    this.counters.resyncBytesSkipped += scan.length - keep - (carryLen > 0 ? 0 : 0);
    this.carry = Buffer.from(scan.subarray(scan.length - keep));
    this.carryTs = ts;
    return buf.length;
  }

  /** Start a head with bytes carried over from earlier chunks. */
  private consumeHeadSeed(seed: Buffer, ts: number): void {
    // positions in the seed are not positions in the pushed buffer
    const base = this.base;
    this.base = NaN;
    let p = 0;
    while (p < seed.length && this.st === St.Head) p = this.consumeHead(seed, p, ts);
    if (p < seed.length) this.consume(seed.subarray(p), ts);
    this.base = base;
  }

  /**
   * Returns the message start for a "HTTP/1." hit, -1 if it is not one, -2 if undecidable yet.
   * A message may begin right after the previous body's last byte (no line break), so the
   * candidate is validated by its own shape, not by what precedes it.
   */
  private candidateStart(scan: Buffer, hit: number): number {
    if (this.kind !== 'request') {
      if (hit + 13 > scan.length) return -2;
      // "HTTP/1.x DDD" followed by a space or a line end
      const v = scan[hit + 7];
      const after = scan[hit + 12];
      if ((v === 0x30 || v === 0x31) && scan[hit + 8] === 0x20 && isDigit(scan[hit + 9]) && isDigit(scan[hit + 10]) && isDigit(scan[hit + 11]) && (after === 0x20 || after === CR || after === LF))
        return hit;
      if (this.kind === 'response') return -1;
    }
    // request: "METHOD target HTTP/1.x" + line end
    if (hit + 9 > scan.length) return -2;
    const v = scan[hit + 7];
    if (!(v === 0x30 || v === 0x31)) return -1;
    const after = scan[hit + 8];
    if (!(after === CR || after === LF)) return -1;
    if (hit < 3 || scan[hit - 1] !== 0x20) return -1;
    const sp = scan.lastIndexOf(0x20, hit - 2);
    if (sp < 1 || hit - sp > 8192) return -1;
    const target = scan.toString('latin1', sp + 1, hit - 1);
    if (target.length === 0 || /[\s\x00-\x1f]/.test(target)) return -1;
    // the method is the run of capitals just before the space; body bytes may precede it
    let ms = sp;
    while (ms > 0 && sp - ms < 7 && scan[ms - 1]! >= 0x41 && scan[ms - 1]! <= 0x5a) ms--;
    const run = scan.toString('latin1', ms, sp);
    for (const m of METHODS) if (run.endsWith(m)) return sp - m.length;
    return -1;
  }
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

const LF_CRLF = Buffer.from('\n\r\n');
const LF_LF = Buffer.from('\n\n');

/**
 * Find the end of a header block (index just past the blank line), or -1. Accepts CRLF and bare
 * LF. Two native searches for the whole pattern, not one per header line.
 */
function findHeadEnd(buf: Buffer, from: number, to: number): number {
  const a = buf.indexOf(LF_CRLF, from);
  const b = buf.indexOf(LF_LF, from);
  let end = -1;
  if (a >= 0 && (b < 0 || a < b)) end = a + 3;
  else if (b >= 0) end = b + 2;
  return end >= 0 && end <= to ? end : -1;
}

/** Length of the head block without its terminating blank line. */
function blockLength(buf: Buffer, end: number): number {
  let e = end;
  // strip the final EOL pair
  if (buf[e - 1] === LF) e--;
  if (buf[e - 1] === CR) e--;
  if (buf[e - 1] === LF) e--;
  if (buf[e - 1] === CR) e--;
  return e;
}
