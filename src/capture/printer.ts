// Human-readable and JSON renderings of capture events, for `llmslo capture` and `llmslo replay`.
import { formatAddress, type RawEvent } from './decoder.ts';
import { SyscallName, TcpStateName } from './layout.ts';
import type { ProcessCache } from './processes.ts';
import type { Endpoint, StreamEvent } from './stream.ts';

const PREVIEW = 96;

/** Printable preview: control bytes escaped, long payloads cut. Never the full body. */
export function preview(bytes: Uint8Array, max = PREVIEW): string {
  const n = Math.min(bytes.length, max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === 0x0a) s += '\\n';
    else if (c === 0x0d) s += '\\r';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += '.';
  }
  return bytes.length > max ? `${s}…` : s;
}

function secs(tsNs: number): string {
  return (tsNs / 1e9).toFixed(6);
}

export function formatRaw(ev: RawEvent, procs?: ProcessCache): string {
  const who = `${ev.pid}${procs ? `/${procs.get(ev.pid).comm ?? '?'}` : ''}`;
  switch (ev.type) {
    case 'data': {
      const t = ev.tuple;
      const peer = t.family ? `${formatAddress(t.family, t.laddr)}:${t.lport}->${formatAddress(t.family, t.raddr)}:${t.rport}` : 'unbound';
      return `${secs(ev.tsNs)} ${who} data conn=${ev.connId} ${ev.direction === 'egress' ? 'OUT' : 'IN '} ${ev.source} ${SyscallName[ev.syscall] ?? ev.syscall} ${peer} len=${ev.msgLen} off=${ev.offset} cap=${ev.payload.length} "${preview(ev.payload)}"`;
    }
    case 'conn':
      return `${secs(ev.tsNs)} ${who} tcp conn=${ev.connId} ${TcpStateName[ev.oldState] ?? ev.oldState}->${TcpStateName[ev.newState] ?? ev.newState} ${formatAddress(ev.tuple.family, ev.tuple.laddr)}:${ev.tuple.lport}->${formatAddress(ev.tuple.family, ev.tuple.raddr)}:${ev.tuple.rport}${ev.durationNs ? ` dur=${(ev.durationNs / 1e6).toFixed(3)}ms` : ''}${ev.srttUs ? ` srtt=${ev.srttUs}us` : ''}${ev.retransmits ? ` retrans=${ev.retransmits}` : ''}`;
    case 'retransmit':
    case 'reset':
      return `${secs(ev.tsNs)} ${who} ${ev.type}${ev.type === 'reset' ? `(${ev.resetDir})` : ''} conn=${ev.connId} ${formatAddress(ev.tuple.family, ev.tuple.laddr)}:${ev.tuple.lport}->${formatAddress(ev.tuple.family, ev.tuple.raddr)}:${ev.tuple.rport} state=${TcpStateName[ev.state] ?? ev.state}`;
    case 'exec':
      return `${secs(ev.tsNs)} ${who} exec ${ev.filename} (${ev.comm}, ppid ${ev.ppid})`;
    case 'exit':
      return `${secs(ev.tsNs)} ${who} exit code=${ev.exitCode} (${ev.comm})`;
    case 'tls_bind':
      return `${secs(ev.tsNs)} ${who} tls-bind ssl=0x${ev.sslPtr.toString(16)} conn=${ev.connId} fd=${ev.fd} via=${ev.source}/${ev.method}`;
  }
}

export function rawToJson(ev: RawEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { ...ev };
  if ('tuple' in ev) {
    const t = ev.tuple;
    out.tuple = t.family
      ? { family: t.family === 2 ? 'ipv4' : 'ipv6', local: `${formatAddress(t.family, t.laddr)}:${t.lport}`, remote: `${formatAddress(t.family, t.raddr)}:${t.rport}` }
      : null;
  }
  if (ev.type === 'data') {
    out.payload = preview(ev.payload, 256);
    out.payload_len = ev.payload.length;
    out.syscall = SyscallName[ev.syscall] ?? ev.syscall;
  }
  return out;
}

const endpoint = (e: Endpoint | null): string => (e ? `${e.address}:${e.port}` : '?');

export function formatStream(ev: StreamEvent): string {
  switch (ev.kind) {
    case 'open': {
      const c = ev.conn;
      return `${secs(ev.tsNs)} open conn=${c.connId} pid=${c.pid} ${endpoint(c.local)}->${endpoint(c.remote)}${c.tls ? ` tls${c.serverName ? ` sni=${c.serverName}` : ''}` : ''}`;
    }
    case 'data':
      return `${secs(ev.tsNs)} ${ev.direction === 'egress' ? 'OUT' : 'IN '} conn=${ev.connId} ${ev.tls ? 'tls' : 'plain'} ${ev.bytes.length}B${ev.missingAfter ? ` (+${ev.missingAfter} not captured)` : ''} "${preview(ev.bytes)}"`;
    case 'close':
      return `${secs(ev.tsNs)} close conn=${ev.connId} ${ev.reason}`;
    case 'loss':
      return `${secs(ev.tsNs)} LOSS ${ev.lostRecords} records`;
    case 'tls_no_data': {
      const c = ev.conn;
      const alert = ev.alertDirection === null ? 'no alert' : `alert ${ev.alertDirection === 'egress' ? 'sent' : 'received'}${ev.alertDescription === null ? '' : ` ${ev.alertDescription}`}`;
      return `${secs(ev.tsNs)} tls closed without data conn=${c.connId} pid=${c.pid} ->${endpoint(c.remote)}${c.serverName ? ` sni=${c.serverName}` : ''} ${ev.reason}, ${alert}`;
    }
    case 'connect_failed': {
      const c = ev.conn;
      return `${secs(ev.tsNs)} connect ${ev.reason} conn=${c.connId} pid=${c.pid} ->${endpoint(c.remote)} after ${(ev.attemptNs / 1e6).toFixed(1)} ms`;
    }
  }
}

/** One JSON line for a stream event; payload bytes as a short latin1 preview (never the body). */
export function streamToJson(ev: StreamEvent): string {
  return JSON.stringify(ev, (k, v: unknown) => (k === 'bytes' && v instanceof Uint8Array ? Buffer.from(v).toString('latin1').slice(0, 256) : v));
}
