// Small byte helpers for the hot path. Everything works on Buffer views over the capture's
// Uint8Arrays (no copies) and decodes text only for the small pieces that need it.

/** A Buffer view over the same memory (no copy). */
export function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

export const CR = 13;
export const LF = 10;

/** Concatenate two byte ranges into a new Buffer. */
export function concat2(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * A growable byte accumulator with a hard cap. Appending past the cap drops the excess and
 * remembers how much was dropped, so callers can flag the data as truncated.
 */
export class CappedBytes {
  private buf: Buffer;
  length = 0;
  dropped = 0;
  constructor(private readonly cap: number, initial = 256) {
    this.buf = Buffer.allocUnsafe(Math.min(initial, Math.max(cap, 1)));
  }
  append(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    if (n <= 0) return;
    const room = this.cap - this.length;
    const take = n <= room ? n : Math.max(room, 0);
    if (take < n) this.dropped += n - take;
    if (take === 0) return;
    if (this.length + take > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.length + take) size *= 2;
      const next = Buffer.allocUnsafe(Math.min(size, this.cap));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    this.buf.set(src.subarray(start, start + take), this.length);
    this.length += take;
  }
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
  get truncated(): boolean {
    return this.dropped > 0;
  }
  reset(): void {
    this.length = 0;
    this.dropped = 0;
    if (this.buf.length > 4096) this.buf = Buffer.allocUnsafe(256);
  }
}
