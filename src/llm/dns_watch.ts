// What DNS says about servers that answered LLM or vector-database calls. The kernel ships DNS
// messages (port 53, UDP or TCP) of client sockets:
// - a response with SERVFAIL, NXDOMAIN or REFUSED for a name a workload called before, to that
//   same workload, is a failed call of that workload (error.type `dns_failure`): the call never
//   got as far as a connect. Only the workload's own query counts: a node-local resolver or
//   forwarder (CoreDNS, systemd-resolved) that fails upstream on its behalf is not the caller,
//   and the caller gets the failure from it anyway;
// - the addresses a successful response gives for such a name are remembered, so a failed connect
//   to an address the agent never saw a call reach (providers rotate addresses behind one name)
//   is still known to be that server's.
import { formatAddress } from '../capture/decoder.ts';
import type { ConnectionInfo, DataChunk } from '../capture/stream.ts';
import { DNS_RCODE_NAMES, DnsRcode, dnsAnswerAddresses, parseDnsMessage } from '../protocols/dns.ts';
import { putBounded } from '../util/bounded_map.ts';
import type { FailedAttempt, KnownEndpoint, KnownEndpoints } from './failed_attempts.ts';

const FAILING: ReadonlySet<number> = new Set([DnsRcode.servFail, DnsRcode.nxDomain, DnsRcode.refused]);
/**
 * One lookup asks A and AAAA and may retry the next server: one failed call per process and name
 * within this much kernel time.
 */
const DEDUPE_NS = 1e9;
const MAX_TRACKED = 4096;
/** Addresses remembered for known server names, newest kept. */
const MAX_ADDRESSES = 4096;

export interface DnsCounters {
  /** DNS messages seen on client sockets. */
  messages: number;
  /** Of them, unparseable. */
  malformed: number;
  /** Responses with SERVFAIL/NXDOMAIN/REFUSED. */
  failures: number;
  /** Failures that became call records. */
  recorded: number;
  /** Addresses learned for known server names. */
  addressesLearned: number;
}

export class DnsWatcher {
  readonly counters: DnsCounters = { messages: 0, malformed: 0, failures: 0, recorded: 0, addressesLearned: 0 };
  /** `connId:queryId` and `connId|name` -> when the query left. */
  private readonly queries = new Map<string, number>();
  /** `pid|name` -> when its last failure was recorded. */
  private readonly recent = new Map<string, number>();
  /** Address (as the capture formats it) -> the known server name a lookup gave it for. */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly endpoints: KnownEndpoints,
    private readonly onFailure: (a: FailedAttempt, ep: KnownEndpoint) => void,
  ) {}

  /** A message on a client socket to port 53. */
  onData(conn: ConnectionInfo, ev: DataChunk): void {
    this.counters.messages++;
    const m = parseDnsMessage(ev.bytes);
    if (m === null) {
      this.counters.malformed++;
      return;
    }
    const qk = `${conn.connId}:${m.id}`;
    // glibc sends A and AAAA in one sendmmsg, of which the kernel ships the first: a query of
    // the same name on the same socket stands in for a missing one
    const nk = `${conn.connId}|${m.name}`;
    if (!m.response) {
      if (ev.direction === 'egress') {
        putBounded(this.queries, qk, ev.tsNs, MAX_TRACKED);
        if (m.name !== null) putBounded(this.queries, nk, ev.tsNs, MAX_TRACKED);
      }
      return;
    }
    if (ev.direction !== 'ingress') return;
    const sentAt = this.queries.get(qk) ?? this.queries.get(nk);
    this.queries.delete(qk);
    if (m.name === null) return;
    if (m.rcode === DnsRcode.noError) {
      if (this.endpoints.lookupHost(m.name) === undefined) return; // answers parsed only for known servers
      for (const a of dnsAnswerAddresses(ev.bytes)) {
        putBounded(this.names, formatAddress(a.family, a.bytes), m.name, MAX_ADDRESSES);
        this.counters.addressesLearned++;
      }
      return;
    }
    if (!FAILING.has(m.rcode)) return;
    this.counters.failures++;
    const ep = this.endpoints.lookupHost(m.name);
    if (ep === undefined || !ep.workloads.has(conn.cgroupId)) return;
    const dk = `${conn.pid}|${m.name}`;
    const last = this.recent.get(dk);
    if (last !== undefined && ev.tsNs - last < DEDUPE_NS) return;
    putBounded(this.recent, dk, ev.tsNs, MAX_TRACKED);
    this.counters.recorded++;
    this.onFailure({ startNs: sentAt ?? ev.tsNs, endNs: ev.tsNs, conn, errorType: 'dns_failure', code: DNS_RCODE_NAMES[m.rcode] ?? String(m.rcode), serverAddress: m.name }, ep);
  }

  /** The known server name a lookup gave this address for, if any. */
  nameOf(address: string): string | undefined {
    return this.names.get(address);
  }
}
