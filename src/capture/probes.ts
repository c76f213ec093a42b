// Which kernel programs llmslo attaches, and whether each one is required. A required probe that
// fails to attach stops the agent with a one-line error; an optional one is reported and skipped.

export interface ProbeSpec {
  program: string;
  required: boolean;
  /** What is lost without it, for `llmslo doctor` and start-up warnings. */
  purpose: string;
}

const syscall = (name: string, required: boolean): ProbeSpec[] => [
  { program: `sys_enter_${name}`, required, purpose: `${name}() payloads` },
  { program: `sys_exit_${name}`, required, purpose: `${name}() payloads` },
];

export const TRACEPOINT_PROBES: readonly ProbeSpec[] = [
  ...syscall('read', true),
  ...syscall('write', true),
  ...syscall('sendto', true),
  ...syscall('recvfrom', true),
  ...syscall('readv', false),
  ...syscall('writev', false),
  ...syscall('sendmsg', false),
  ...syscall('recvmsg', false),
  ...syscall('sendmmsg', false),
  ...syscall('recvmmsg', false),
  { program: 'on_inet_sock_set_state', required: true, purpose: 'TCP connect/close lifecycle' },
  { program: 'on_tcp_retransmit', required: false, purpose: 'TCP retransmissions' },
  { program: 'on_tcp_send_reset', required: false, purpose: 'TCP resets sent' },
  { program: 'on_tcp_receive_reset', required: false, purpose: 'TCP resets received' },
  { program: 'on_tcp_probe', required: false, purpose: 'smoothed RTT per connection' },
  { program: 'on_exec', required: true, purpose: 'process cache and new TLS targets' },
  { program: 'on_exit', required: false, purpose: 'process exit' },
];

/** TLS uprobes: entry probes on writes (plaintext is in the arguments), entry+return on reads. */
export interface UprobeSpec {
  func: string;
  program: string;
  retprobe: boolean;
  /** At least one of SSL_write/SSL_read must attach for a target to count. */
  core: boolean;
  /** Attach only to this kind of target. */
  only?: 'libssl' | 'node';
}

export const TLS_UPROBES: readonly UprobeSpec[] = [
  { func: 'SSL_write', program: 'ssl_write_entry', retprobe: false, core: true },
  { func: 'SSL_read', program: 'ssl_read_entry', retprobe: false, core: true },
  { func: 'SSL_read', program: 'ssl_read_return', retprobe: true, core: true },
  { func: 'SSL_write_ex', program: 'ssl_write_ex_entry', retprobe: false, core: false },
  { func: 'SSL_read_ex', program: 'ssl_read_ex_entry', retprobe: false, core: false },
  { func: 'SSL_read_ex', program: 'ssl_read_ex_return', retprobe: true, core: false },
  // Only the return value says how many bytes SSL_write took: a call that fails (want-write on a
  // non-blocking socket, want-read during Node's handshake) is retried with the same bytes, and
  // emitting at entry or at the nested write() counted every retry again.
  { func: 'SSL_write', program: 'ssl_write_return', retprobe: true, core: false },
  { func: 'SSL_write_ex', program: 'ssl_write_ex_return', retprobe: true, core: false },
];

export const TLS_FUNCTIONS = [...new Set(TLS_UPROBES.map((u) => u.func))];
