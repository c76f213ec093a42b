// Content-Encoding decoding (gzip, deflate, br) for captured bodies, with hard caps.
//
// Node has no public synchronous incremental inflater, and our parser is synchronous, so a
// compressed *stream* is decoded by re-inflating the compressed prefix with a sync flush each
// time a piece arrives and emitting only the new output. That is quadratic, so it is bounded by
// `maxCompressedBytes`; compressed event streams are rare (providers send SSE uncompressed).
// Whole bodies are decoded once at the end.
import zlib from 'node:zlib';

export type Encoding = 'identity' | 'gzip' | 'deflate' | 'br';

export function parseContentEncoding(v: string | undefined): Encoding | null {
  if (v === undefined) return 'identity';
  const codings = v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0 && s !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length > 1) return null; // stacked codings: not supported
  const c = codings[0]!;
  if (c === 'gzip' || c === 'x-gzip') return 'gzip';
  if (c === 'deflate') return 'deflate';
  if (c === 'br') return 'br';
  return null;
}

export interface DecoderLimits {
  maxCompressedBytes: number;
  maxDecodedBytes: number;
}

export type DecodeFailure = 'unsupported_encoding' | 'compressed_too_large' | 'corrupt' | 'gap';

/** Decodes one message body; calls `out` with decoded pieces (ts of the piece that produced them). */
export class BodyDecoder {
  private parts: Buffer[] = [];
  private compressedLen = 0;
  private emitted = 0;
  failure: DecodeFailure | null = null;

  constructor(
    readonly encoding: Encoding,
    private readonly incremental: boolean,
    private readonly limits: DecoderLimits,
    private readonly out: (buf: Buffer, start: number, end: number, ts: number) => void,
  ) {}

  push(buf: Buffer, start: number, end: number, ts: number): void {
    if (this.failure) return;
    if (this.encoding === 'identity') {
      this.out(buf, start, end, ts);
      return;
    }
    const piece = buf.subarray(start, end);
    if (this.compressedLen + piece.length > this.limits.maxCompressedBytes) {
      this.failure = 'compressed_too_large';
      this.parts = [];
      return;
    }
    this.parts.push(Buffer.from(piece));
    this.compressedLen += piece.length;
    if (this.incremental) this.decodePrefix(ts);
  }

  /** Compressed data cannot be resumed after a hole. */
  gap(): void {
    if (this.encoding !== 'identity' && !this.failure) {
      this.failure = 'gap';
      this.parts = [];
    }
  }

  end(ts: number): void {
    if (this.failure || this.encoding === 'identity') return;
    this.decodePrefix(ts);
    this.parts = [];
  }

  get bufferedBytes(): number {
    return this.compressedLen;
  }

  private decodePrefix(ts: number): void {
    const input = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    if (this.parts.length > 1) this.parts = [input];
    let decoded: Buffer;
    try {
      decoded = inflate(this.encoding, input, this.limits.maxDecodedBytes);
    } catch {
      // A sync-flushed prefix that ends mid-block does not throw; an error means bad data.
      this.failure = 'corrupt';
      return;
    }
    if (decoded.length > this.emitted) {
      this.out(decoded, this.emitted, decoded.length, ts);
      this.emitted = decoded.length;
    }
  }
}

function inflate(enc: Encoding, input: Buffer, maxOut: number): Buffer {
  // Sync flush even for the final decode, so a truncated body yields what it has.
  const opts = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: maxOut };
  switch (enc) {
    case 'gzip':
      return zlib.gunzipSync(input, opts);
    case 'deflate':
      try {
        return zlib.inflateSync(input, opts);
      } catch {
        return zlib.inflateRawSync(input, opts);
      }
    case 'br':
      return zlib.brotliDecompressSync(input, {
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
        maxOutputLength: maxOut,
      });
    default:
      return input;
  }
}
