// Calls that never sent their request — a failed name lookup, a refused or unanswered connect, a
// failed TLS handshake — for the call pipeline: it hands over the calls it sees (they teach which
// endpoints serve LLM and vector-DB calls), the DNS sockets it does not parse as HTTP, and the
// capture's connect_failed / tls_no_data events; records come back through `emit`.
import type { ConnectFailed, ConnectionInfo, DataChunk, Endpoint, TlsNoData } from '../capture/stream.ts';
import { putBounded } from '../util/bounded_map.ts';
import { DnsWatcher } from './dns_watch.ts';
import type { DnsCounters } from './dns_watch.ts';
import type { BuilderEnv } from './env.ts';
import { KnownEndpoints, endpointPort, failedAttemptRecord, fromConnectFailed, fromTlsNoData } from './failed_attempts.ts';
import type { FailedAttempt, KnownEndpoint } from './failed_attempts.ts';
import { LLM_CALL_SCHEMA } from './records.ts';
import type { CallRecord } from './records.ts';

/**
 * An unanswered connect given up sooner than this is a client racing addresses (happy eyeballs:
 * Node 250 ms, curl 200 ms), not a timeout of the call: SDK connect timeouts are seconds.
 */
const MIN_CONNECT_TIMEOUT_NS = 1e9;
/** A TLS connection closed later than this after its ClientHello is not a failed handshake. */
const MAX_HANDSHAKE_NS = 10e9;
/** Processes and servers whose last TLS activity is remembered, newest kept. */
const MAX_TLS_SERVERS = 4096;
/**
 * An open TLS connection vouches for its server only this long after its last request: one whose
 * close was lost (ring overflow) must not hide failed handshakes for ever.
 */
const TLS_ACTIVE_NS = 300e9;

/** A process and a TLS server: by server name when known (a name's addresses rotate), else by address. */
const serverKey = (conn: ConnectionInfo): string | null =>
  conn.remote === null ? null : `${conn.pid}|${conn.serverName ?? conn.remote.address}|${conn.remote.port}`;

export class UnsentCalls {
  private readonly endpoints = new KnownEndpoints();
  /** Client sockets to port 53 (UDP ones never close: bounded). */
  private readonly dnsConns = new Map<number, ConnectionInfo>();
  private readonly dns: DnsWatcher;
  /** serverKey -> when a TLS connection of that process to that server last opened, sent a request or closed. */
  private readonly tlsActive = new Map<string, number>();
  /** serverKey -> that process's TLS connections with plaintext to that server, open now. */
  private readonly tlsOpen = new Map<string, number>();

  constructor(
    private readonly env: BuilderEnv,
    private readonly emit: (rec: CallRecord) => void,
    private readonly maxDnsSockets: number,
  ) {
    this.dns = new DnsWatcher(this.endpoints, (a, ep) => this.emitAttempt(a, ep));
  }

  get dnsCounters(): DnsCounters {
    return { ...this.dns.counters };
  }

  /** `emit` for a client-side call: an answered one teaches its endpoint first. */
  learning(conn: ConnectionInfo): (rec: CallRecord) => void {
    return (rec) => {
      this.endpoints.learn(rec, conn);
      this.emit(rec);
    };
  }

  /** A new connection: true when it is a DNS client socket, watched here instead of parsed as HTTP. */
  onOpen(conn: ConnectionInfo): boolean {
    if (conn.remote?.port !== 53 || conn.tls) return false;
    putBounded(this.dnsConns, conn.connId, conn, this.maxDnsSockets);
    return true;
  }

  /** A socket onOpen took over. */
  isDnsSocket(connId: number): boolean {
    return this.dnsConns.has(connId);
  }

  /** A message on a DNS socket (isDnsSocket). */
  onDnsData(ev: DataChunk): void {
    const conn = this.dnsConns.get(ev.connId);
    if (conn !== undefined) this.dns.onData(conn, ev);
  }

  onClose(connId: number): void {
    this.dnsConns.delete(connId);
  }

  /** A TLS connection carries plaintext: its process's handshake with that server worked. */
  tlsConnectionOpened(conn: ConnectionInfo, tsNs: number): void {
    const key = serverKey(conn);
    if (key === null) return;
    this.tlsOpen.set(key, (this.tlsOpen.get(key) ?? 0) + 1);
    putBounded(this.tlsActive, key, tsNs, MAX_TLS_SERVERS);
  }

  /** ... and is no longer followed (closed, evicted, reused): every tlsConnectionOpened gets one. */
  tlsConnectionGone(conn: ConnectionInfo): void {
    const key = serverKey(conn);
    if (key === null) return;
    const n = (this.tlsOpen.get(key) ?? 0) - 1;
    if (n > 0) this.tlsOpen.set(key, n);
    else this.tlsOpen.delete(key);
  }

  /** A client request (or a close) on a TLS connection with plaintext: that server works for that process. */
  onTlsActivity(conn: ConnectionInfo, tsNs: number): void {
    const key = serverKey(conn);
    if (key !== null) putBounded(this.tlsActive, key, tsNs, MAX_TLS_SERVERS);
  }

  /** Kernel time has reached `nowNs`: unanswered lookups fail. */
  tick(nowNs: number): void {
    this.dns.tick(nowNs);
  }

  /** Records were lost (ring overflow): silence proves nothing for what was pending then. */
  onLoss(): void {
    this.dns.onLoss();
  }

  onConnectFailed(ev: ConnectFailed): void {
    const c = this.env.counters;
    if (ev.reason === 'timeout' && ev.attemptNs < MIN_CONNECT_TIMEOUT_NS) {
      c.connectAttemptsAbandoned++;
      return;
    }
    const known = this.endpointOf(ev.conn.remote);
    if (known === undefined) {
      c.connectFailuresOther++;
      return;
    }
    c.connectFailuresRecorded++;
    this.emitAttempt(fromConnectFailed(ev, known.name), known.ep);
  }

  onTlsNoData(ev: TlsNoData): void {
    const known = this.endpointOf(ev.conn.remote, ev.conn.serverName);
    const attempt = fromTlsNoData(ev);
    // Only a workload that called the endpoint, its plaintext seen (so its TLS library is
    // instrumented), and a connection closed soon after its ClientHello.
    if (attempt === null || known === undefined || !known.ep.workloads.has(ev.conn.cgroupId) || ev.tsNs - ev.helloNs > MAX_HANDSHAKE_NS) {
      this.env.counters.tlsFailuresOther++;
      return;
    }
    // Closed without an alert while the same process talked TLS to that server on another
    // connection (a request or close since the ClientHello, or one open and recently used):
    // this one was never used — a pool's spare, or a process exiting with it half-open — for a
    // certificate that process rejects, it rejects on every connection.
    if (ev.alertDirection === null && this.workedSince(ev.conn, ev.helloNs)) {
      this.env.counters.tlsUnusedConnections++;
      return;
    }
    this.env.counters.tlsFailuresRecorded++;
    this.emitAttempt(attempt, known.ep);
  }

  /**
   * The endpoint a connection went to, and its name when known: the TLS server name or the name
   * a lookup gave the address for, if that name served calls on this port; else the address
   * itself, if it did.
   */
  private endpointOf(remote: Endpoint | null, serverName: string | null = null): { ep: KnownEndpoint; name?: string } | undefined {
    if (remote === null) return undefined;
    const name = serverName ?? this.dns.nameOf(remote.address);
    const byName = name === undefined ? undefined : this.endpoints.lookupHost(name);
    if (byName !== undefined && endpointPort(byName) === remote.port) return { ep: byName, name };
    const byAddress = this.endpoints.lookup(remote);
    return byAddress === undefined ? undefined : { ep: byAddress };
  }

  private workedSince(conn: ConnectionInfo, helloNs: number): boolean {
    const key = serverKey(conn);
    if (key === null) return false;
    const active = this.tlsActive.get(key);
    if (active === undefined) return false;
    return active >= helloNs || (this.tlsOpen.has(key) && helloNs - active <= TLS_ACTIVE_NS);
  }

  private emitAttempt(a: FailedAttempt, ep: KnownEndpoint): void {
    const rec = failedAttemptRecord(a, ep, this.env);
    const c = this.env.counters;
    if (rec.schema === LLM_CALL_SCHEMA) c.llmCalls++;
    else c.retrievalCalls++;
    c.errorsByType[a.errorType] = (c.errorsByType[a.errorType] ?? 0) + 1;
    this.emit(rec);
  }
}
