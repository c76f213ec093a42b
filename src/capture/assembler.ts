// Turns decoded kernel records into the per-connection stream the protocol layer consumes
// (src/capture/stream.ts):
//   - continuation records of one call are joined into one DataChunk; bytes beyond the payload
//     cap become `missingAfter` (a gap the parser must skip, never invent);
//   - TLS plaintext is attributed to its socket connection; records that arrive before their
//     SSL* is bound wait (bounded) for the TLS_BIND record, or go out on a connection of their own;
//   - the TLS ClientHello that the kernel ships once per connection yields the SNI server name;
//   - TCP close, reset and refusal become a close reason; a connect that never established
//     (no byte, so no open) becomes a connect_failed event.
import type { RawConn, RawData, RawEvent, RawTcp, RawTlsBind } from './decoder.ts';
import { formatAddress } from './decoder.ts';
import { DataFlags, TcpState } from './layout.ts';
import type { ProcessCache } from './processes.ts';
import { sizesOnlyChunk } from './stream.ts';
import type { CloseReason, ConnectionInfo, Direction, StreamSink } from './stream.ts';
import { parseClientHelloSni } from './tls-hello.ts';

export interface AssemblerOptions {
  /** The payload cap the kernel used: a message whose captured bytes reach it is complete. */
  payloadCap: number;
  processes?: ProcessCache;
  /** How long unbound TLS records wait for their binding (ns of kernel time). */
  unboundTtlNs?: number;
  /** Max bytes held for unbound TLS records across all SSL* (memory bound). */
  unboundMaxBytes?: number;
  /** TCP lifecycle, retransmits and resets, for network signals. */
  onTcpEvent?: (ev: RawConn | RawTcp) => void;
}

export interface AssemblerStats {
  chunks: number;
  continuationRecords: number;
  incompleteMessages: number;
  tlsBound: number;
  tlsUnboundQueued: number;
  tlsUnboundExpired: number;
  tlsUnboundDropped: number;
  sniSeen: number;
  opens: number;
  closes: number;
  connsEvicted: number;
  ciphertextDropped: number;
  connectFailures: number;
  tlsNoData: number;
}

interface ConnState {
  opened: boolean;
  tls: boolean;
  serverName: string | null;
  resetSent: boolean;
  resetReceived: boolean;
  firstCloseSide: 'local' | 'remote' | null;
  pid: number;
  /** The connection as of its ClientHello, until plaintext opens it. */
  hello: { conn: ConnectionInfo; tsNs: number } | null;
  /** A TLS alert seen before any plaintext. */
  alert: { direction: 'egress' | 'ingress'; description: number | null } | null;
}

interface PendingMessage {
  key: number;
  connId: number;
  direction: 'egress' | 'ingress';
  tsNs: number;
  msgLen: number;
  parts: Uint8Array[];
  captured: number;
  tls: boolean;
  first: RawData;
}

interface UnboundQueue {
  records: RawData[];
  bytes: number;
  firstTs: number;
}

/** Egress keeps the id, ingress maps to a negative number: unique without string building. */
function pendingKey(connId: number, direction: 'egress' | 'ingress'): number {
  return direction === 'egress' ? connId : -connId - 1;
}

/** Synthetic ids for TLS streams whose socket was never learned (kernel ids stay far below). */
const SYNTHETIC_BASE = 2 ** 52;
const MAX_CONNS = 65536;
/** How long a TCP close waits for reads of data queued before it (kernel ns). */
const CLOSE_GRACE_NS = 100e6;
/**
 * A TLS alert record on its own, as the kernel ships them (see is_tls_alert in the BPF program):
 * plaintext (type 21), or one 19-byte encrypted TLS 1.3 record, possibly after a ChangeCipherSpec.
 */
function isTlsAlert(b: Uint8Array): boolean {
  if (b.length >= 7 && b[0] === 21 && b[1] === 3) return true;
  const off = b.length === 30 && b[0] === 20 ? 6 : 0;
  return b.length === off + 24 && b[off] === 23 && b[off + 1] === 3 && b[off + 3] === 0 && b[off + 4] === 19;
}

/**
 * Flags on the last record of a message that ends short of its length (a muted connection's
 * sizes-only record is its message's only record: its bytes reach the stream as missing ones).
 */
const MESSAGE_ENDED = DataFlags.truncated | DataFlags.readFault | DataFlags.sizesOnly;

export class StreamAssembler {
  readonly stats: AssemblerStats = {
    chunks: 0, continuationRecords: 0, incompleteMessages: 0, tlsBound: 0, tlsUnboundQueued: 0,
    tlsUnboundExpired: 0, tlsUnboundDropped: 0, sniSeen: 0, opens: 0, closes: 0, connsEvicted: 0, ciphertextDropped: 0,
    connectFailures: 0, tlsNoData: 0,
  };
  private readonly conns = new Map<number, ConnState>();
  /** Keyed by pendingKey(connId, direction): numbers, not strings, on the hot path. */
  private readonly pending = new Map<number, PendingMessage>();
  private readonly unbound = new Map<string, UnboundQueue>();
  private readonly syntheticIds = new Map<string, number>();
  /** TCP closes waiting out their grace period, in arrival order. */
  private readonly closeQueue: RawConn[] = [];
  private unboundBytes = 0;
  private nextSynthetic = SYNTHETIC_BASE;
  private lastTs = 0;
  private readonly ttl: number;
  private readonly unboundMax: number;

  constructor(
    private readonly sink: StreamSink,
    private readonly opts: AssemblerOptions,
  ) {
    this.ttl = opts.unboundTtlNs ?? 2e9;
    this.unboundMax = opts.unboundMaxBytes ?? 8 * 1024 * 1024;
  }

  onEvent(ev: RawEvent): void {
    if (ev.tsNs > this.lastTs) this.lastTs = ev.tsNs;
    // Closes that fell due before this record's time go first, as tick() would have sent them.
    if (this.closeQueue.length) this.deliverDueCloses(this.lastTs);
    switch (ev.type) {
      case 'data':
        this.onData(ev);
        break;
      case 'tls_bind':
        this.onBind(ev);
        break;
      case 'conn':
        this.onConn(ev);
        this.opts.onTcpEvent?.(ev);
        break;
      case 'retransmit':
        this.opts.onTcpEvent?.(ev);
        break;
      case 'reset': {
        // A reset answering a SYN (no byte yet, so no state) is kept: the close says "refused".
        const c = this.conns.get(ev.connId) ?? (ev.state === TcpState.synSent && ev.connId !== 0 ? this.conn(ev.connId, ev.pid) : undefined);
        if (c) {
          if (ev.resetDir === 'sent') c.resetSent = true;
          else c.resetReceived = true;
        }
        this.opts.onTcpEvent?.(ev);
        break;
      }
      case 'exec':
        this.opts.processes?.onExec(ev.pid, ev.comm, ev.filename);
        break;
      case 'exit':
        this.opts.processes?.onExit(ev.pid, ev.comm);
        break;
    }
    if (this.unbound.size) this.expireUnbound(this.lastTs);
  }

  /**
   * A muted connection's transfer, shipped as its size only (kernel sizes-only mute), taken
   * without an event object when nothing of that connection waits here; false: decode it as a
   * data record (first sight of the connection, a message in assembly, a TLS record to bind).
   */
  onSizes(connId: number, direction: Direction, bytes: number, tsNs: number): boolean {
    const c = this.conns.get(connId);
    if (c === undefined || !c.opened || (this.pending.size > 0 && this.pending.has(pendingKey(connId, direction)))) return false;
    if (tsNs > this.lastTs) this.lastTs = tsNs;
    if (this.closeQueue.length) this.deliverDueCloses(this.lastTs);
    this.stats.chunks++;
    if (this.sink.onSizes !== undefined) this.sink.onSizes(connId, direction, bytes, tsNs);
    else this.sink.onEvent(sizesOnlyChunk(connId, direction, bytes, tsNs, c.tls));
    if (this.unbound.size) this.expireUnbound(this.lastTs);
    return true;
  }

  private conn(connId: number, pid: number): ConnState {
    let c = this.conns.get(connId);
    if (!c) {
      c = { opened: false, tls: false, serverName: null, resetSent: false, resetReceived: false, firstCloseSide: null, pid, hello: null, alert: null };
      this.conns.set(connId, c);
      if (this.conns.size > MAX_CONNS) {
        // Connections whose close we never saw (UDP, evicted kernel state): forget the oldest.
        const oldest = this.conns.keys().next().value;
        if (oldest !== undefined) this.conns.delete(oldest);
        this.stats.connsEvicted++;
      }
    }
    return c;
  }

  private onData(ev: RawData): void {
    const tls = ev.source !== 'socket';
    if (tls && ev.connId === 0) {
      this.queueUnbound(ev);
      return;
    }
    // A bound record for an SSL* with records still waiting: the kernel bound it, and its
    // TLS_BIND record was lost (ring overflow). The record itself says where they belong.
    if (tls && this.unbound.size && this.unbound.has(`${ev.pid}:${ev.sslPtr}`)) {
      this.onBind({ type: 'tls_bind', tsNs: ev.tsNs, pid: ev.pid, tid: ev.tid, cgroupId: ev.cgroupId, sslPtr: ev.sslPtr, connId: ev.connId, tuple: ev.tuple, fd: ev.fd, source: ev.source, method: 0 });
    }
    if (!tls && ev.offset === 0 && ev.payload.length > 5 && ev.payload[0] >= 0x14 && ev.payload[0] <= 0x17 && ev.payload[1] === 3) {
      // TLS records on the socket. The kernel ships a ClientHello once per connection, for its
      // server name; any other ciphertext (capture-all, configured ports) is never plaintext.
      if (ev.direction === 'egress' && ev.payload[0] === 0x16 && ev.payload[5] === 1) {
        const c = this.conn(ev.connId, ev.pid);
        const sni = parseClientHelloSni(ev.payload);
        if (sni) {
          c.serverName = sni;
          this.stats.sniSeen++;
        }
        c.hello = { conn: this.connInfo(ev, ev.connId, true, sni ?? null), tsNs: ev.tsNs };
      } else {
        if (isTlsAlert(ev.payload)) {
          // shipped by the kernel only before any plaintext on a connection that sent a ClientHello
          const c = this.conns.get(ev.connId);
          if (c && !c.opened && c.alert === null) c.alert = { direction: ev.direction, description: ev.payload[0] === 21 ? ev.payload[6]! : null };
        }
        this.stats.ciphertextDropped++;
      }
      return;
    }
    if (!tls && this.conns.get(ev.connId)?.tls) {
      this.stats.ciphertextDropped++;
      return;
    }
    this.assemble(ev, ev.connId, tls);
  }

  private assemble(ev: RawData, connId: number, tls: boolean): void {
    const key = pendingKey(connId, ev.direction);
    const total = Math.min(ev.msgLen, this.opts.payloadCap);
    if (ev.offset === 0) {
      const prev = this.pending.get(key);
      if (prev) this.finish(prev); // its remaining records were lost
      // Bytes in the other direction mean the peer answered: whatever was pending there is over.
      if (this.pending.size) {
        const other = this.pending.get(pendingKey(connId, ev.direction === 'egress' ? 'ingress' : 'egress'));
        if (other) this.finish(other);
      }
      const ended = (ev.flags & MESSAGE_ENDED) !== 0;
      if (ev.payload.length >= total || ended) {
        // Fast path: the whole (capped) message in one record.
        this.deliver(ev, connId, tls, ev.payload, ev.msgLen - ev.payload.length);
        return;
      }
      this.pending.set(key, {
        key, connId, direction: ev.direction, tsNs: ev.tsNs, msgLen: ev.msgLen,
        parts: [ev.payload], captured: ev.payload.length, tls, first: ev,
      });
      return;
    }
    this.stats.continuationRecords++;
    const p = this.pending.get(key);
    if (!p || p.tsNs !== ev.tsNs || p.msgLen !== ev.msgLen || ev.offset !== p.captured) {
      // A continuation without its start (lost records): keep nothing we cannot place.
      if (p) this.finish(p);
      this.stats.incompleteMessages++;
      return;
    }
    p.parts.push(ev.payload);
    p.captured += ev.payload.length;
    // The kernel flags the last record of a message it could not capture in full.
    if (p.captured >= total || ev.payload.length === 0 || (ev.flags & MESSAGE_ENDED) !== 0) this.finish(p);
  }

  private finish(p: PendingMessage): void {
    this.pending.delete(p.key);
    if (p.captured < Math.min(p.msgLen, this.opts.payloadCap)) this.stats.incompleteMessages++;
    const bytes = p.parts.length === 1 ? p.parts[0] : Buffer.concat(p.parts, p.captured);
    this.deliver(p.first, p.connId, p.tls, bytes, p.msgLen - p.captured);
  }

  private deliver(ev: RawData, connId: number, tls: boolean, bytes: Uint8Array, missingAfter: number): void {
    const c = this.conn(connId, ev.pid);
    if (tls) c.tls = true;
    if (!c.opened) {
      c.opened = true;
      this.stats.opens++;
      c.hello = null;
      const info = this.connInfo(ev, connId, tls, c.serverName);
      this.opts.processes?.get(ev.pid);
      this.sink.onEvent({ kind: 'open', tsNs: ev.tsNs, conn: info });
    }
    this.stats.chunks++;
    this.sink.onEvent({ kind: 'data', connId, direction: ev.direction, tsNs: ev.tsNs, bytes, missingAfter, tls });
  }

  /** The stream's view of a connection, from any kernel record that carries its tuple. */
  private connInfo(ev: RawData | RawConn, connId: number, tls: boolean, serverName: string | null): ConnectionInfo {
    return {
      connId,
      pid: ev.pid,
      tid: ev.tid,
      cgroupId: ev.cgroupId,
      local: ev.tuple.family ? { address: formatAddress(ev.tuple.family, ev.tuple.laddr), port: ev.tuple.lport } : null,
      remote: ev.tuple.family ? { address: formatAddress(ev.tuple.family, ev.tuple.raddr), port: ev.tuple.rport } : null,
      tls,
      serverName,
    };
  }

  // ------------------------------------------------------------------ TLS binding

  private queueUnbound(ev: RawData): void {
    const key = `${ev.pid}:${ev.sslPtr}`;
    const synthetic = this.syntheticIds.get(key);
    if (synthetic !== undefined) {
      this.assemble(ev, synthetic, true);
      return;
    }
    if (this.unboundBytes + ev.payload.length > this.unboundMax) {
      this.stats.tlsUnboundDropped++;
      return;
    }
    let q = this.unbound.get(key);
    if (!q) {
      q = { records: [], bytes: 0, firstTs: ev.tsNs };
      this.unbound.set(key, q);
    }
    // The payload is a view into a batch buffer: copy so the batch can be freed.
    q.records.push({ ...ev, payload: Buffer.from(ev.payload) });
    q.bytes += ev.payload.length;
    this.unboundBytes += ev.payload.length;
    this.stats.tlsUnboundQueued++;
  }

  private onBind(ev: RawTlsBind): void {
    this.stats.tlsBound++;
    const key = `${ev.pid}:${ev.sslPtr}`;
    const c = this.conn(ev.connId, ev.pid);
    c.tls = true;
    const q = this.unbound.get(key);
    if (!q) return;
    this.unbound.delete(key);
    this.unboundBytes -= q.bytes;
    for (const r of q.records) this.assemble({ ...r, connId: ev.connId, tuple: ev.tuple, fd: ev.fd }, ev.connId, true);
  }

  private expireUnbound(now: number): void {
    for (const [key, q] of this.unbound) {
      if (now - q.firstTs < this.ttl) continue;
      // No socket ever claimed this SSL*: deliver on a connection of its own rather than lose it.
      this.unbound.delete(key);
      this.unboundBytes -= q.bytes;
      this.stats.tlsUnboundExpired++;
      const id = this.nextSynthetic++;
      this.syntheticIds.set(key, id);
      if (this.syntheticIds.size > 4096) {
        const first = this.syntheticIds.keys().next().value;
        if (first !== undefined) this.syntheticIds.delete(first);
      }
      for (const r of q.records) this.assemble(r, id, true);
    }
  }

  // ------------------------------------------------------------------ lifecycle

  private onConn(ev: RawConn): void {
    // A connect that never established has no state yet (no byte moved): its close still counts.
    const c = this.conns.get(ev.connId) ?? (ev.newState === TcpState.close && ev.oldState === TcpState.synSent ? this.conn(ev.connId, ev.pid) : undefined);
    if (!c) return;
    if (ev.newState === TcpState.finWait1 && !c.firstCloseSide) c.firstCloseSide = 'local';
    if (ev.newState === TcpState.closeWait && !c.firstCloseSide) c.firstCloseSide = 'remote';
    if (ev.newState !== TcpState.close) return;
    // Data queued before a close or reset is often read just after it (and reaches us after the
    // CLOSE record): the close is delivered once CLOSE_GRACE_NS of kernel time has passed.
    this.closeQueue.push(ev);
  }

  private deliverDueCloses(now: number): void {
    while (this.closeQueue.length && this.closeQueue[0].tsNs + CLOSE_GRACE_NS <= now) {
      this.closeNow(this.closeQueue.shift()!);
    }
  }

  private closeNow(ev: RawConn): void {
    const c = this.conns.get(ev.connId);
    if (!c) return;
    for (const dir of ['egress', 'ingress'] as const) {
      const p = this.pending.get(pendingKey(ev.connId, dir));
      if (p) this.finish(p);
    }
    let reason: CloseReason = 'close';
    if (ev.oldState === TcpState.synSent) reason = c.resetReceived ? 'refused' : 'timeout';
    else if (c.resetReceived) reason = 'reset_received';
    else if (c.resetSent) reason = 'reset_sent';
    else if (c.firstCloseSide === 'local') reason = 'local_close';
    else if (c.firstCloseSide === 'remote') reason = 'remote_close';
    this.conns.delete(ev.connId);
    if (c.opened) {
      this.stats.closes++;
      this.sink.onEvent({ kind: 'close', connId: ev.connId, tsNs: ev.tsNs, reason });
    } else if (reason === 'refused' || reason === 'timeout') {
      this.stats.connectFailures++;
      this.sink.onEvent({ kind: 'connect_failed', tsNs: ev.tsNs, conn: this.connInfo(ev, ev.connId, false, null), reason, attemptNs: ev.durationNs });
    } else if (c.hello !== null && (c.alert !== null || reason === 'local_close' || reason === 'reset_sent') && !this.unboundPendingFor(c.pid)) {
      // No plaintext ever (none of this process is waiting for its SSL* binding either: it could
      // be this connection's), and an alert or this side closing: the handshake failed or was
      // given up (the consumer decides).
      this.stats.tlsNoData++;
      this.sink.onEvent({ kind: 'tls_no_data', tsNs: ev.tsNs, conn: c.hello.conn, helloNs: c.hello.tsNs, reason, alertDirection: c.alert?.direction ?? null, alertDescription: c.alert?.description ?? null });
    }
  }

  private unboundPendingFor(pid: number): boolean {
    if (this.unbound.size === 0) return false;
    const prefix = `${pid}:`;
    for (const key of this.unbound.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  /**
   * Time passes without records (an idle host): closes whose grace period ended and unbound TLS
   * records that waited long enough go out. Call right after draining the ring.
   */
  tick(nowNs: number): void {
    if (nowNs > this.lastTs) this.lastTs = nowNs;
    if (this.closeQueue.length) this.deliverDueCloses(this.lastTs);
    if (this.unbound.size) this.expireUnbound(this.lastTs);
    this.sink.tick?.(this.lastTs);
  }

  /** Injects a loss notice (ring buffer drops seen in the kernel counters). */
  reportLoss(tsNs: number, lostRecords: number): void {
    if (lostRecords > 0) this.sink.onEvent({ kind: 'loss', tsNs, lostRecords });
  }

  flush(nowNs: number): void {
    this.deliverDueCloses(Number.POSITIVE_INFINITY);
    for (const p of [...this.pending.values()]) this.finish(p);
    this.expireUnbound(Number.POSITIVE_INFINITY);
    this.sink.flush(nowNs);
  }

  /** Latest kernel timestamp seen (replays flush at this time). */
  get latestTs(): number {
    return this.lastTs;
  }

  openConnections(): number {
    return this.conns.size;
  }
}
