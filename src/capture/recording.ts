// Recording file format (llmslo record / replay).
//
//   header : "LLMSLREC" | u32 format version | u32 events version | u32 json length | json
//   frames : u8 kind | 3 zero bytes | u32 length | u32 crc32(payload) | payload
//            kind 1 = a raw record batch exactly as the ring buffer delivered it
//            kind 2 = JSON metadata (process table snapshots, closing statistics)
//
// A replay feeds kind-1 batches through the same decoder as live capture. Every failure mode of
// a bad file (wrong magic, future version, truncation, checksum mismatch, absurd lengths) is a
// RecordingError with a one-line message naming the file, the byte offset and the problem; the
// frames before the damage are still delivered.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { EVENTS_VERSION } from './layout.ts';

export const RECORDING_MAGIC = 'LLMSLREC';
export const RECORDING_FORMAT_VERSION = 1;
const FRAME_HEADER = 12;
/** No batch is larger than the loader's budget plus one record; refuse anything absurd. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export const FrameKind = { batch: 1, meta: 2 } as const;

export interface RecordingHeader {
  created: string;
  /** CLOCK_MONOTONIC ns and wall-clock ms sampled together at start: maps kernel times to wall time. */
  monoNsAtStart: number;
  wallMsAtStart: number;
  hostname: string;
  kernel: string;
  payloadCap: number;
  tool: string;
}

export class RecordingError extends Error {
  override name = 'RecordingError';
}

export class RecordingWriter {
  private fd: number;
  frames = 0;
  bytes = 0;

  constructor(path: string, header: RecordingHeader) {
    this.fd = openSync(path, 'w');
    const json = Buffer.from(JSON.stringify(header));
    const head = Buffer.alloc(20);
    head.write(RECORDING_MAGIC, 0, 'latin1');
    head.writeUInt32LE(RECORDING_FORMAT_VERSION, 8);
    head.writeUInt32LE(EVENTS_VERSION, 12);
    head.writeUInt32LE(json.length, 16);
    writeSync(this.fd, head);
    writeSync(this.fd, json);
    this.bytes = head.length + json.length;
  }

  writeBatch(batch: Buffer): void {
    this.writeFrame(FrameKind.batch, batch);
  }

  writeMeta(meta: unknown): void {
    this.writeFrame(FrameKind.meta, Buffer.from(JSON.stringify(meta)));
  }

  private writeFrame(kind: number, payload: Buffer): void {
    const h = Buffer.alloc(FRAME_HEADER);
    h[0] = kind;
    h.writeUInt32LE(payload.length, 4);
    h.writeUInt32LE(crc32(payload), 8);
    writeSync(this.fd, h);
    writeSync(this.fd, payload);
    this.frames++;
    this.bytes += FRAME_HEADER + payload.length;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export interface RecordingReadHandlers {
  onBatch(batch: Buffer): void;
  onMeta?(meta: unknown): void;
}

/** Reads the header; throws RecordingError for anything that is not a readable recording. */
function readHeader(fd: number, path: string, size: number): { header: RecordingHeader; offset: number } {
  if (size < 20) throw new RecordingError(`${path}: not an llmslo recording (file is ${size} bytes, header needs 20)`);
  const head = Buffer.alloc(20);
  readSync(fd, head, 0, 20, 0);
  if (head.toString('latin1', 0, 8) !== RECORDING_MAGIC) throw new RecordingError(`${path}: not an llmslo recording (bad magic)`);
  const format = head.readUInt32LE(8);
  if (format !== RECORDING_FORMAT_VERSION) {
    throw new RecordingError(`${path}: recording format version ${format} is not supported (this build reads ${RECORDING_FORMAT_VERSION})`);
  }
  const events = head.readUInt32LE(12);
  if (events !== EVENTS_VERSION) {
    throw new RecordingError(`${path}: event layout version ${events} is not supported (this build decodes ${EVENTS_VERSION})`);
  }
  const jsonLen = head.readUInt32LE(16);
  if (jsonLen > 1024 * 1024 || 20 + jsonLen > size) throw new RecordingError(`${path}: truncated header (json length ${jsonLen})`);
  const json = Buffer.alloc(jsonLen);
  readSync(fd, json, 0, jsonLen, 20);
  let header: RecordingHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as RecordingHeader;
  } catch {
    throw new RecordingError(`${path}: corrupt header (invalid JSON)`);
  }
  if (typeof header !== 'object' || header === null || typeof header.monoNsAtStart !== 'number' || typeof header.wallMsAtStart !== 'number') {
    throw new RecordingError(`${path}: corrupt header (missing clock fields)`);
  }
  return { header, offset: 20 + jsonLen };
}

export function readRecordingHeader(path: string): RecordingHeader {
  const fd = openFor(path);
  try {
    return readHeader(fd, path, fstatSync(fd).size).header;
  } finally {
    closeSync(fd);
  }
}

function openFor(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RecordingError(`${path}: cannot open (${code ?? String(err)})`);
  }
}

/**
 * Streams every frame of a recording to the handlers. Returns the header and frame count; throws
 * RecordingError on damage after delivering every intact frame before it.
 */
export function readRecording(path: string, handlers: RecordingReadHandlers): { header: RecordingHeader; frames: number } {
  const fd = openFor(path);
  try {
    const size = fstatSync(fd).size;
    const { header, offset } = readHeader(fd, path, size);
    let pos = offset;
    let frames = 0;
    const fh = Buffer.alloc(FRAME_HEADER);
    while (pos < size) {
      if (pos + FRAME_HEADER > size) throw new RecordingError(`${path}: truncated at byte ${pos} (frame ${frames + 1} header incomplete)`);
      readSync(fd, fh, 0, FRAME_HEADER, pos);
      const kind = fh[0];
      const len = fh.readUInt32LE(4);
      const sum = fh.readUInt32LE(8);
      if ((kind !== FrameKind.batch && kind !== FrameKind.meta) || fh[1] || fh[2] || fh[3]) {
        throw new RecordingError(`${path}: corrupt frame ${frames + 1} at byte ${pos} (unknown frame kind ${kind})`);
      }
      if (len > MAX_FRAME_BYTES) throw new RecordingError(`${path}: corrupt frame ${frames + 1} at byte ${pos} (length ${len} exceeds ${MAX_FRAME_BYTES})`);
      if (pos + FRAME_HEADER + len > size) {
        throw new RecordingError(`${path}: truncated at byte ${size} (frame ${frames + 1} needs ${len} bytes, ${size - pos - FRAME_HEADER} present)`);
      }
      const payload = Buffer.allocUnsafe(len);
      if (len) readSync(fd, payload, 0, len, pos + FRAME_HEADER);
      if (crc32(payload) !== sum) throw new RecordingError(`${path}: corrupt frame ${frames + 1} at byte ${pos} (checksum mismatch)`);
      frames++;
      pos += FRAME_HEADER + len;
      if (kind === FrameKind.batch) {
        handlers.onBatch(payload);
      } else if (handlers.onMeta) {
        let meta: unknown;
        try {
          meta = JSON.parse(payload.toString('utf8'));
        } catch {
          throw new RecordingError(`${path}: corrupt metadata frame ${frames} at byte ${pos - FRAME_HEADER - len} (invalid JSON)`);
        }
        handlers.onMeta(meta);
      }
    }
    return { header, frames };
  } finally {
    closeSync(fd);
  }
}
