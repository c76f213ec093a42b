// Splits a streamed top-level JSON array ("[{...},\r\n{...}]", as Gemini's streamGenerateContent
// sends without alt=sse) into its elements as they complete, each with the kernel ts of the
// capture chunk that completed it. A byte-level scanner (strings and escapes aware); elements
// larger than the cap are dropped whole and counted.
import { asBuffer } from './bytes.ts';

export interface JsonArrayCounters {
  elements: number;
  oversizeElements: number;
}

export class JsonArraySplitter {
  private started = false; // saw the opening '['
  private depth = 0; // nesting depth inside the current element
  private inString = false;
  private escape = false;
  private parts: Buffer[] = [];
  private size = 0;
  private oversize = false;
  private broken = false;

  constructor(
    private readonly onElement: (json: string, ts: number) => void,
    private readonly maxElementBytes: number,
    private readonly counters: JsonArrayCounters,
  ) {}

  get bufferedBytes(): number {
    return this.size;
  }

  push(u8: Uint8Array, ts: number, start = 0, end = u8.length): void {
    if (this.broken) return;
    const buf = asBuffer(u8);
    let elemStart = this.depth > 0 ? start : -1;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (this.depth === 0) {
        // between elements: whitespace, ',', '[' (once), ']'
        if (c === 0x5b /* [ */ && !this.started) this.started = true;
        else if (c === 0x7b /* { */ || (c === 0x5b && this.started)) {
          if (!this.started) {
            this.broken = true;
            return;
          }
          this.depth = 1;
          elemStart = i;
        }
        continue;
      }
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 0x5c) this.escape = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          this.take(buf, elemStart, i + 1);
          this.emit(ts);
          elemStart = -1;
        }
      }
    }
    if (this.depth > 0 && elemStart >= 0) this.take(buf, elemStart, end);
  }

  /** Bytes were lost: the element in progress is dropped; the next one starts clean only after it. */
  gap(): void {
    // Without the lost bytes the nesting is unknown: stop rather than guess.
    this.broken = true;
    this.parts = [];
    this.size = 0;
  }

  private take(buf: Buffer, s: number, e: number): void {
    if (this.oversize) return;
    if (this.size + (e - s) > this.maxElementBytes) {
      this.oversize = true;
      this.counters.oversizeElements++;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(Buffer.from(buf.subarray(s, e)));
    this.size += e - s;
  }

  private emit(ts: number): void {
    if (!this.oversize) {
      const text = (this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)).toString('utf8');
      this.counters.elements++;
      this.onElement(text, ts);
    }
    this.parts = [];
    this.size = 0;
    this.oversize = false;
  }
}
