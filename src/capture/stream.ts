// The contract between the capture plane and the protocol layer.
//
// The capture plane (live eBPF or a replayed recording) turns raw kernel records into an
// ordered stream of per-connection happenings: a connection is seen, bytes flow in one
// direction at a kernel timestamp, a connection ends. TLS plaintext and plain socket payloads
// arrive the same way (`tls` tells which). Protocol parsers consume only this, so they run
// unchanged on live capture, replays and synthetic streams in tests.
//
// Timestamps are kernel CLOCK_MONOTONIC nanoseconds as a JS number (exact to the ns for the
// first 104 days of uptime, then to a few ns: far below anything we measure).

export type Direction = 'egress' | 'ingress';

export interface Endpoint {
  /** Dotted IPv4 or RFC 5952 IPv6 text. */
  address: string;
  port: number;
}

export interface ConnectionInfo {
  /** Stable id for the life of the connection (kernel-assigned for sockets). */
  connId: number;
  pid: number;
  /** Thread that first touched the connection. */
  tid: number;
  cgroupId: number;
  local: Endpoint | null;
  remote: Endpoint | null;
  /** True when the bytes are TLS plaintext captured by uprobes. */
  tls: boolean;
  /** TLS server name when known (SNI); otherwise null. */
  serverName: string | null;
  /**
   * The other end of this connection, when it is captured too (client and server on one node):
   * set by the protocol pipeline from the endpoints, on both ends.
   */
  peerConnId?: number;
}

export interface DataChunk {
  kind: 'data';
  connId: number;
  direction: Direction;
  /** Kernel time the call that moved these bytes completed (write: handed to kernel/TLS; read: returned). */
  tsNs: number;
  /** Captured bytes. May be shorter than the call's byte count (see `missingAfter`). */
  bytes: Uint8Array;
  /**
   * Bytes of this call that were NOT captured (payload cap or lost records). The parser must treat
   * them as a gap: skip them, mark the current message partial, resynchronise. Never invent data.
   */
  missingAfter: number;
  tls: boolean;
}

const NO_BYTES = new Uint8Array(0);

/** A transfer known by its size only (a sizes-only muted connection): a data event whose bytes are all missing. */
export function sizesOnlyChunk(connId: number, direction: Direction, bytes: number, tsNs: number, tls: boolean): DataChunk {
  return { kind: 'data', connId, direction, tsNs, bytes: NO_BYTES, missingAfter: bytes, tls };
}

export type CloseReason =
  | 'close'          // orderly close (FIN) with no further detail
  | 'local_close'    // this host closed first (FIN_WAIT1)
  | 'remote_close'   // the peer closed first (CLOSE_WAIT)
  | 'reset_sent'     // we sent RST (client cancel / abort)
  | 'reset_received' // the peer sent RST
  | 'refused'        // connect failed: RST to SYN
  | 'timeout';       // connect or retransmission timeout

export interface ConnectionOpen {
  kind: 'open';
  tsNs: number;
  conn: ConnectionInfo;
}

export interface ConnectionClose {
  kind: 'close';
  connId: number;
  tsNs: number;
  reason: CloseReason;
}

/** Records were lost somewhere (ring buffer overflow): streams may have gaps the parser cannot see. */
export interface CaptureLoss {
  kind: 'loss';
  tsNs: number;
  lostRecords: number;
}

/**
 * A TCP connect that never established (SYN_SENT -> CLOSE): no byte flowed, so no open or close
 * event exists for it. `refused`: the peer answered the SYN with RST; `timeout`: no answer before
 * the kernel or the application gave up (also unreachable networks).
 */
export interface ConnectFailed {
  kind: 'connect_failed';
  /** When the attempt ended. */
  tsNs: number;
  conn: ConnectionInfo;
  reason: 'refused' | 'timeout';
  /** connect() to the end of the attempt (0 when the kernel did not see the start). */
  attemptNs: number;
}

/**
 * A TLS connection that closed without any plaintext, after an alert or closed by this side:
 * a failed handshake, or one this side gave up on (e.g. Node's certificate check after the
 * handshake), or an unused connection — the consumer decides. No open or close event exists for it.
 */
export interface TlsNoData {
  kind: 'tls_no_data';
  /** When the connection closed. */
  tsNs: number;
  /** As of the ClientHello (its server name included). */
  conn: ConnectionInfo;
  helloNs: number;
  reason: CloseReason;
  /** Who sent a TLS alert: `egress` this side (e.g. rejecting the peer's certificate), `ingress` the peer; null: none seen. */
  alertDirection: Direction | null;
  /** The alert's description code when it travelled in the clear (e.g. 42 bad_certificate), else null. */
  alertDescription: number | null;
}

export type StreamEvent = ConnectionOpen | DataChunk | ConnectionClose | CaptureLoss | ConnectFailed | TlsNoData;

/** Anything that consumes the per-connection stream (the HTTP layer, a debugging printer, ...). */
export interface StreamSink {
  onEvent(ev: StreamEvent): void;
  /**
   * Optional fast path for a muted connection's transfer shipped as its size only (kernel
   * sizes-only mute): the same as a `data` event with no bytes and `bytes` missing, without the
   * event object. Sinks without it get that data event.
   */
  onSizes?(connId: number, direction: Direction, bytes: number, tsNs: number): void;
  /** Optional: kernel time has reached `nowNs`, records or not (the live capture's periodic tick). */
  tick?(nowNs: number): void;
  /** Called at end of replay or agent shutdown: flush what can be flushed, mark the rest partial. */
  flush(nowNs: number): void;
}
