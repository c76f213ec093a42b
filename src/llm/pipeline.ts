// The entry point: capture StreamEvents in, LlmCallRecord / RetrievalCallRecord /
// ServerRequestRecord out.
//
//   const sink = createCallPipeline({ clock, resolveComm }, (rec) => out.write(rec));
//   source.on('event', (ev) => sink.onEvent(ev)); ... sink.flush(nowNs);
//
// Per connection it keeps an HttpConnection (both directions' framing) and the builders of
// the exchanges it follows. Memory is bounded by per-buffer caps and a cap on tracked
// connections. Nothing thrown by parsing escapes onEvent: it is counted, the connection is
// dropped, and the pipeline goes on.
import { sizesOnlyChunk } from '../capture/stream.ts';
import type { ConnectionInfo, Direction, Endpoint, StreamEvent, StreamSink } from '../capture/stream.ts';
import { HttpConnection, newHttpConnCounters } from '../protocols/http_connection.ts';
import type { ExchangeContext, ExchangeHandler, HttpConnCounters, HttpConnLimits, HttpObserver, OrphanContext } from '../protocols/http_connection.ts';
import type { Headers } from '../protocols/http1.ts';
import { LlmCallBuilder } from './call.ts';
import type { DnsCounters } from './dns_watch.ts';
import { routeLlmRequest, sniffingRoute } from './detect.ts';
import { newCallCounters, newStreamCounters } from './env.ts';
import type { BuilderEnv, CallCounters, CallLimits, ExcerptOptions, StreamCounters } from './env.ts';
import { splitTarget } from './http_meta.ts';
import type { CallRecord } from './records.ts';
import { RetrievalCallBuilder, routeRetrievalRequest } from './retrieval.ts';
import { DEFAULT_SERVER_REQUEST_LIMITS, ServerRequestBuilder, ServerRequestTracker, newServerRequestCounters } from './server_request.ts';
import type { ServerRequestCounters, ServerRequestLimits } from './server_request.ts';
import { estimateTokens } from './tokens.ts';
import { MirrorRegistry, newMirrorCounters } from './mirror.ts';
import type { MirrorCounters, MirroredServer, MirroredServerMode } from './mirror.ts';
import { UnsentCalls } from './unsent_calls.ts';

export interface PipelineLimits extends CallLimits, HttpConnLimits {
  /** Connections tracked at once; the oldest is dropped (its calls flushed as partial) beyond it. */
  maxConnections: number;
}

export const DEFAULT_PIPELINE_LIMITS: PipelineLimits = {
  maxHeadBytes: 64 * 1024,
  resyncCarryBytes: 4096,
  maxCompressedBytes: 256 * 1024,
  maxDecodedBytes: 4 * 1024 * 1024,
  maxPendingExchanges: 32,
  maxPreHttpBytes: 256 * 1024,
  maxRequestBodyBytes: 1024 * 1024,
  maxResponseBodyBytes: 1024 * 1024,
  maxEventBytes: 256 * 1024,
  maxTallyChars: 64 * 1024,
  maxConnections: 16384,
};

export interface PipelineOptions {
  limits?: Partial<PipelineLimits>;
  /** Kernel monotonic ns -> epoch ms. Default: this process's CLOCK_MONOTONIC offset (live use). */
  clock?: (monoNs: number) => number;
  /** pid -> process name; default: null. */
  resolveComm?: (pid: number) => string | null;
  /** Estimate tokens with a tokenizer when usage is absent (default true). */
  estimateTokens?: boolean;
  /** Opt-in: keep redacted, truncated excerpts of prompt and completion text. Off by default. */
  keepExcerpts?: ExcerptOptions | false;
  /** Also follow vector-database requests (default true). */
  retrieval?: boolean;
  /**
   * When both ends of a call run on this node (its client's and its server's connection are
   * both captured), the server end's record is `derive`d from the client end's parse with the
   * server's own timestamps (default: one parse, both records), the server end is `skip`ped (no
   * server-side record: gen_ai.server.* then covers remote clients only), or both are `parse`d.
   */
  mirroredServer?: MirroredServerMode;
  /**
   * Told each connection whose payloads the pipeline no longer reads: `drop` (a skipped server
   * end: nothing of it is needed) or `sizes` (a derived server end: only its transfer sizes and
   * times). The capture can then stop shipping them at the source (LiveCapture.muteConnection).
   */
  muteConnection?: (connId: number, keep: 'drop' | 'sizes') => void;
  /**
   * Inbound requests of applications on this node (the observed process is the server, and the
   * request is not an LLM or retrieval call being served) -> `llmslo.server_request/v1`, with the
   * LLM and retrieval calls the process made while serving them (default true).
   */
  serverRequests?: boolean;
  serverRequestLimits?: Partial<ServerRequestLimits>;
}

export interface PipelineStats {
  connections: { open: number; opened: number; evicted: number; unknownDataConn: number };
  http: HttpConnCounters;
  calls: CallCounters;
  /** SSE events / comments / NDJSON lines / JSON-array elements seen, and the oversize ones dropped. */
  streams: StreamCounters;
  captureLossEvents: number;
  lostRecords: number;
  /** Bytes currently held in parser buffers across all connections. */
  bufferedBytes: number;
  serverRequests: ServerRequestCounters & { open: number; heldIntervals: number };
  /** DNS messages watched for failed lookups of known servers. */
  dns: DnsCounters;
  /** Server ends derived from their client end (mirroredServer: derive). */
  mirroredServers: MirrorCounters & { open: number };
}

export interface CallPipeline extends StreamSink {
  /** Kernel time has reached `nowNs` (failures known by silence: unanswered DNS lookups). */
  tick(nowNs: number): void;
  stats(): PipelineStats;
}

type Builder = LlmCallBuilder | RetrievalCallBuilder | ServerRequestBuilder;

interface ConnEntry {
  http: HttpConnection;
  builders: Set<Builder>;
  /** The server end of a call whose client end is captured too, skipped: bytes dropped unparsed. */
  mirrored: boolean;
  /** ... derived from its client end: its transfers are only logged. */
  mirror: MirroredServer | null;
}

const NO_HEADERS: Headers = { raw: new Map(), get: () => undefined };

/** Default clock: kernel CLOCK_MONOTONIC is what process.hrtime reads on Linux. */
export function monotonicToEpochMs(): (monoNs: number) => number {
  const offsetMs = Date.now() - Number(process.hrtime.bigint()) / 1e6;
  return (ns) => ns / 1e6 + offsetMs;
}

export function createCallPipeline(options: PipelineOptions, onRecord: (rec: CallRecord) => void): CallPipeline {
  const limits: PipelineLimits = { ...DEFAULT_PIPELINE_LIMITS, ...(options.limits ?? {}) };
  const counters = newCallCounters();
  const http = newHttpConnCounters();
  const env: BuilderEnv = {
    limits,
    clock: options.clock ?? monotonicToEpochMs(),
    resolveComm: options.resolveComm ?? (() => null),
    estimate: options.estimateTokens === false ? null : estimateTokens,
    excerpts: options.keepExcerpts ? options.keepExcerpts : null,
    counters,
    stream: newStreamCounters(),
    mirror: null,
  };
  const mirrorMode = options.mirroredServer ?? 'derive';
  const mirrorCounters = newMirrorCounters();
  if (mirrorMode !== 'parse') {
    env.mirror = {
      mode: mirrorMode,
      counters: mirrorCounters,
      dropServerEnd(conn) {
        const e = conns.get(conn.connId);
        if (e !== undefined) e.mirrored = true;
        options.muteConnection?.(conn.connId, 'drop');
      },
      adopt(conn, anchor) {
        // the client end's exchange in flight: the only call builder open on the peer connection
        const peer = conns.get(conn.peerConnId!);
        const e = conns.get(conn.connId);
        let client: LlmCallBuilder | null = null;
        let found = 0;
        if (peer !== undefined && e !== undefined)
          for (const b of peer.builders) {
            if (!(b instanceof LlmCallBuilder)) continue;
            found++;
            client = b;
          }
        if (found !== 1 || !client!.acceptMirrorAnchor(anchor)) {
          mirrorCounters.declined.noClientExchange++;
          return false;
        }
        e!.mirror = mirrors.adopt(conn);
        options.muteConnection?.(conn.connId, 'sizes');
        return true;
      },
      clientFinished(conn, record, m) {
        mirrors.clientFinished(conn.peerConnId!, record, m);
      },
    };
  }
  const followRetrieval = options.retrieval !== false;
  const conns = new Map<number, ConnEntry>();
  const connStats = { open: 0, opened: 0, evicted: 0, unknownDataConn: 0 };
  let captureLossEvents = 0;
  let lostRecords = 0;

  const servers = options.serverRequests === false ? null : new ServerRequestTracker({ ...DEFAULT_SERVER_REQUEST_LIMITS, ...(options.serverRequestLimits ?? {}) });
  const emit = (rec: CallRecord): void => {
    try {
      // links the call to the inbound request it was made for (before anyone sees the record)
      if (servers !== null && rec.schema !== 'llmslo.server_request/v1') servers.onOutbound(rec);
    } catch (err) {
      counters.internalErrors++;
      counters.lastInternalError = `server_request link: ${(err as Error).message}`;
    }
    try {
      onRecord(rec);
    } catch (err) {
      counters.internalErrors++;
      counters.lastInternalError = `onRecord: ${(err as Error).message}`;
    }
  };

  const mirrors = new MirrorRegistry({ emit, clock: env.clock, resolveComm: env.resolveComm, counters: mirrorCounters }, limits.maxConnections);

  /** Calls that never sent their request (failed lookups, connects, handshakes). */
  const unsent = new UnsentCalls(env, emit, limits.maxConnections);

  const makeObserver = (entry: () => ConnEntry): HttpObserver => ({
    onRequest(ctx: ExchangeContext): ExchangeHandler | null {
      const req = ctx.request;
      if (ctx.conn.tls && ctx.role === 'client') unsent.onTlsActivity(ctx.conn, ctx.requestStartNs);
      const { path, query } = splitTarget(req.target);
      const hostHeader = req.headers.get('host');
      const host = (hostHeader?.replace(/:\d+$/, '') ?? ctx.conn.serverName ?? null)?.toLowerCase() ?? null;
      const route = routeLlmRequest(req.method, host, path, query, req.headers.get('anthropic-version') !== undefined);
      let b: LlmCallBuilder | RetrievalCallBuilder | null = null;
      if (route !== null) b = new LlmCallBuilder(ctx, route, env, ctx.role === 'client' ? unsent.learning(ctx.conn) : emit);
      else if (followRetrieval) {
        const rr = routeRetrievalRequest(req.method, host, path);
        if (rr !== null) b = new RetrievalCallBuilder(ctx, rr, env, ctx.role === 'client' ? unsent.learning(ctx.conn) : emit);
      }
      if (b === null && servers !== null && ctx.role === 'server') {
        return track(entry(), new ServerRequestBuilder(ctx, servers, { clock: env.clock, resolveComm: env.resolveComm, emit }));
      }
      if (b === null) {
        counters.ignoredRequests++;
        return null;
      }
      return track(entry(), b);
    },
    onOrphanResponse(ctx: OrphanContext): ExchangeHandler | null {
      // Only streams are followed without their request (the request went by before capture
      // started, e.g. during a long prefill): their payloads say what they are.
      const ct = (ctx.response.headers.get('content-type') ?? '').toLowerCase();
      if (!/event-stream|ndjson/.test(ct)) return null;
      const request = { kind: 'request' as const, method: '', target: '', version: '1.1', headers: NO_HEADERS };
      const ectx: ExchangeContext = { conn: ctx.conn, role: ctx.role, request, requestStartNs: ctx.responseStartNs, resynced: false };
      const b = new LlmCallBuilder(ectx, sniffingRoute(ctx.conn.serverName?.toLowerCase() ?? null), env, emit);
      b.markPartial('request_not_seen');
      b.onRequestEnd(ctx.responseStartNs, false);
      return track(entry(), b);
    },
  });

  const track = <B extends Builder>(e: ConnEntry, builder: B): B => {
    e.builders.add(builder);
    // Forget the builder when its exchange finishes.
    const finish = builder.onFinish.bind(builder);
    builder.onFinish = (f) => {
      e.builders.delete(builder);
      finish(f);
    };
    return builder;
  };

  /** Open connections by "local>remote" endpoints: a connection's other end on this node. */
  const byEndpoints = new Map<string, ConnectionInfo>();
  const endpointsKey = (a: Endpoint, b: Endpoint): string => `${a.address}:${a.port}>${b.address}:${b.port}`;
  const linkPeer = (info: ConnectionInfo): void => {
    if (info.local === null || info.remote === null) return;
    const key = endpointsKey(info.local, info.remote);
    byEndpoints.delete(key); // re-insert: newest last
    byEndpoints.set(key, info);
    if (byEndpoints.size > limits.maxConnections) byEndpoints.delete(byEndpoints.keys().next().value as string);
    const peer = byEndpoints.get(endpointsKey(info.remote, info.local));
    if (peer !== undefined && peer !== info) {
      info.peerConnId = peer.connId;
      peer.peerConnId = info.connId;
    }
  };
  const unlinkPeer = (info: ConnectionInfo): void => {
    if (info.local === null || info.remote === null) return;
    const k = endpointsKey(info.local, info.remote);
    if (byEndpoints.get(k) === info) byEndpoints.delete(k);
  };

  const open = (info: ConnectionInfo, openedNs: number): ConnEntry => {
    const existing = conns.get(info.connId);
    if (existing) return existing;
    linkPeer(info);
    while (conns.size >= limits.maxConnections) {
      const [oldId, old] = conns.entries().next().value as [number, ConnEntry];
      dropConn(oldId);
      connStats.evicted++;
      safe(() => old.http.flush(0));
    }
    const holder: { e: ConnEntry | null } = { e: null };
    const entry: ConnEntry = { http: new HttpConnection(info, makeObserver(() => holder.e!), limits, http), builders: new Set(), mirrored: false, mirror: null };
    holder.e = entry;
    conns.set(info.connId, entry);
    if (info.tls) unsent.tlsConnectionOpened(info, openedNs);
    connStats.opened++;
    return entry;
  };

  /** Forgets a connection (closed, evicted, reused or broken): its entry, its pairing, its TLS count. */
  const dropConn = (connId: number): void => {
    const e = conns.get(connId);
    if (e === undefined) return;
    conns.delete(connId);
    unlinkPeer(e.http.info);
    if (e.http.info.tls) unsent.tlsConnectionGone(e.http.info);
  };

  const safe = (fn: () => void, connId?: number): void => {
    try {
      fn();
    } catch (err) {
      counters.internalErrors++;
      counters.lastInternalError = (err as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(err);
      if (connId !== undefined) dropConn(connId);
    }
  };

  return {
    onEvent(ev: StreamEvent): void {
      switch (ev.kind) {
        case 'open':
          if (unsent.onOpen(ev.conn)) break; // a DNS socket
          safe(() => {
            const prev = conns.get(ev.conn.connId);
            if (prev) {
              // connId reused: the old connection is over
              dropConn(ev.conn.connId);
              prev.http.onClose('close', ev.tsNs);
            }
            open(ev.conn, ev.tsNs);
          }, ev.conn.connId);
          break;
        case 'data': {
          let entry = conns.get(ev.connId);
          if (entry === undefined) {
            if (unsent.isDnsSocket(ev.connId)) {
              safe(() => unsent.onDnsData(ev));
              break;
            }
            connStats.unknownDataConn++;
            entry = open({ connId: ev.connId, pid: 0, tid: 0, cgroupId: 0, local: null, remote: null, tls: ev.tls, serverName: null }, ev.tsNs);
          }
          if (entry.mirrored) {
            counters.mirroredServerBytesDropped += ev.bytes.length + ev.missingAfter;
            break;
          }
          const ms = entry.mirror;
          if (ms !== null) {
            mirrors.onServerData(ms, ev.direction === 'ingress', ev.bytes.length + ev.missingAfter, ev.tsNs);
            break;
          }
          // inline try (no closure per event: this is the hot path)
          try {
            entry.http.onData(ev);
            const adopted = entry.mirror as MirroredServer | null; // set while this event was parsed
            if (adopted !== null) {
              // logging starts where parsing stopped; this event (the response head's) is the first
              const moved = ev.bytes.length + ev.missingAfter;
              const ingress = ev.direction === 'ingress';
              adopted.start(entry.http.base('ingress') - (ingress ? moved : 0), entry.http.base('egress') - (ingress ? 0 : moved));
              mirrors.onServerData(adopted, ingress, moved, ev.tsNs);
            }
          } catch (err) {
            counters.internalErrors++;
            counters.lastInternalError = (err as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(err);
            dropConn(ev.connId);
          }
          break;
        }
        case 'close': {
          const entry = conns.get(ev.connId);
          if (entry === undefined) {
            unsent.onClose(ev.connId);
            return;
          }
          dropConn(ev.connId);
          if (entry.http.info.tls) unsent.onTlsActivity(entry.http.info, ev.tsNs);
          safe(() => {
            if (entry.mirror !== null) mirrors.onServerClose(entry.mirror, ev.tsNs);
            entry.http.onClose(ev.reason, ev.tsNs);
            // a client end: its last exchanges have handed over to the server end's record
            const peer = entry.http.info.peerConnId;
            if (peer !== undefined && entry.http.role === 'client') mirrors.clientClosed(peer);
          });
          break;
        }
        case 'connect_failed':
          safe(() => unsent.onConnectFailed(ev));
          break;
        case 'tls_no_data':
          safe(() => unsent.onTlsNoData(ev));
          break;
        case 'loss':
          captureLossEvents++;
          lostRecords += ev.lostRecords;
          unsent.onLoss();
          mirrors.onLoss();
          // Any open exchange may have a silent hole now.
          for (const e of conns.values()) for (const b of e.builders) b.markPartial('capture_loss');
          break;
        default:
          break;
      }
    },
    onSizes(connId: number, direction: Direction, bytes: number, tsNs: number): void {
      // a mirrored server end's transfer: straight to its log (no event object)
      const entry = conns.get(connId);
      if (entry !== undefined && entry.mirror !== null) mirrors.onServerData(entry.mirror, direction === 'ingress', bytes, tsNs);
      else this.onEvent(sizesOnlyChunk(connId, direction, bytes, tsNs, entry?.http.info.tls ?? false));
    },
    tick(nowNs: number): void {
      safe(() => unsent.tick(nowNs));
    },
    flush(nowNs: number): void {
      for (const [id, e] of conns) safe(() => e.http.flush(nowNs), id);
      safe(() => mirrors.flush());
    },
    stats(): PipelineStats {
      let buffered = 0;
      for (const e of conns.values()) {
        buffered += e.http.bufferedBytes;
        for (const b of e.builders) buffered += b.bufferedBytes;
      }
      connStats.open = conns.size;
      return { connections: { ...connStats }, http: { ...http }, calls: { ...counters, errorsByType: { ...counters.errorsByType } }, streams: { ...env.stream }, captureLossEvents, lostRecords, bufferedBytes: buffered, serverRequests: { ...(servers?.counters ?? newServerRequestCounters()), open: servers?.openRequests ?? 0, heldIntervals: servers?.heldIntervals ?? 0 }, dns: unsent.dnsCounters, mirroredServers: { ...mirrorCounters, declined: { ...mirrorCounters.declined }, open: mirrors.size } };
    },
  };
}
