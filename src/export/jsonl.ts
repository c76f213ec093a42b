// `--jsonl PATH|-`: one JSON object per line (call records, SLO alerts), each with its `schema`.
// Memory is bounded: when the file or pipe falls behind by more than `maxBufferedBytes`, lines
// are dropped and counted rather than queued. A write error stops the writer (counted, reported
// once) instead of crashing the agent.
import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';

export interface JsonlWriterOptions {
  /** File path (appended to) or '-' for stdout. */
  path?: string;
  /** Or any writable stream (tests). */
  stream?: Writable;
  maxBufferedBytes?: number;
  onError?: (message: string) => void;
}

export interface JsonlStats {
  written: number;
  dropped: number;
  errors: number;
  bufferedBytes: number;
}

export class JsonlWriter {
  private readonly out: Writable;
  private readonly ownsStream: boolean;
  private readonly maxBuffered: number;
  private failed = false;
  private readonly counts = { written: 0, dropped: 0, errors: 0 };

  constructor(opts: JsonlWriterOptions) {
    const report = opts.onError ?? ((m: string) => process.stderr.write(`llmslo: jsonl: ${m}\n`));
    if (opts.stream) {
      this.out = opts.stream;
      this.ownsStream = false;
    } else if (opts.path === '-' || opts.path === undefined) {
      this.out = process.stdout;
      this.ownsStream = false;
    } else {
      // open now so a bad path fails the command at start, with one line
      let fd: number;
      try {
        fd = openSync(opts.path, 'a');
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new Error(`jsonl: cannot open ${opts.path}: ${e.code ?? e.message}`);
      }
      this.out = createWriteStream(opts.path, { fd });
      this.ownsStream = true;
    }
    this.maxBuffered = opts.maxBufferedBytes ?? 16 * 1024 * 1024;
    const where = opts.path ?? 'stream';
    this.out.on('error', (err: NodeJS.ErrnoException) => {
      this.counts.errors++;
      if (!this.failed) report(`cannot write ${where === '-' ? 'stdout' : where}: ${err.code === 'EPIPE' ? 'reader went away' : err.message}`);
      this.failed = true;
    });
  }

  write(obj: object): boolean {
    if (this.failed || this.out.destroyed || this.out.writableLength > this.maxBuffered) {
      this.counts.dropped++;
      return false;
    }
    let line: string;
    try {
      line = `${JSON.stringify(obj)}\n`;
    } catch {
      this.counts.errors++;
      this.counts.dropped++;
      return false;
    }
    this.out.write(line);
    this.counts.written++;
    return true;
  }

  stats(): JsonlStats {
    return { ...this.counts, bufferedBytes: this.out.writableLength };
  }

  /** Flushes; closes the file when the writer opened it (stdout stays open). */
  close(): Promise<void> {
    const s = this.out;
    if (s.destroyed || this.failed) return Promise.resolve();
    if (!this.ownsStream) {
      return s.writableLength === 0 ? Promise.resolve() : new Promise((resolve) => s.once('drain', () => resolve()));
    }
    return new Promise((resolve) => s.end(() => resolve()));
  }
}
