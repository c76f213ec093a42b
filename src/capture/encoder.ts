// Builds kernel-format records in user space: synthetic recordings for tests, benchmarks and
// fixtures. Same layout as the eBPF programs write (src/capture/layout.ts, checked against C).
import { EVENTS_VERSION, EventType, Layout, Source } from './layout.ts';

export interface SynthTuple {
  family?: number;
  laddr?: number[];
  raddr?: number[];
  lport: number;
  rport: number;
}

interface SynthBase {
  tsNs: number;
  pid: number;
  tid?: number;
  cgroupId?: number;
}

export interface SynthData extends SynthBase {
  connId: number;
  sslPtr?: number;
  tuple: SynthTuple;
  fd?: number;
  msgLen?: number;
  offset?: number;
  direction: 'egress' | 'ingress';
  source?: keyof typeof Source;
  flags?: number;
  syscall?: number;
  payload: Uint8Array | string;
}

export interface SynthConn extends SynthBase {
  connId: number;
  tuple: SynthTuple;
  oldState: number;
  newState: number;
  durationNs?: number;
}

const TWO32 = 4294967296;

function putU64(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v % TWO32 >>> 0, off);
  b.writeUInt32LE(Math.floor(v / TWO32) >>> 0, off + 4);
}

function putHdr(b: Buffer, off: number, type: number, size: number, e: SynthBase): void {
  b.writeUInt16LE(type, off);
  b.writeUInt16LE(EVENTS_VERSION, off + 2);
  b.writeUInt32LE(size, off + 4);
  putU64(b, off + 8, e.tsNs);
  b.writeUInt32LE(e.pid, off + 16);
  b.writeUInt32LE(e.tid ?? e.pid, off + 20);
  putU64(b, off + 24, e.cgroupId ?? 1);
}

function putTuple(b: Buffer, off: number, t: SynthTuple): void {
  (t.laddr ?? [127, 0, 0, 1]).forEach((x, i) => (b[off + i] = x));
  (t.raddr ?? [127, 0, 0, 1]).forEach((x, i) => (b[off + 16 + i] = x));
  b.writeUInt16LE(t.lport, off + 32);
  b.writeUInt16LE(t.rport, off + 34);
  b.writeUInt16LE(t.family ?? 2, off + 36);
}

const align8 = (n: number) => (n + 7) & ~7;

export function encodeData(e: SynthData): Buffer {
  const payload = typeof e.payload === 'string' ? Buffer.from(e.payload) : Buffer.from(e.payload);
  const size = Layout.data.size + payload.length;
  const b = Buffer.alloc(align8(size));
  putHdr(b, 0, EventType.data, size, e);
  const L = Layout.data;
  putU64(b, L.connId, e.connId);
  putU64(b, L.sslPtr, e.sslPtr ?? 0);
  putTuple(b, L.tuple, e.tuple);
  b.writeInt32LE(e.fd ?? 3, L.fd);
  b.writeUInt32LE(e.msgLen ?? payload.length, L.msgLen);
  b.writeUInt32LE(e.offset ?? 0, L.offset);
  b.writeUInt16LE(payload.length, L.payloadLen);
  b[L.direction] = e.direction === 'egress' ? 0 : 1;
  b[L.source] = Source[e.source ?? 'socket'];
  b[L.flags] = e.flags ?? 0;
  b[L.syscall] = e.syscall ?? (e.direction === 'egress' ? 2 : 1);
  payload.copy(b, L.payload);
  return b;
}

export function encodeConn(e: SynthConn): Buffer {
  const b = Buffer.alloc(Layout.conn.size);
  putHdr(b, 0, EventType.conn, Layout.conn.size, e);
  const L = Layout.conn;
  putU64(b, L.connId, e.connId);
  putTuple(b, L.tuple, e.tuple);
  b[L.oldState] = e.oldState;
  b[L.newState] = e.newState;
  b.writeUInt16LE(6, L.protocol);
  putU64(b, L.durationNs, e.durationNs ?? 0);
  return b;
}

/** A tcp_send_reset / tcp_receive_reset record. */
export function encodeReset(e: SynthBase & { connId: number; tuple: SynthTuple; state: number; dir: 'sent' | 'received' }): Buffer {
  const b = Buffer.alloc(Layout.tcp.size);
  putHdr(b, 0, EventType.reset, Layout.tcp.size, e);
  const L = Layout.tcp;
  putU64(b, L.connId, e.connId);
  putTuple(b, L.tuple, e.tuple);
  b[L.state] = e.state;
  b[L.resetDir] = e.dir === 'sent' ? 0 : 1;
  return b;
}

export function encodeTlsBind(e: SynthBase & { sslPtr: number; connId: number; tuple: SynthTuple; fd?: number; source?: keyof typeof Source }): Buffer {
  const b = Buffer.alloc(Layout.tlsBind.size);
  putHdr(b, 0, EventType.tlsBind, Layout.tlsBind.size, e);
  const L = Layout.tlsBind;
  putU64(b, L.sslPtr, e.sslPtr);
  putU64(b, L.connId, e.connId);
  putTuple(b, L.tuple, e.tuple);
  b.writeInt32LE(e.fd ?? 3, L.fd);
  b[L.source] = Source[e.source ?? 'node'];
  b[L.method] = 2;
  return b;
}
