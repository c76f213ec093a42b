// Append-only JSONL output with bounded memory: when the disk falls behind by more than
// `maxBufferedBytes`, records are dropped and counted rather than queued without limit.
import { createWriteStream, type WriteStream } from 'node:fs';

export class JsonlSink {
  private readonly stream: WriteStream | null;
  written = 0;
  dropped = 0;

  constructor(
    readonly path: string | null,
    private readonly maxBufferedBytes = 16 * 1024 * 1024,
  ) {
    this.stream = path ? createWriteStream(path, { flags: 'a' }) : null;
    this.stream?.on('error', (err) => {
      process.stderr.write(`llmslo: cannot write ${path}: ${err.message}\n`);
    });
  }

  write(record: unknown): void {
    if (!this.stream) return;
    if (this.stream.writableLength > this.maxBufferedBytes || this.stream.destroyed) {
      this.dropped++;
      return;
    }
    this.stream.write(`${JSON.stringify(record)}\n`);
    this.written++;
  }

  close(): Promise<void> {
    const s = this.stream;
    if (!s || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => s.end(resolve));
  }
}
