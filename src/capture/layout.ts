// Byte layouts of the kernel event records, mirroring bpf/llmslo_events.h.
// test/capture/layout.test.ts compiles that header with the C compiler and checks that every
// offset and size here agrees with it, so the two cannot drift apart silently.

export const EVENTS_VERSION = 1;
export const CHUNK_BYTES = 4096;
export const COMM_LEN = 16;
export const PATH_LEN = 256;

export const EventType = {
  data: 1,
  conn: 2,
  retransmit: 3,
  reset: 4,
  exec: 5,
  exit: 6,
  tlsBind: 7,
} as const;

export const Source = { socket: 0, libssl: 1, node: 2 } as const;
export const SourceName = ['socket', 'libssl', 'node'] as const;
export type SourceKind = (typeof SourceName)[number];

export const DataFlags = { truncated: 1, unbound: 2, readFault: 4, udp: 8, sizesOnly: 16 } as const;

export const SyscallName: Record<number, string> = {
  1: 'read', 2: 'write', 3: 'readv', 4: 'writev', 5: 'sendto', 6: 'recvfrom', 7: 'sendmsg',
  8: 'recvmsg', 9: 'sendmmsg', 10: 'recvmmsg', 16: 'SSL_write', 17: 'SSL_write_ex', 18: 'SSL_read',
  19: 'SSL_read_ex',
};

/** Kernel per-CPU counters, in enum llmslo_stat order. */
export const KernelStatNames = [
  'ringbuf_drops',
  'read_faults',
  'payload_truncated',
  'non_http_bytes',
  'non_http_calls',
  'tls_unbound',
  'conn_map_full',
  'ssl_hits',
  'ssl_ret_hits',
  'sock_calls',
  'data_events',
  'scratch_busy',
  'muted_calls',
  'muted_bytes',
] as const;

export const TcpStateName: Record<number, string> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT',
  7: 'CLOSE', 8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING', 12: 'NEW_SYN_RECV',
};
export const TcpState = { established: 1, synSent: 2, synRecv: 3, finWait1: 4, close: 7, closeWait: 8 } as const;

/** Field offsets (bytes) and struct sizes. Names follow the C structs. */
export const Layout = {
  hdr: { size: 32, type: 0, version: 2, recordSize: 4, tsNs: 8, pid: 16, tid: 20, cgroupId: 24 },
  tuple: { size: 40, laddr: 0, raddr: 16, lport: 32, rport: 34, family: 36 },
  data: {
    size: 112, connId: 32, sslPtr: 40, tuple: 48, fd: 88, msgLen: 92, offset: 96, payloadLen: 100,
    direction: 102, source: 103, flags: 104, syscall: 105, payload: 112,
  },
  conn: {
    size: 104, connId: 32, tuple: 40, oldState: 80, newState: 81, protocol: 82, srttUs: 84,
    durationNs: 88, retransmits: 96, rttSamples: 100,
  },
  tcp: { size: 88, connId: 32, tuple: 40, state: 80, resetDir: 81 },
  exec: { size: 320, ppid: 32, comm: 40, filename: 56 },
  exit: { size: 64, exitCode: 32, comm: 40 },
  tlsBind: { size: 96, sslPtr: 32, connId: 40, tuple: 48, fd: 88, source: 92, method: 93 },
} as const;
