// Newline-delimited JSON (Ollama's native streaming) split into lines, each with the kernel ts
// of the capture chunk that completed it. Empty lines are skipped; "\r\n" is tolerated.
import { asBuffer, LF } from './bytes.ts';

export interface NdjsonCounters {
  lines: number;
  oversizeLines: number;
}

export class NdjsonSplitter {
  private pending: Buffer | null = null;
  private oversize = false;
  private skipping = false;

  constructor(
    private readonly onLine: (line: string, ts: number) => void,
    private readonly maxLineBytes: number,
    private readonly counters: NdjsonCounters,
  ) {}

  get bufferedBytes(): number {
    return this.pending?.length ?? 0;
  }

  push(u8: Uint8Array, ts: number, start = 0, end = u8.length): void {
    const whole = asBuffer(u8);
    const buf = start === 0 && end === whole.length ? whole : whole.subarray(start, end);
    let pos = 0;
    while (pos < buf.length) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        this.carry(buf, pos);
        return;
      }
      if (this.skipping || this.oversize) {
        this.skipping = false;
        this.oversize = false;
        this.pending = null;
        pos = lf + 1;
        continue;
      }
      let line: Buffer;
      let s: number;
      let e = lf;
      if (this.pending !== null) {
        line = Buffer.concat([this.pending, buf.subarray(pos, lf)]);
        this.pending = null;
        s = 0;
        e = line.length;
      } else {
        line = buf;
        s = pos;
      }
      if (e > s && line[e - 1] === 13) e--;
      if (e > s) {
        this.counters.lines++;
        this.onLine(line.toString('utf8', s, e), ts);
      }
      pos = lf + 1;
    }
  }

  /** Bytes were lost: drop the line in progress and the rest of it. */
  gap(): void {
    this.pending = null;
    this.skipping = true;
  }

  /** End of body: a last line without "\n" still counts (Ollama always ends lines, others may not). */
  end(ts: number): void {
    if (this.pending !== null && !this.skipping && !this.oversize) {
      let e = this.pending.length;
      if (e > 0 && this.pending[e - 1] === 13) e--;
      if (e > 0) {
        this.counters.lines++;
        this.onLine(this.pending.toString('utf8', 0, e), ts);
      }
    }
    this.pending = null;
  }

  private carry(buf: Buffer, pos: number): void {
    if (this.skipping || this.oversize) return;
    const n = buf.length - pos;
    if ((this.pending?.length ?? 0) + n > this.maxLineBytes) {
      this.counters.oversizeLines++;
      this.oversize = true;
      this.pending = null;
      return;
    }
    const piece = Buffer.from(buf.subarray(pos));
    this.pending = this.pending === null ? piece : Buffer.concat([this.pending, piece]);
  }
}
