// The server end of a call whose client end is on this node too, derived instead of parsed.
//
// Both ends of a TCP connection carry the same bytes: byte N the client wrote is byte N the
// server read, and byte N the server wrote is byte N the client read (TLS plaintext likewise,
// end to end). So once the client end has parsed an exchange — model, tokens, error class,
// where each SSE event ends in the byte stream — the server end's record needs only *when the
// server* moved those bytes. After the server end has handed over (at a response head, with its
// own parse of that request), the capture ships only the sizes of its reads and writes (kernel
// "sizes only" mute), which are logged here; each finished client exchange then becomes the
// server's record with the server's kernel timestamps, exactly the ones parsing would have given.
//
// Offsets are each parser's count of bytes seen; the two ends may have started counting at
// different points (the agent started mid-connection), so the first exchange aligns them: the
// server's own offsets of its request and response heads against the client's.
import type { ConnectionInfo } from '../capture/stream.ts';
import { rfc3339 } from './call.ts';
import { GapRecorder } from './gaps.ts';
import type { LlmCallRecord } from './records.ts';
import { callTimings } from './timings.ts';

/** How the server end of a call whose client end is captured too is recorded. */
export type MirroredServerMode = 'derive' | 'parse' | 'skip';

/** The server end's own view of the exchange at which it handed over. */
export interface MirrorAnchor {
  /** Server stream offsets: request head start, just past the request, response head start. */
  reqStart: number;
  reqEnd: number;
  respStart: number;
  requestStartNs: number;
  requestEndNs: number | null;
  responseStartNs: number;
}

/** Where the client end saw one exchange's milestones, in its own stream offsets (NaN: unknown). */
export interface ClientMilestones {
  reqStart: number;
  reqEnd: number;
  respStart: number;
  respEnd: number;
  /** Stream offset just past each dispatched SSE event's completing byte, in order (-1: not tracked), or null. */
  eventEnds: readonly number[] | null;
  /** Event ordinals (indexes into eventEnds) of the first chunk and of each content chunk. */
  firstChunkEvent: number;
  contentEvents: readonly number[];
  /** Set on the exchange the server end handed over at. */
  anchor: MirrorAnchor | null;
}

/** What call builders ask of the pipeline about mirrored server ends. */
export interface MirrorHooks {
  readonly mode: MirroredServerMode;
  readonly counters: MirrorCounters;
  /** Mode skip: the server end `conn` is not followed any more. */
  dropServerEnd(conn: ConnectionInfo): void;
  /** derive: the server end `conn` hands over at this exchange; false when its client end's exchange is not found. */
  adopt(conn: ConnectionInfo, anchor: MirrorAnchor): boolean;
  /** A client end whose server end is captured too finished an exchange (after emitting its record). */
  clientFinished(conn: ConnectionInfo, record: LlmCallRecord, m: ClientMilestones): void;
}

export interface MirrorCounters {
  /** Server-end records derived from their client end. */
  derived: number;
  /** ... of which some server timestamp could not be found (partial). */
  derivedPartial: number;
  /** Server ends that handed over (their connection's later bytes are only logged). */
  adopted: number;
  /** Client exchanges whose server end could not be aligned (lost records, cut requests): no server record. */
  unaligned: number;
  /** Log entries forgotten for the cap (a very long response), per direction. */
  logOverflow: number;
  /** Mirrored connections forgotten for the memory budget (their pending exchanges derived first). */
  evicted: number;
  /** Derived records whose server times broke causality against the client's (not reported). */
  inconsistent: number;
  /**
   * Server ends that parsed an exchange themselves instead of handing over: the framing cannot
   * be derived (compressed, NDJSON, JSON arrays); the exchange was incomplete (resynchronised,
   * bytes lost); or the client end's exchange was not found (not captured, or already past its
   * response head untracked).
   */
  declined: { framing: number; incomplete: number; noClientExchange: number };
}

export function newMirrorCounters(): MirrorCounters {
  return { derived: 0, derivedPartial: 0, adopted: 0, unaligned: 0, logOverflow: 0, evicted: 0, inconsistent: 0, declined: { framing: 0, incomplete: 0, noClientExchange: 0 } };
}

/**
 * When one direction's bytes moved: entry i covers stream offsets up to ends[i] (exclusive),
 * moved at times[i]. Bounded: the oldest entries go first.
 */
export class TransferLog {
  private ends: number[] = [];
  private times: number[] = [];
  private first = 0;
  /** Offset where the oldest kept entry starts. */
  private floor: number;
  /** Offset just past the last logged byte. */
  end: number;

  constructor(
    start: number,
    private readonly cap: number,
    private readonly counters: MirrorCounters,
  ) {
    this.floor = start;
    this.end = start;
  }

  /** Returns the change in entries kept (0 or 1: at the cap the oldest goes). */
  add(bytes: number, ts: number): number {
    if (bytes <= 0) return 0;
    this.end += bytes;
    this.ends.push(this.end);
    this.times.push(ts);
    if (this.ends.length - this.first > this.cap) {
      this.counters.logOverflow++;
      this.floor = this.ends[this.first]!;
      this.first++;
      this.compact();
      return 0;
    }
    return 1;
  }

  /** Kernel time of the transfer that moved byte `offset`; null when it is not (or no longer) logged. */
  timeOf(offset: number): number | null {
    if (!(offset >= this.floor && offset < this.end)) return null;
    let lo = this.first;
    let hi = this.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! > offset) hi = mid;
      else lo = mid + 1;
    }
    return this.times[lo]!;
  }

  /** Forget transfers that end at or before `offset` (they are not asked about again); returns how many. */
  forgetBefore(offset: number): number {
    const from = this.first;
    while (this.first < this.ends.length && this.ends[this.first]! <= offset) {
      this.floor = this.ends[this.first]!;
      this.first++;
    }
    const n = this.first - from;
    this.compact();
    return n;
  }

  get entries(): number {
    return this.ends.length - this.first;
  }

  private compact(): void {
    if (this.first > 1024 && this.first * 2 > this.ends.length) {
      this.ends = this.ends.slice(this.first);
      this.times = this.times.slice(this.first);
      this.first = 0;
    }
  }
}

interface PendingExchange {
  record: LlmCallRecord;
  m: ClientMilestones;
}

/** Pending client exchanges per server connection (older ones are derived with what is logged). */
const MAX_PENDING = 16;
/** Log entries kept per direction (a response of more writes loses its oldest timings). */
const LOG_CAP = 16384;
/**
 * Log entries kept over all mirrored connections (16 bytes each: ~16 MB). Logs shrink as their
 * exchanges are derived; a connection whose traffic is never derived (non-LLM requests on a
 * handed-over connection) would only grow: past this budget the oldest mirrored connection goes.
 */
const MAX_LOG_ENTRIES = 1_000_000;

/** One server connection that handed over: its reads and writes from then on. */
export class MirroredServer {
  ingress: TransferLog | null = null;
  egress: TransferLog | null = null;
  /** server offset - client offset, per direction, once the anchor exchange aligned them */
  deltaRequest: number | null = null;
  deltaResponse: number | null = null;
  failed = false;
  closedNs: number | null = null;
  /** The client end closed first (its last exchanges may still wait for the server's close). */
  clientGone = false;
  readonly pending: PendingExchange[] = [];

  constructor(
    readonly conn: ConnectionInfo,
    private readonly counters: MirrorCounters,
  ) {}

  /** Logging starts at these stream offsets (the server parser's counts when it handed over). */
  start(ingressAt: number, egressAt: number): void {
    this.ingress = new TransferLog(ingressAt, LOG_CAP, this.counters);
    this.egress = new TransferLog(egressAt, LOG_CAP, this.counters);
  }
}

export interface MirrorDeps {
  emit(record: LlmCallRecord): void;
  clock: (monoNs: number) => number;
  resolveComm: (pid: number) => string | null;
  counters: MirrorCounters;
}

export class MirrorRegistry {
  /** By server connection id. */
  private readonly servers = new Map<number, MirroredServer>();
  /** Log entries kept over all of them (see MAX_LOG_ENTRIES). */
  private logEntries = 0;

  constructor(
    private readonly deps: MirrorDeps,
    private readonly maxServers: number,
    private readonly maxLogEntries = MAX_LOG_ENTRIES,
  ) {}

  get size(): number {
    return this.servers.size;
  }

  /** The server end `conn` hands over; its logs start when the pipeline calls start(). */
  adopt(conn: ConnectionInfo): MirroredServer {
    const ms = new MirroredServer(conn, this.deps.counters);
    this.forget(conn.connId);
    this.servers.set(conn.connId, ms);
    while (this.servers.size > this.maxServers) this.evictOldest();
    this.deps.counters.adopted++;
    return ms;
  }

  /** Log entries kept now, over all mirrored connections. */
  get entries(): number {
    return this.logEntries;
  }

  /** Drops a mirrored connection (its pending exchanges derived with what is logged). */
  private forget(id: number): void {
    const ms = this.servers.get(id);
    if (ms === undefined) return;
    this.resolve(ms, true);
    this.logEntries -= (ms.ingress?.entries ?? 0) + (ms.egress?.entries ?? 0);
    // its connection may still send transfers: they are not logged any more
    ms.ingress = ms.egress = null;
    this.servers.delete(id);
  }

  private evictOldest(): void {
    const oldest = this.servers.keys().next().value as number;
    this.deps.counters.evicted++;
    this.forget(oldest);
  }

  /** Bytes the mirrored server end moved (sizes only; payloads, if any, are not looked at). */
  onServerData(ms: MirroredServer, ingress: boolean, bytes: number, tsNs: number): void {
    const log = ingress ? ms.ingress : ms.egress;
    if (log === null) return;
    this.logEntries += log.add(bytes, tsNs);
    if (ms.pending.length > 0) this.resolve(ms, false);
    while (this.logEntries > this.maxLogEntries && this.servers.size > 0) this.evictOldest();
  }

  onServerClose(ms: MirroredServer, tsNs: number): void {
    ms.closedNs = tsNs;
    this.resolve(ms, true);
    if (ms.clientGone) this.forget(ms.conn.connId);
  }

  /** Records were lost: offsets after the hole no longer line up. */
  onLoss(): void {
    for (const ms of this.servers.values()) {
      this.resolve(ms, true);
      ms.failed = true;
    }
  }

  /** The client end of a mirrored server connection finished an exchange and emitted its record. */
  clientFinished(serverConnId: number, record: LlmCallRecord, m: ClientMilestones): void {
    const ms = this.servers.get(serverConnId);
    if (ms === undefined) return;
    const a = m.anchor;
    if (a !== null && ms.deltaRequest === null && !ms.failed) {
      // the same request, counted by both ends: its length must agree
      const aligned = Number.isFinite(m.reqStart) && Number.isFinite(m.reqEnd) && Number.isFinite(m.respStart) && a.reqEnd - a.reqStart === m.reqEnd - m.reqStart;
      if (aligned) {
        ms.deltaRequest = a.reqStart - m.reqStart;
        ms.deltaResponse = a.respStart - m.respStart;
      } else ms.failed = true;
    }
    if (ms.failed || ms.deltaRequest === null) {
      this.deps.counters.unaligned++;
      return;
    }
    ms.pending.push({ record, m });
    if (ms.pending.length > MAX_PENDING) this.emitOne(ms, ms.pending.shift()!);
    this.resolve(ms, ms.closedNs !== null);
  }

  /**
   * The client end closed: nothing more will be asked of its server end, whose own close (the
   * end of a response cut short) is awaited if it has not come yet.
   */
  clientClosed(serverConnId: number): void {
    const ms = this.servers.get(serverConnId);
    if (ms === undefined) return;
    ms.clientGone = true;
    if (ms.closedNs === null && ms.pending.length > 0) return;
    this.forget(serverConnId);
  }

  flush(): void {
    for (const ms of this.servers.values()) this.resolve(ms, true);
  }

  /** Derive the pending exchanges whose bytes the server logs cover (all of them when forced). */
  private resolve(ms: MirroredServer, force: boolean): void {
    while (ms.pending.length > 0) {
      const p = ms.pending[0]!;
      if (!force && !this.covered(ms, p.m)) return;
      ms.pending.shift();
      this.emitOne(ms, p);
    }
  }

  private covered(ms: MirroredServer, m: ClientMilestones): boolean {
    if (Number.isNaN(m.respEnd)) return false; // cut short: wait for the close
    if (ms.egress === null || ms.egress.end < m.respEnd + ms.deltaResponse!) return false;
    return m.anchor !== null || (ms.ingress !== null && ms.ingress.end >= m.reqEnd + ms.deltaRequest!);
  }

  private emitOne(ms: MirroredServer, p: PendingExchange): void {
    const rec = deriveServerRecord(ms, p.record, p.m, this.deps);
    this.deps.counters.derived++;
    if (rec.partial_reasons.includes('server_timing_unknown')) this.deps.counters.derivedPartial++;
    if (rec.partial_reasons.includes('server_timing_inconsistent')) this.deps.counters.inconsistent++;
    if (Number.isFinite(p.m.respEnd)) this.logEntries -= ms.egress?.forgetBefore(p.m.respEnd + ms.deltaResponse!) ?? 0;
    if (Number.isFinite(p.m.reqEnd)) this.logEntries -= ms.ingress?.forgetBefore(p.m.reqEnd + ms.deltaRequest!) ?? 0;
    this.deps.emit(rec);
  }
}

/** How far a server write's exit may trail the client's read of its bytes (scheduling), and back. */
const CAUSALITY_SLACK_NS = 5e6;

const PEER_VIEW: Record<string, string> = { local_close: 'remote_close', remote_close: 'local_close', reset_sent: 'reset_received', reset_received: 'reset_sent' };

/** The server end's record of a client exchange: the client's content, the server's times. */
export function deriveServerRecord(ms: MirroredServer, client: LlmCallRecord, m: ClientMilestones, deps: Pick<MirrorDeps, 'clock' | 'resolveComm'>): LlmCallRecord {
  const dReq = ms.deltaRequest!;
  const dResp = ms.deltaResponse!;
  let unknown = false;
  // the server time of the byte at client offset `off`, for a milestone the client has
  const at = (log: TransferLog | null, off: number, delta: number, clientHas: boolean): number | null => {
    if (!clientHas) return null;
    const t = Number.isFinite(off) && log !== null ? log.timeOf(off + delta) : null;
    if (t === null) unknown = true;
    return t;
  };
  const out = (off: number, clientHas: boolean): number | null => at(ms.egress, off, dResp, clientHas);
  const ct = client.timestamps_ns;
  const a = m.anchor;
  const ends = m.eventEnds;
  const eventEnd = (i: number): number => (ends !== null && i >= 0 && i < ends.length && ends[i]! >= 0 ? ends[i]! : NaN);

  let requestStart = a !== null ? a.requestStartNs : at(ms.ingress, m.reqStart, dReq, true);
  let requestEnd = a !== null ? a.requestEndNs : at(ms.ingress, m.reqEnd - 1, dReq, ct.request_end !== null);
  let responseStart = a !== null ? a.responseStartNs : out(m.respStart, ct.response_start !== null);
  let firstChunk = out(eventEnd(m.firstChunkEvent) - 1, ct.first_chunk !== null);
  let firstToken = out(eventEnd(m.contentEvents[0] ?? -1) - 1, ct.first_token !== null);
  let responseEnd: number | null;
  if (Number.isFinite(m.respEnd)) responseEnd = out(m.respEnd - 1, ct.response_end !== null);
  else responseEnd = ct.response_end === null ? null : (ms.closedNs ?? ms.egress?.timeOf(ms.egress.end - 1) ?? null);

  // Causality on one clock: the server reads a byte after the client wrote it and writes one
  // before the client reads it (give or take the two syscalls' exits: CAUSALITY_SLACK_NS). Times
  // that break it mean the two ends' byte counts no longer line up here: they are not reported.
  const late = (server: number | null, client: number | null): boolean => server !== null && client !== null && server > client + CAUSALITY_SLACK_NS;
  const early = (server: number | null, client: number | null): boolean => server !== null && client !== null && server < client - CAUSALITY_SLACK_NS;
  const inconsistent =
    early(requestStart, ct.request_start) || early(requestEnd, ct.request_end) || late(responseStart, ct.response_start) || late(firstChunk, ct.first_chunk) || late(firstToken, ct.first_token) || late(responseEnd, ct.response_end);
  if (inconsistent) {
    if (a === null) requestStart = requestEnd = responseStart = null;
    firstChunk = firstToken = responseEnd = null;
  }
  // the gaps between the server's content writes (not looked up when its times are not reported)
  let gaps = inconsistent ? null : client.inter_chunk_gap_s;
  if (gaps !== null) {
    const g = new GapRecorder();
    for (const e of m.contentEvents) {
      const t = out(eventEnd(e) - 1, true);
      if (t !== null) g.mark(t);
    }
    gaps = g.summary();
  }
  const output = client['gen_ai.usage.output_tokens'];
  const start = requestStart ?? client.timestamps_ns.request_start;
  const t = callTimings({ request_start: start, request_end: requestEnd, first_chunk: firstChunk, first_token: firstToken, response_end: responseEnd }, client.stream, output, client['gen_ai.operation.name'] === 'embeddings');
  // a transport error's code is the close as the observed process saw it: the other end's view
  let code = client['error.provider_code'];
  if (client['error.source'] === 'transport' && code !== null) code = PEER_VIEW[code] ?? code;
  const reasons = new Set(client.partial_reasons);
  if (unknown || inconsistent) reasons.add('server_timing_unknown');
  if (inconsistent) reasons.add('server_timing_inconsistent');
  const partialReasons = [...reasons].sort();
  const conn = ms.conn;
  return {
    ...client,
    time: rfc3339(deps.clock(start)),
    ...t,
    inter_chunk_gap_s: gaps,
    'error.provider_code': code,
    capture: conn.tls ? 'tls' : 'plain',
    process: { pid: conn.pid, comm: deps.resolveComm(conn.pid) },
    cgroup_id: conn.cgroupId,
    conn_id: conn.connId,
    observed_side: 'server',
    partial: partialReasons.length > 0,
    partial_reasons: partialReasons,
    timestamps_ns: { request_start: start, request_end: requestEnd, response_start: responseStart, first_chunk: firstChunk, first_token: firstToken, response_end: responseEnd },
  };
}
