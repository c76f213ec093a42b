// Incremental Server-Sent Events parser (WHATWG HTML §9.2.6) over raw bytes.
//
// Line ends may be CRLF, LF or CR (Gemini uses CRLF, the spec allows bare CR), `data:` may have
// no space after the colon (TGI), an event may span several `data:` lines (joined with "\n"),
// lines starting with ':' are comments/keep-alives. Each dispatched event carries the kernel ts
// of the capture chunk that completed it (the one holding its terminating blank line).
import { asBuffer, CR, LF } from './bytes.ts';

export interface SseEvent {
  /** `event:` field, or null for the default "message" type. */
  event: string | null;
  data: string;
  id: string | null;
}

export interface SseLimits {
  /** Max bytes of one event (all its lines); larger events are dropped whole. */
  maxEventBytes: number;
}

export interface SseCounters {
  events: number;
  comments: number;
  oversizeEvents: number;
}

const DATA = 0x64; // 'd'
const COLON = 0x3a;
const SPACE = 0x20;

export class SseParser {
  private pending: Buffer | null = null; // partial line carried across chunks
  private afterCr = false; // last byte seen was CR: a following LF belongs to it
  private dataParts: string[] = [];
  private eventName: string | null = null;
  private lastId: string | null = null;
  private eventBytes = 0;
  private oversize = false;
  private skipping = false; // after a gap: ignore until the next blank line

  constructor(
    private readonly onEvent: (ev: SseEvent, ts: number) => void,
    private readonly limits: SseLimits,
    private readonly counters: SseCounters,
  ) {}

  get bufferedBytes(): number {
    return (this.pending?.length ?? 0) + this.eventBytes;
  }

  /** Whether an event has been started but not yet dispatched. */
  get midEvent(): boolean {
    return this.dataParts.length > 0 || (this.pending !== null && this.pending.length > 0);
  }

  push(u8: Uint8Array, ts: number): void {
    const buf = asBuffer(u8);
    const len = buf.length;
    let pos = 0;
    if (this.afterCr && len > 0 && buf[0] === LF) pos = 1;
    this.afterCr = false;
    let nextLf = -2;
    let nextCr = -2;
    while (pos < len) {
      if (nextLf !== -1 && nextLf < pos) nextLf = buf.indexOf(LF, pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = buf.indexOf(CR, pos);
      let eol: number;
      if (nextLf < 0 && nextCr < 0) eol = -1;
      else if (nextLf < 0) eol = nextCr;
      else if (nextCr < 0) eol = nextLf;
      else eol = nextLf < nextCr ? nextLf : nextCr;
      if (eol < 0) {
        this.carry(buf, pos, len);
        return;
      }
      let next = eol + 1;
      if (buf[eol] === CR) {
        if (next < len) {
          if (buf[next] === LF) next++;
        } else this.afterCr = true;
      }
      if (this.pending !== null) {
        const joined = Buffer.concat([this.pending, buf.subarray(pos, eol)]);
        this.pending = null;
        this.line(joined, 0, joined.length, ts);
      } else {
        this.line(buf, pos, eol, ts);
      }
      pos = next;
    }
  }

  /** Bytes were lost: drop the event in progress and resume after the next blank line. */
  gap(): void {
    this.pending = null;
    this.afterCr = false;
    this.resetEvent();
    this.skipping = true;
  }

  /** End of body: a trailing event without a blank line is NOT dispatched (per spec). */
  end(): void {
    this.pending = null;
    this.resetEvent();
  }

  private carry(buf: Buffer, pos: number, len: number): void {
    const n = len - pos;
    if (this.eventBytes + (this.pending?.length ?? 0) + n > this.limits.maxEventBytes) {
      this.markOversize();
      this.pending = null;
      return;
    }
    const piece = Buffer.from(buf.subarray(pos, len));
    this.pending = this.pending === null ? piece : Buffer.concat([this.pending, piece]);
  }

  private markOversize(): void {
    if (!this.oversize) this.counters.oversizeEvents++;
    this.oversize = true;
    this.dataParts = [];
  }

  private resetEvent(): void {
    this.dataParts = [];
    this.eventName = null;
    this.eventBytes = 0;
    this.oversize = false;
  }

  private line(buf: Buffer, s: number, e: number, ts: number): void {
    if (s === e) {
      if (this.skipping) {
        this.skipping = false;
        this.resetEvent();
        return;
      }
      this.dispatch(ts);
      return;
    }
    if (this.skipping) return;
    const first = buf[s];
    if (first === COLON) {
      this.counters.comments++;
      return;
    }
    if (this.oversize) return;
    this.eventBytes += e - s;
    if (this.eventBytes > this.limits.maxEventBytes) {
      this.markOversize();
      return;
    }
    // Fast path: "data:" (the overwhelming majority of lines)
    if (first === DATA && e - s >= 5 && buf[s + 1] === 0x61 && buf[s + 2] === 0x74 && buf[s + 3] === 0x61 && buf[s + 4] === COLON) {
      let v = s + 5;
      if (v < e && buf[v] === SPACE) v++;
      this.dataParts.push(buf.toString('utf8', v, e));
      return;
    }
    const colon = buf.indexOf(COLON, s);
    let name: string;
    let value: string;
    if (colon < 0 || colon >= e) {
      name = buf.toString('utf8', s, e);
      value = '';
    } else {
      name = buf.toString('utf8', s, colon);
      let v = colon + 1;
      if (v < e && buf[v] === SPACE) v++;
      value = buf.toString('utf8', v, e);
    }
    switch (name) {
      case 'data':
        this.dataParts.push(value);
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

  private dispatch(ts: number): void {
    if (this.oversize) {
      this.resetEvent();
      return;
    }
    if (this.dataParts.length === 0) {
      // per spec an event with no data is not dispatched
      this.resetEvent();
      return;
    }
    const data = this.dataParts.length === 1 ? this.dataParts[0]! : this.dataParts.join('\n');
    const ev: SseEvent = { event: this.eventName, data, id: this.lastId };
    this.resetEvent();
    this.counters.events++;
    this.onEvent(ev, ts);
  }
}
