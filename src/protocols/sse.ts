// Incremental Server-Sent Events parser (WHATWG HTML §9.2.6) over raw bytes.
//
// Line ends may be CRLF, LF or CR (Gemini uses CRLF, the spec allows bare CR), `data:` may have
// no space after the colon (TGI), an event may span several `data:` lines (joined with "\n"),
// lines starting with ':' are comments/keep-alives. Each dispatched event carries the kernel ts
// of the capture chunk that completed it (the one holding its terminating blank line).
//
// Speed: each pushed piece is decoded to a string once (an incomplete UTF-8 sequence at its end
// is held back for the next piece); lines are then found with string searches, which are far
// cheaper than per-line Buffer calls.
import { asBuffer } from './bytes.ts';

export interface SseEvent {
  /** `event:` field, or null for the default "message" type. */
  event: string | null;
  data: string;
  id: string | null;
}

/** Called per event with positional arguments (no object per event on the hot path). */
export type SseHandler = (data: string, event: string | null, ts: number, id: string | null) => void;

/**
 * Optional shortcut offered the piece text at the start of an event (`pos`): returns where the
 * event ends (after its blank line) if it consumed the whole event itself, or -1.
 */
export type SseFastEvent = (s: string, pos: number, ts: number) => number;

export interface SseLimits {
  /** Max size of one event (all its lines, in characters); larger events are dropped whole. */
  maxEventBytes: number;
}

export interface SseCounters {
  events: number;
  comments: number;
  oversizeEvents: number;
}

/** Bytes at the end of `buf[start,end)` that begin an incomplete UTF-8 sequence (0-3). */
export function incompleteUtf8Tail(buf: Uint8Array, start: number, end: number): number {
  // look back at most 3 bytes for a lead byte whose sequence runs past `end`
  for (let k = 1; k <= 3 && end - k >= start; k++) {
    const b = buf[end - k]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > k ? k : 0;
  }
  return 0;
}

// Buffer#utf8Slice skips toString()'s argument handling, which costs more than decoding a
// short SSE piece; it has been on Buffer.prototype since Node 0.x. Fallback kept for safety.
type Utf8Sliceable = Buffer & { utf8Slice?: (start: number, end: number) => string };
const utf8: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Utf8Sliceable).utf8Slice === 'function'
    ? (buf, start, end) => (buf as Utf8Sliceable).utf8Slice!(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

export class SseParser {
  private pending = ''; // partial line carried across pieces
  /** `pending` is the start of an event's first line (nothing else of that event seen). */
  private pendingAtBoundary = false;
  private utf8Tail: Buffer | null = null;
  private afterCr = false; // last char seen was CR: a following LF belongs to it
  private firstData: string | null = null;
  private moreData: string[] | null = null;
  private eventName: string | null = null;
  private lastId: string | null = null;
  private eventSize = 0;
  private oversize = false;
  private skipping = false; // after a gap: ignore until the next blank line
  /** See SseFastEvent; set by the consumer. */
  fastEvent: SseFastEvent | null = null;
  /**
   * Stream byte offsets just past each dispatched event's blank line, in order, when tracking
   * (trackEventEnds): where the event's last byte sits in the connection's byte stream, which the
   * other end of the connection shares (src/llm/mirror.ts). Null when not tracking.
   */
  eventEnds: number[] | null = null;
  private maxEventEnds = 0;
  // while tracking: the text being parsed, the stream offset of its first byte, whether it is ASCII
  private text = '';
  private textBase = 0;
  private textAscii = true;
  /** Position just past the line being handed to line() (a blank line dispatches there). */
  private lineEnd = 0;

  constructor(
    private readonly onEvent: SseHandler,
    private readonly limits: SseLimits,
    private readonly counters: SseCounters,
  ) {}

  /** Record the stream offset of each dispatched event's end (at most `max`; then -1 ends it). */
  trackEventEnds(max: number): void {
    this.eventEnds = [];
    this.maxEventEnds = max;
  }

  get bufferedBytes(): number {
    return this.pending.length + this.eventSize + (this.utf8Tail?.length ?? 0);
  }

  /** `offset`: the stream offset of `u8[start]` (needed only when tracking event ends). */
  push(u8: Uint8Array, ts: number, start = 0, end = u8.length, offset = 0): void {
    const buf = asBuffer(u8);
    let text: string;
    let textBytes: number;
    let textStart = offset;
    if (this.utf8Tail !== null) {
      textStart -= this.utf8Tail.length;
      const joined = Buffer.concat([this.utf8Tail, buf.subarray(start, end)]);
      this.utf8Tail = null;
      const tail = incompleteUtf8Tail(joined, 0, joined.length);
      textBytes = joined.length - tail;
      text = utf8(joined, 0, textBytes);
      if (tail > 0) this.utf8Tail = Buffer.from(joined.subarray(joined.length - tail));
    } else {
      // Only a last byte >= 0x80 can start or continue a multi-byte sequence.
      const tail = end > start && buf[end - 1]! >= 0x80 ? incompleteUtf8Tail(buf, start, end) : 0;
      textBytes = end - tail - start;
      text = utf8(buf, start, end - tail);
      if (tail > 0) this.utf8Tail = Buffer.from(buf.subarray(end - tail, end));
    }
    if (this.eventEnds !== null) {
      this.textBase = textStart;
      this.textAscii = textBytes === text.length;
    }
    this.pushText(text, ts);
  }

  private pushText(s: string, ts: number): void {
    if (this.pendingAtBoundary && this.pending.length > 0) {
      // An event cut by the previous read: joined with this piece it can take the whole-event
      // loop (and a template) instead of the line parser. `pending` ends without a line end.
      if (this.eventEnds !== null) {
        const pendingBytes = Buffer.byteLength(this.pending);
        this.textBase -= pendingBytes;
        this.textAscii &&= pendingBytes === this.pending.length;
      }
      s = this.pending + s;
      this.pending = '';
      this.pendingAtBoundary = false;
    }
    if (this.eventEnds !== null) this.text = s;
    const len = s.length;
    let pos = 0;
    if (this.afterCr && len > 0) {
      if (s.charCodeAt(0) === 10) pos = 1;
      this.afterCr = false;
    }
    // The fast loop, for whole LF-framed events at a clean event boundary, alternates with the
    // line parser, for everything else (an event carried over from the previous piece, comments,
    // multi-line data, CR line ends), returning to the fast loop after each blank line. Reads
    // cut events anywhere, so almost every piece starts mid-event.
    while (pos < len) {
      if (this.atEventBoundary()) {
        pos = this.wholeEvents(s, pos, ts);
        if (pos >= len) return;
      }
      pos = this.linesUntilBlank(s, pos, ts);
    }
  }

  private atEventBoundary(): boolean {
    return this.pending.length === 0 && this.firstData === null && this.eventName === null && !this.skipping && !this.oversize;
  }

  /**
   * Dispatches whole one-line `data:` events ending in LF LF from `pos`; returns where it
   * stopped (at the first event it cannot take whole: the line parser's job).
   */
  private wholeEvents(s: string, pos: number, ts: number): number {
    const len = s.length;
    const max = this.limits.maxEventBytes;
    const fast = this.fastEvent;
    // next CR at or after pos (-2: not searched yet, -1: none): a CR is a line end, so an
    // event containing one is not a one-line LF event. (The fast path's shapes take CRLF line
    // ends whole, and no CR elsewhere.)
    let cr = -2;
    while (pos < len) {
      const c = s.charCodeAt(pos);
      if (fast !== null && (c === 100 /* d */ || c === 101) /* e */) {
        const next = fast(s, pos, ts);
        if (next > pos) {
          this.counters.events++;
          if (this.eventEnds !== null) this.noteEventEnd(next);
          pos = next;
          continue;
        }
      }
      if (c !== 100 || !s.startsWith('data: ', pos)) break;
      const nn = s.indexOf('\n\n', pos);
      if (nn < 0 || nn - pos > max) break;
      const lf = s.indexOf('\n', pos);
      if (lf !== nn) break;
      if (cr !== -1 && cr < pos) cr = s.indexOf('\r', pos);
      if (cr >= 0 && cr < nn) break;
      this.counters.events++;
      this.onEvent(s.slice(pos + 6, nn), null, ts, this.lastId);
      if (this.eventEnds !== null) this.noteEventEnd(nn + 2);
      pos = nn + 2;
    }
    return pos;
  }

  /**
   * The general line parser: handles lines from `pos` up to and including the next blank line
   * (an event's end) and returns the position after it, or carries an unfinished line over and
   * returns the piece's length.
   */
  private linesUntilBlank(s: string, pos: number, ts: number): number {
    const len = s.length;
    let nextLf = -2;
    let nextCr = -2;
    while (pos < len) {
      if (nextLf !== -1 && nextLf < pos) nextLf = s.indexOf('\n', pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = s.indexOf('\r', pos);
      let eol: number;
      if (nextCr < 0) eol = nextLf;
      else if (nextLf < 0) eol = nextCr;
      else eol = nextLf < nextCr ? nextLf : nextCr;
      if (eol < 0) {
        this.carry(s, pos);
        return len;
      }
      let next = eol + 1;
      if (eol === nextCr) {
        if (next < len) {
          if (s.charCodeAt(next) === 10) next++;
        } else this.afterCr = true;
      }
      this.lineEnd = next;
      if (this.pending.length > 0) {
        const line = this.pending + s.slice(pos, eol);
        this.pending = '';
        this.line(line, 0, line.length, ts);
        if (line.length === 0) return next;
      } else {
        this.line(s, pos, eol, ts);
        if (eol === pos) return next;
      }
      pos = next;
    }
    return pos;
  }

  /** Bytes were lost: drop the event in progress and resume after the next blank line. */
  gap(): void {
    this.pending = '';
    this.utf8Tail = null;
    this.afterCr = false;
    this.resetEvent();
    this.skipping = true;
  }

  /** End of body: a trailing event without a blank line is NOT dispatched (per spec). */
  end(): void {
    this.pending = '';
    this.utf8Tail = null;
    this.resetEvent();
  }

  private carry(s: string, pos: number): void {
    const n = s.length - pos;
    if (this.eventSize + this.pending.length + n > this.limits.maxEventBytes) {
      this.markOversize();
      this.pending = '';
      return;
    }
    if (this.pending.length === 0) this.pendingAtBoundary = this.atEventBoundary();
    this.pending = this.pending.length === 0 ? s.slice(pos) : this.pending + s.slice(pos);
  }

  private markOversize(): void {
    if (!this.oversize) this.counters.oversizeEvents++;
    this.oversize = true;
    this.firstData = null;
    this.moreData = null;
  }

  private resetEvent(): void {
    this.firstData = null;
    this.moreData = null;
    this.eventName = null;
    this.eventSize = 0;
    this.oversize = false;
  }

  private line(s: string, b: number, e: number, ts: number): void {
    if (b === e) {
      if (this.skipping) {
        this.skipping = false;
        this.resetEvent();
        return;
      }
      this.dispatch(ts);
      return;
    }
    if (this.skipping) return;
    const first = s.charCodeAt(b);
    if (first === 58 /* : */) {
      this.counters.comments++;
      return;
    }
    if (this.oversize) return;
    this.eventSize += e - b;
    if (this.eventSize > this.limits.maxEventBytes) {
      this.markOversize();
      return;
    }
    // Fast path: "data:" (the overwhelming majority of lines)
    if (first === 100 && s.startsWith('data:', b)) {
      let v = b + 5;
      if (v < e && s.charCodeAt(v) === 32) v++;
      this.addData(s.slice(v, e));
      return;
    }
    const colon = s.indexOf(':', b);
    let name: string;
    let value: string;
    if (colon < 0 || colon >= e) {
      name = s.slice(b, e);
      value = '';
    } else {
      name = s.slice(b, colon);
      let v = colon + 1;
      if (v < e && s.charCodeAt(v) === 32) v++;
      value = s.slice(v, e);
    }
    switch (name) {
      case 'data':
        this.addData(value);
        break;
      case 'event':
        this.eventName = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        break; // retry and unknown fields are ignored
    }
  }

  private addData(v: string): void {
    if (this.firstData === null) this.firstData = v;
    else if (this.moreData === null) this.moreData = [v];
    else this.moreData.push(v);
  }

  private dispatch(ts: number): void {
    const first = this.firstData;
    if (this.oversize || first === null) {
      // per spec an event with no data is not dispatched
      this.resetEvent();
      return;
    }
    const data = this.moreData === null ? first : `${first}\n${this.moreData.join('\n')}`;
    const event = this.eventName;
    this.resetEvent();
    this.counters.events++;
    this.onEvent(data, event, ts, this.lastId);
    if (this.eventEnds !== null) this.noteEventEnd(this.lineEnd);
  }

  /** The event that just dispatched ended at character `pos` of the current text. */
  private noteEventEnd(pos: number): void {
    // The byte that completes an event is its blank line's first line-end character: a CR ends
    // a line at once (its LF may come in a later read), so "\r\n" completes at the CR.
    if (pos >= 2 && this.text.charCodeAt(pos - 1) === 10 && this.text.charCodeAt(pos - 2) === 13) pos--;
    const ends = this.eventEnds!;
    if (ends.length >= this.maxEventEnds) {
      if (ends.length === this.maxEventEnds) ends.push(-1); // too many: the rest are unknown
      return;
    }
    ends.push(this.textBase + (this.textAscii ? pos : Buffer.byteLength(this.text.slice(0, pos))));
  }
}
