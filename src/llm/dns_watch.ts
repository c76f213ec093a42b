// What DNS says about servers that answered LLM or vector-database calls. The kernel ships DNS
// messages (port 53, UDP or TCP) of client sockets:
// - a response with SERVFAIL, NXDOMAIN or REFUSED for a name a workload called before, to that
//   same workload, is a failed call of that workload (error.type `dns_failure`): the call never
//   got as far as a connect. Only the workload's own query counts: a node-local resolver or
//   forwarder (CoreDNS, systemd-resolved) that fails upstream on its behalf is not the caller,
//   and the caller gets the failure from it anyway;
// - a lookup of such a name by such a workload that no response answers is a failed call too
//   (`dns_failure`, code `no_answer`): a resolver that is down, blackholed or dropped by a
//   network policy answers nothing at all;
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
/**
 * glibc's wait for an answer per try (RES_TIMEOUT, 5 s): a lookup nobody answers ends this long
 * after its last query, where its caller gives up (resolvers set to wait less give up sooner).
 */
const RESOLVER_TRY_NS = 5e9;
/**
 * A lookup is known unanswered once this long passed since its last query with no response:
 * longer than any per-try wait of glibc with its default timeout (5 s, up to 6.7 s for the third
 * of three nameservers), so a retry still to come is not mistaken for a new lookup.
 */
export const NO_ANSWER_NS = 7e9;
/** A lookup re-sent for longer than this (a client retrying on its own schedule) is over anyway. */
const MAX_LOOKUP_NS = 60e9;
/** How many unanswered lookups are followed at once (oldest forgotten beyond, counted). */
const MAX_UNANSWERED = 1024;

/**
 * A query of a known server's name by a workload that called it, with no response yet. One per
 * query id: a resolver library re-sends a lookup's query unchanged (id included) on each try and
 * to each nameserver, while a new lookup gets a new id.
 */
interface UnansweredLookup {
  conn: ConnectionInfo;
  name: string;
  ep: KnownEndpoint;
  /** When its first query left. */
  firstNs: number;
  /** When its latest try left. */
  lastNs: number;
}

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
  /** Lookups of known server names by their callers that no response answered (NO_ANSWER_NS). */
  unanswered: number;
  /** Lookups no longer followed before they could tell: over MAX_UNANSWERED, or records lost. */
  unansweredUntracked: number;
}

export class DnsWatcher {
  readonly counters: DnsCounters = { messages: 0, malformed: 0, failures: 0, recorded: 0, addressesLearned: 0, unanswered: 0, unansweredUntracked: 0 };
  /** `connId:queryId` and `connId|name` -> when the query left. */
  private readonly queries = new Map<string, number>();
  /** `pid|name` -> when its last failure was recorded. */
  private readonly recent = new Map<string, number>();
  /** Address (as the capture formats it) -> the known server name a lookup gave it for. */
  private readonly names = new Map<string, string>();
  /** `pid|name` -> query id -> a lookup of a known server by its caller, waiting for a response. */
  private readonly unanswered = new Map<string, Map<number, UnansweredLookup>>();
  /** Lookups in `unanswered`, over all processes and names. */
  private unansweredCount = 0;

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
        if (m.name !== null) {
          putBounded(this.queries, nk, ev.tsNs, MAX_TRACKED);
          this.awaitAnswer(conn, m.name, m.id, ev.tsNs);
        }
      }
      return;
    }
    if (ev.direction !== 'ingress') return;
    const sentAt = this.queries.get(qk) ?? this.queries.get(nk);
    this.queries.delete(qk);
    if (m.name === null) return;
    // any response for the name settles its caller's lookups (A or AAAA: only the first query
    // of glibc's pair is captured): an answer, or a failure recorded below
    if (this.unanswered.size > 0) this.settle(`${conn.pid}|${m.name}`);
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
    this.record(conn, m.name, ep, sentAt ?? ev.tsNs, ev.tsNs, DNS_RCODE_NAMES[m.rcode] ?? String(m.rcode));
  }

  /**
   * Kernel time has reached `nowNs` (records or not): lookups unanswered for NO_ANSWER_NS since
   * their last try are failed calls.
   */
  tick(nowNs: number): void {
    if (this.unansweredCount === 0) return;
    for (const [key, byId] of this.unanswered) {
      for (const [id, u] of byId) {
        if (nowNs - u.lastNs < NO_ANSWER_NS && nowNs - u.firstNs < MAX_LOOKUP_NS) continue;
        byId.delete(id);
        this.unansweredCount--;
        this.counters.unanswered++;
        this.record(u.conn, u.name, u.ep, u.firstNs, u.lastNs + RESOLVER_TRY_NS, 'no_answer');
      }
      if (byId.size === 0) this.unanswered.delete(key);
    }
  }

  /** Records were lost: a response may have been among them, so no pending lookup can tell. */
  onLoss(): void {
    this.counters.unansweredUntracked += this.unansweredCount;
    this.unanswered.clear();
    this.unansweredCount = 0;
  }

  /** A query left: when its name is a known server's and its caller called it, wait for its answer. */
  private awaitAnswer(conn: ConnectionInfo, name: string, id: number, tsNs: number): void {
    const key = `${conn.pid}|${name}`;
    let byId = this.unanswered.get(key);
    const known = byId?.get(id);
    if (known !== undefined) {
      known.lastNs = tsNs; // another try of the same lookup
      return;
    }
    const ep = this.endpoints.lookupHost(name);
    if (ep === undefined || !ep.workloads.has(conn.cgroupId)) return;
    if (this.unansweredCount >= MAX_UNANSWERED) this.forgetOldest();
    if (byId === undefined) this.unanswered.set(key, (byId = new Map()));
    byId.set(id, { conn, name, ep, firstNs: tsNs, lastNs: tsNs });
    this.unansweredCount++;
  }

  private settle(key: string): void {
    const byId = this.unanswered.get(key);
    if (byId === undefined) return;
    this.unansweredCount -= byId.size;
    this.unanswered.delete(key);
  }

  /** The process and name waiting longest: its lookups are no longer followed. */
  private forgetOldest(): void {
    const oldest = this.unanswered.keys().next();
    if (oldest.done === true) return;
    const n = this.unanswered.get(oldest.value)!.size;
    this.unanswered.delete(oldest.value);
    this.unansweredCount -= n;
    this.counters.unansweredUntracked += n;
  }

  /** One failed call per process and name per DEDUPE_NS (A and AAAA, retries, other servers). */
  private record(conn: ConnectionInfo, name: string, ep: KnownEndpoint, startNs: number, endNs: number, code: string): void {
    const dk = `${conn.pid}|${name}`;
    const last = this.recent.get(dk);
    if (last !== undefined && endNs - last < DEDUPE_NS) return;
    putBounded(this.recent, dk, endNs, MAX_TRACKED);
    this.counters.recorded++;
    this.onFailure({ startNs, endNs, conn, errorType: 'dns_failure', code, serverAddress: name }, ep);
  }

  /** The known server name a lookup gave this address for, if any. */
  nameOf(address: string): string | undefined {
    return this.names.get(address);
  }
}
