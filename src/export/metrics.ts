// Turns call records and capture counters into metric observations in a MetricStore.
// Client-side records feed gen_ai.client.* and the project metrics; records observed on the
// serving process (observed_side 'server') feed gen_ai.server.* only, so a call whose both ends
// run on this node is not counted twice.
import type { CallRecord, GapStats, LlmCallRecord, RetrievalCallRecord, ServerRequestRecord } from '../llm/records.ts';
import type { PipelineStats } from '../llm/pipeline.ts';
import type { DecoderStats } from '../capture/decoder.ts';
import { Attr, Metrics, llmMetricAttributes, retrievalMetricAttributes, serverRequestMetricAttributes, type Attributes, type MetricDef } from './semconv.ts';
import { MetricStore } from './store.ts';

/** Capture-side counters, all monotonic totals since start (gauges excepted). */
export interface CaptureStatsSnapshot {
  /** LiveCapture.stats(): records and bytes read, plus in-kernel counters by name. */
  kernel?: { records: number; bytes: number; kernelByName: Record<string, number> };
  /** LiveCapture.programStats(), when run-time statistics are enabled. */
  programs?: Record<string, { runCount: number; runTimeNs: number }>;
  /** CapturePipeline.decoder. */
  decoder?: DecoderStats;
  /** The call pipeline's stats(). */
  pipeline?: PipelineStats;
}

export interface RecordMetricsOptions {
  /** Count tokenizer estimates in gen_ai.client.token.usage (default true: offline counting). */
  includeEstimatedTokens?: boolean;
}

/**
 * Per-chunk gap observations rebuilt from a call's summary, for records without exact bucket
 * counts (older producers): half the gaps at p50, up to 95% at p95, the rest at max. Exact at
 * those ranks, otherwise an upper bound (never flatters a SLO).
 */
export function gapObservations(g: GapStats): Array<[value: number, weight: number]> {
  const n = g.count;
  if (!(n > 0)) return [];
  const k50 = Math.ceil(n * 0.5);
  const k95 = Math.ceil(n * 0.95);
  const out: Array<[number, number]> = [[g.p50, k50]];
  if (k95 > k50) out.push([g.p95, k95 - k50]);
  if (n > k95) out.push([g.max, n - k95]);
  return out;
}

/** `attrs` without error.type, built without `delete` (which turns an object into a slow dictionary). */
function withoutErrorType(attrs: Attributes): Attributes {
  const { [Attr.errorType]: _dropped, ...rest } = attrs;
  void _dropped;
  return rest;
}

export class RecordMetrics {
  private readonly includeEstimated: boolean;

  constructor(
    readonly store: MetricStore,
    opts: RecordMetricsOptions = {},
  ) {
    this.includeEstimated = opts.includeEstimatedTokens ?? true;
    // families that should exist (at zero) before the first record
    for (const d of [Metrics.clientDuration, Metrics.calls, Metrics.captureEvents, Metrics.captureBytes]) this.f(d);
  }

  private f(def: MetricDef) {
    return this.store.family(def);
  }

  observe(r: CallRecord): void {
    if (r.schema === 'llmslo.llm_call/v1') {
      if (r.observed_side === 'server') this.observeServer(r);
      else this.observeClient(r);
    } else if (r.schema === 'llmslo.retrieval_call/v1') {
      if (r.observed_side === 'server') this.countSkipped('server_side_retrieval');
      else this.observeRetrieval(r);
    } else if (r.schema === 'llmslo.server_request/v1') {
      this.observeServerRequest(r);
    } else {
      this.countSkipped('unknown_schema');
    }
  }

  countSkipped(reason: string): void {
    this.f(Metrics.recordsSkipped).add({ [Attr.lossReason]: reason }, 1);
  }

  private observeClient(r: LlmCallRecord): void {
    const attrs = llmMetricAttributes(r);
    this.store.limiter.admit(attrs);
    const ok = withoutErrorType(attrs);
    this.f(Metrics.calls).add(attrs, 1);
    if (r.duration_s !== null) this.f(Metrics.clientDuration).observe(attrs, r.duration_s);
    if (r['error.type']) {
      this.f(Metrics.errors).add({ ...attrs, [Attr.errorSource]: r['error.source'] ?? 'unknown' }, 1);
    }
    for (const reason of r.partial_reasons) {
      this.f(Metrics.partialCalls).add({ [Attr.operationName]: r['gen_ai.operation.name'], [Attr.providerName]: r['gen_ai.provider.name'], [Attr.partialReason]: reason.slice(0, 64) }, 1);
    }
    this.observeTokens(r, ok);
    if (r.stream) {
      if (r.ttfc_s !== null) this.f(Metrics.clientTtfc).observe(ok, r.ttfc_s);
      const g = r.inter_chunk_gap_s;
      if (g) {
        const tpoc = this.f(Metrics.clientTpoc);
        // exact when the record carries per-bucket counts for this histogram's bounds
        const exact = g.histogram !== undefined && g.sum !== undefined && tpoc.observeBuckets(ok, g.histogram.bounds, g.histogram.counts, g.sum, g.min ?? g.p50, g.max);
        if (!exact) for (const [v, w] of gapObservations(g)) tpoc.observe(ok, v, w);
        this.f(Metrics.gapMax).observe(ok, g.max);
      }
    }
    if (r.ttft_s !== null) this.f(Metrics.ttft).observe(ok, r.ttft_s);
    if (r.tpot_s !== null) this.f(Metrics.tpot).observe(ok, r.tpot_s);
    // streams only: a non-streamed call's rate includes prefill, a different quantity
    if (r.stream && r.output_tokens_per_s !== null) this.f(Metrics.outputRate).observe(ok, r.output_tokens_per_s);
  }

  private observeTokens(r: LlmCallRecord, ok: Attributes): void {
    if (r.tokens_source === null) return;
    const usable = r.tokens_source === 'usage' || this.includeEstimated;
    const counter = this.f(Metrics.tokens);
    const usage = this.f(Metrics.clientTokenUsage);
    // one scratch attribute set per call; families copy what they keep
    const counterAttrs: Attributes = { [Attr.operationName]: r['gen_ai.operation.name'], [Attr.providerName]: r['gen_ai.provider.name'], [Attr.tokensSource]: r.tokens_source };
    if (ok[Attr.requestModel] !== undefined) counterAttrs[Attr.requestModel] = ok[Attr.requestModel];
    // a copy with the token type: `ok` itself keeps its shape for the observations that follow
    const usageAttrs: Attributes = { ...ok, [Attr.tokenType]: 'input' };
    for (const [type, n] of [['input', r['gen_ai.usage.input_tokens']], ['output', r['gen_ai.usage.output_tokens']]] as const) {
      if (n === null) continue;
      counterAttrs[Attr.tokenType] = type;
      counter.add(counterAttrs, n);
      if (usable) {
        usageAttrs[Attr.tokenType] = type;
        usage.observe(usageAttrs, n);
      }
    }
  }

  private observeServer(r: LlmCallRecord): void {
    const attrs = llmMetricAttributes(r);
    this.store.limiter.admit(attrs);
    const ok = withoutErrorType(attrs);
    if (r.duration_s !== null) this.f(Metrics.serverDuration).observe(attrs, r.duration_s);
    if (r.ttft_s !== null) this.f(Metrics.serverTtft).observe(ok, r.ttft_s);
    // the spec: successful responses only
    if (r.tpot_s !== null && r['error.type'] === null) this.f(Metrics.serverTpot).observe(ok, r.tpot_s);
  }

  private observeRetrieval(r: RetrievalCallRecord): void {
    if (r.duration_s === null) return;
    const attrs = retrievalMetricAttributes(r);
    this.store.limiter.admit(attrs);
    this.f(Metrics.dbDuration).observe(attrs, r.duration_s);
    this.f(Metrics.retrievalDuration).observe(attrs, r.duration_s);
  }

  /**
   * Inbound request duration, and its retrieval share for the requests that made LLM or
   * retrieval calls (the others would only pile up zeros: health checks, static files).
   */
  private observeServerRequest(r: ServerRequestRecord): void {
    if (r.duration_s !== null) this.f(Metrics.serverRequestDuration).observe(serverRequestMetricAttributes(r), r.duration_s);
    const o = r.outbound;
    if (r.retrieval_share !== null && o.llm.count + o.retrieval.count > 0) {
      this.f(Metrics.retrievalShare).observe(serverRequestMetricAttributes(r, false), Math.min(1, Math.max(0, r.retrieval_share)));
    }
  }

  /** Copies capture counters (monotonic totals) into the store. */
  captureStats(s: CaptureStatsSnapshot): void {
    const lost = this.f(Metrics.captureLost);
    const parse = this.f(Metrics.parseErrors);
    if (s.kernel) {
      this.f(Metrics.captureEvents).set({}, s.kernel.records);
      this.f(Metrics.captureBytes).set({}, s.kernel.bytes);
      const k = s.kernel.kernelByName;
      for (const [name, v] of Object.entries(k)) this.f(Metrics.kernelCounters).set({ [Attr.kernelCounter]: name }, v);
      for (const reason of ['ringbuf_drops', 'read_faults', 'conn_map_full', 'tls_unbound'] as const) {
        if (k[reason] !== undefined) lost.set({ [Attr.lossReason]: reason }, k[reason]);
      }
      if (k.payload_truncated !== undefined) this.f(Metrics.captureTruncated).set({}, k.payload_truncated);
    }
    if (s.programs) {
      const runs = this.f(Metrics.bpfRuns);
      const time = this.f(Metrics.bpfRunTime);
      for (const [name, p] of Object.entries(s.programs)) {
        runs.set({ [Attr.bpfProgram]: name }, p.runCount);
        time.set({ [Attr.bpfProgram]: name }, p.runTimeNs / 1e9);
      }
    }
    if (s.decoder) {
      parse.set({ [Attr.parseStage]: 'decode' }, s.decoder.badRecords + s.decoder.unknownTypes + s.decoder.versionMismatch + s.decoder.truncatedBatches);
    }
    if (s.pipeline) {
      const p = s.pipeline;
      lost.set({ [Attr.lossReason]: 'pipeline_lost_records' }, p.lostRecords);
      lost.set({ [Attr.lossReason]: 'capture_loss_events' }, p.captureLossEvents);
      parse.set({ [Attr.parseStage]: 'http' }, p.http.badHeads + p.http.headTooLarge + p.http.resyncs);
      parse.set({ [Attr.parseStage]: 'body' }, p.http.undecodableBodies + p.calls.badJsonPayloads);
      parse.set({ [Attr.parseStage]: 'internal' }, p.calls.internalErrors);
      this.f(Metrics.openConnections).set({}, p.connections.open);
      // counters split by an llmslo.reason label
      const byReason = (def: MetricDef, values: Record<string, number>): void => {
        const m = this.f(def);
        for (const [reason, v] of Object.entries(values)) m.set({ [Attr.lossReason]: reason }, v);
      };
      const sr = p.serverRequests;
      if (sr)
        byReason(Metrics.serverRequestLinking, {
          linked_calls: sr.linkedCalls,
          ambiguous_calls: sr.ambiguousCalls,
          dropped_intervals: sr.droppedIntervals,
          untracked_requests: sr.untrackedRequests,
          stale_requests_forgotten: sr.staleForgotten,
          folded_routes: sr.routesFolded,
        });
      this.f(Metrics.bufferedBytes).set({}, p.bufferedBytes);
      const c = p.calls;
      byReason(Metrics.unsentCalls, {
        connect_recorded: c.connectFailuresRecorded,
        connect_unknown_endpoint: c.connectFailuresOther,
        connect_abandoned: c.connectAttemptsAbandoned,
        tls_recorded: c.tlsFailuresRecorded,
        tls_other: c.tlsFailuresOther,
        tls_unused: c.tlsUnusedConnections,
        dns_recorded: p.dns.recorded,
        dns_failed_answers: p.dns.failures,
        dns_unanswered: p.dns.unanswered,
        dns_unanswered_untracked: p.dns.unansweredUntracked,
      });
      const ms = p.mirroredServers;
      byReason(Metrics.mirroredServers, {
        adopted: ms.adopted,
        derived: ms.derived,
        derived_partial: ms.derivedPartial,
        unaligned: ms.unaligned,
        skipped: c.mirroredServerSkipped,
        log_overflow: ms.logOverflow,
        evicted: ms.evicted,
        inconsistent: ms.inconsistent,
        parsed_framing: ms.declined.framing,
        parsed_incomplete: ms.declined.incomplete,
        parsed_no_client_exchange: ms.declined.noClientExchange,
      });
    }
  }

  /** Refreshes the store's own health counters; call before reading the store. */
  syncHealth(): void {
    const over = this.f(Metrics.seriesOverflow);
    const dropped = this.f(Metrics.seriesDropped);
    if (this.store.limiter.folded) over.set({ [Attr.metricName]: '_label_sets' }, this.store.limiter.folded);
    for (const fam of [...this.store.families.values()]) {
      if (fam.overflowed) over.set({ [Attr.metricName]: fam.def.name }, fam.overflowed);
      if (fam.dropped) dropped.set({ [Attr.metricName]: fam.def.name }, fam.dropped);
    }
  }
}
