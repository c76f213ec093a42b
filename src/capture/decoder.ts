// Decodes batches of kernel records (as delivered by the loader or read from a recording) into
// typed events. This is a hot path: no per-record allocation beyond the event object itself,
// payloads and addresses are views into the batch buffer (each batch is a fresh copy, so views
// stay valid), and malformed input is counted and skipped, never thrown.
import { DataFlags, EVENTS_VERSION, EventType, Layout, SourceName, type SourceKind } from './layout.ts';

export interface RawTuple {
  readonly family: number;
  readonly lport: number;
  readonly rport: number;
  /** 16-byte views; IPv4 uses the first 4 bytes. */
  readonly laddr: Uint8Array;
  readonly raddr: Uint8Array;
}

interface RawBase {
  tsNs: number;
  pid: number;
  tid: number;
  cgroupId: number;
}

export interface RawData extends RawBase {
  type: 'data';
  connId: number;
  sslPtr: number;
  tuple: RawTuple;
  fd: number;
  msgLen: number;
  offset: number;
  direction: 'egress' | 'ingress';
  source: SourceKind;
  flags: number;
  syscall: number;
  payload: Uint8Array;
}

export interface RawConn extends RawBase {
  type: 'conn';
  connId: number;
  tuple: RawTuple;
  oldState: number;
  newState: number;
  srttUs: number;
  durationNs: number;
  retransmits: number;
  rttSamples: number;
}

export interface RawTcp extends RawBase {
  type: 'retransmit' | 'reset';
  connId: number;
  tuple: RawTuple;
  state: number;
  resetDir: 'sent' | 'received';
}

export interface RawExec extends RawBase {
  type: 'exec';
  ppid: number;
  comm: string;
  filename: string;
}

export interface RawExit extends RawBase {
  type: 'exit';
  exitCode: number;
  comm: string;
}

export interface RawTlsBind extends RawBase {
  type: 'tls_bind';
  sslPtr: number;
  connId: number;
  tuple: RawTuple;
  fd: number;
  source: SourceKind;
  method: number;
}

export type RawEvent = RawData | RawConn | RawTcp | RawExec | RawExit | RawTlsBind;

export interface DecoderStats {
  records: number;
  bytes: number;
  badRecords: number;
  unknownTypes: number;
  versionMismatch: number;
  truncatedBatches: number;
}

export function newDecoderStats(): DecoderStats {
  return { records: 0, bytes: 0, badRecords: 0, unknownTypes: 0, versionMismatch: 0, truncatedBatches: 0 };
}

const MIN_SIZE: Record<number, number> = {
  [EventType.data]: Layout.data.size,
  [EventType.conn]: Layout.conn.size,
  [EventType.retransmit]: Layout.tcp.size,
  [EventType.reset]: Layout.tcp.size,
  [EventType.exec]: Layout.exec.size,
  [EventType.exit]: Layout.exit.size,
  [EventType.tlsBind]: Layout.tlsBind.size,
};

const TWO32 = 4294967296;

function u64(v: DataView, off: number): number {
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * TWO32;
}

/** Addresses are materialised only when read: most records never need them (hot path). */
class BatchTuple implements RawTuple {
  readonly family: number;
  readonly lport: number;
  readonly rport: number;
  constructor(
    private readonly b: Buffer,
    v: DataView,
    private readonly off: number,
  ) {
    this.family = v.getUint16(off + Layout.tuple.family, true);
    this.lport = v.getUint16(off + Layout.tuple.lport, true);
    this.rport = v.getUint16(off + Layout.tuple.rport, true);
  }
  get laddr(): Uint8Array {
    return this.b.subarray(this.off + Layout.tuple.laddr, this.off + Layout.tuple.laddr + 16);
  }
  get raddr(): Uint8Array {
    return this.b.subarray(this.off + Layout.tuple.raddr, this.off + Layout.tuple.raddr + 16);
  }
  toJSON(): RawTuple {
    return { family: this.family, lport: this.lport, rport: this.rport, laddr: this.laddr, raddr: this.raddr };
  }
}

function tupleAt(b: Buffer, v: DataView, off: number): RawTuple {
  return new BatchTuple(b, v, off);
}

function cString(b: Buffer, start: number, max: number): string {
  const end = b.indexOf(0, start);
  const stop = end < 0 || end > start + max ? start + max : end;
  return b.toString('utf8', start, stop);
}

/**
 * Decodes every record in `batch` (records are 8-byte aligned, each starting with llmslo_hdr).
 * Calls `emit` for each well-formed record. Returns the number of records decoded.
 */
/**
 * Takes a sizes-only data record (a muted connection's transfer) without decoding it into an
 * event; false: decode it as usual.
 */
export type SizesHandler = (connId: number, direction: 'egress' | 'ingress', bytes: number, tsNs: number) => boolean;

export function decodeBatch(batch: Buffer, emit: (ev: RawEvent) => void, stats: DecoderStats, sizes?: SizesHandler): number {
  let off = 0;
  let n = 0;
  const len = batch.length;
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  stats.bytes += len;
  while (off + Layout.hdr.size <= len) {
    const type = view.getUint16(off, true);
    const version = view.getUint16(off + Layout.hdr.version, true);
    const size = view.getUint32(off + Layout.hdr.recordSize, true);
    if (size < Layout.hdr.size || off + size > len) {
      // The size field is the only way to find the next record: without it the rest is lost.
      stats.badRecords++;
      stats.truncatedBatches++;
      return n;
    }
    const next = off + ((size + 7) & ~7);
    if (version !== EVENTS_VERSION) {
      stats.versionMismatch++;
      off = next;
      continue;
    }
    const min = MIN_SIZE[type];
    if (min === undefined) {
      stats.unknownTypes++;
      off = next;
      continue;
    }
    if (size < min) {
      stats.badRecords++;
      off = next;
      continue;
    }
    if (sizes !== undefined && type === EventType.data && (batch[off + Layout.data.flags]! & DataFlags.sizesOnly) !== 0) {
      const L = Layout.data;
      if (sizes(u64(view, off + L.connId), batch[off + L.direction] === 0 ? 'egress' : 'ingress', view.getUint32(off + L.msgLen, true), u64(view, off + Layout.hdr.tsNs))) {
        n++;
        off = next;
        continue;
      }
    }
    const ev = decodeRecord(batch, view, off, type, size);
    if (ev) {
      n++;
      emit(ev);
    } else {
      stats.badRecords++;
    }
    off = next;
  }
  stats.records += n;
  return n;
}

function decodeRecord(b: Buffer, v: DataView, off: number, type: number, size: number): RawEvent | null {
  const tsNs = u64(v, off + Layout.hdr.tsNs);
  const pid = v.getUint32(off + Layout.hdr.pid, true);
  const tid = v.getUint32(off + Layout.hdr.tid, true);
  const cgroupId = u64(v, off + Layout.hdr.cgroupId);
  switch (type) {
    case EventType.data: {
      const L = Layout.data;
      const payloadLen = v.getUint16(off + L.payloadLen, true);
      if (L.size + payloadLen > size) return null;
      const source = SourceName[b[off + L.source]];
      if (source === undefined) return null;
      return {
        type: 'data', tsNs, pid, tid, cgroupId,
        connId: u64(v, off + L.connId),
        sslPtr: u64(v, off + L.sslPtr),
        tuple: tupleAt(b, v, off + L.tuple),
        fd: v.getInt32(off + L.fd, true),
        msgLen: v.getUint32(off + L.msgLen, true),
        offset: v.getUint32(off + L.offset, true),
        direction: b[off + L.direction] === 0 ? 'egress' : 'ingress',
        source,
        flags: b[off + L.flags],
        syscall: b[off + L.syscall],
        payload: b.subarray(off + L.payload, off + L.payload + payloadLen),
      };
    }
    case EventType.conn: {
      const L = Layout.conn;
      return {
        type: 'conn', tsNs, pid, tid, cgroupId,
        connId: u64(v, off + L.connId),
        tuple: tupleAt(b, v, off + L.tuple),
        oldState: b[off + L.oldState],
        newState: b[off + L.newState],
        srttUs: v.getUint32(off + L.srttUs, true),
        durationNs: u64(v, off + L.durationNs),
        retransmits: v.getUint32(off + L.retransmits, true),
        rttSamples: v.getUint32(off + L.rttSamples, true),
      };
    }
    case EventType.retransmit:
    case EventType.reset: {
      const L = Layout.tcp;
      return {
        type: type === EventType.reset ? 'reset' : 'retransmit', tsNs, pid, tid, cgroupId,
        connId: u64(v, off + L.connId),
        tuple: tupleAt(b, v, off + L.tuple),
        state: b[off + L.state],
        resetDir: b[off + L.resetDir] === 0 ? 'sent' : 'received',
      };
    }
    case EventType.exec: {
      const L = Layout.exec;
      return {
        type: 'exec', tsNs, pid, tid, cgroupId,
        ppid: v.getUint32(off + L.ppid, true),
        comm: cString(b, off + L.comm, 16),
        filename: cString(b, off + L.filename, 256),
      };
    }
    case EventType.exit: {
      const L = Layout.exit;
      return {
        type: 'exit', tsNs, pid, tid, cgroupId,
        exitCode: v.getInt32(off + L.exitCode, true),
        comm: cString(b, off + L.comm, 16),
      };
    }
    case EventType.tlsBind: {
      const L = Layout.tlsBind;
      const source = SourceName[b[off + L.source]];
      if (source === undefined) return null;
      return {
        type: 'tls_bind', tsNs, pid, tid, cgroupId,
        sslPtr: u64(v, off + L.sslPtr),
        connId: u64(v, off + L.connId),
        tuple: tupleAt(b, v, off + L.tuple),
        fd: v.getInt32(off + L.fd, true),
        source,
        method: b[off + L.method],
      };
    }
  }
  return null;
}

export function isTruncated(ev: RawData): boolean {
  return (ev.flags & DataFlags.truncated) !== 0;
}

/** Dotted IPv4 or RFC 5952 IPv6 (IPv4-mapped shown as IPv4). */
export function formatAddress(family: number, a: Uint8Array): string {
  if (family === 2) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  if (family !== 10) return '';
  if (a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0 && a[4] === 0 && a[5] === 0 && a[6] === 0 && a[7] === 0 &&
      a[8] === 0 && a[9] === 0 && a[10] === 0xff && a[11] === 0xff) {
    return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a[i] << 8) | a[i + 1]);
  // Longest run of zero groups (length >= 2) becomes '::'.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
