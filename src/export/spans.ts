// Call records -> OpenTelemetry spans. A CLIENT span per LLM call (`{operation} {model}`) and per
// retrieval call (`retrieval {data source}`), timed from the kernel timestamps. When the call
// carried a W3C traceparent, the span joins that trace as a child of the captured span id.
//
// Inbound requests of applications (`llmslo.server_request/v1`) become SERVER spans
// `{method} {route}`, children of the inbound traceparent when there was one. The pipeline gives
// each inbound request the ids of its SERVER span up front (`server_span`) and writes them on the
// outbound calls it links to it (`enclosing_request`). A linked call without a traceparent of
// its own becomes a child of that SERVER span: its CLIENT span is exported first (the call ends
// first) with the SERVER span's ids as parent, and the SERVER span is created later with exactly
// those ids (PresetIdGenerator). Nothing waits or is buffered. A call that carried its own
// traceparent keeps the application's span as its parent.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, isSpanContextValid, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { CallRecord, ServerRequestRecord } from '../llm/records.ts';
import { Attr, SpanEvents, serverRequestSpanAttributes, spanArrayAttributes, spanAttributes, spanName, type Attributes } from './semconv.ts';

/**
 * The tracer provider's id generator: random ids, except for the one span started inside
 * `withIds`, which gets the given ids (the SDK asks for the span id first, then for a trace id
 * only when the span has no valid parent).
 */
export class PresetIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private span: string | null = null;
  private trace: string | null = null;

  withIds<T>(traceId: string, spanId: string, fn: () => T): T {
    this.span = spanId;
    this.trace = traceId;
    try {
      return fn();
    } finally {
      this.span = this.trace = null;
    }
  }

  generateSpanId(): string {
    const s = this.span;
    this.span = null;
    return s ?? this.random.generateSpanId();
  }

  generateTraceId(): string {
    const t = this.trace;
    this.trace = null;
    return t ?? this.random.generateTraceId();
  }
}

/** Maps a kernel monotonic timestamp (ns) to epoch milliseconds. */
export type WallClock = (monoNs: number) => number;

/**
 * Epoch ms of a record's kernel timestamps. Without an explicit clock the record's own `time`
 * (its request_start as wall time) anchors them, so relative times stay exact to the ns.
 */
export function recordClock(r: CallRecord, clock?: WallClock): WallClock {
  if (clock) return clock;
  const parsed = Date.parse(r.time);
  // a record without a usable time still gets a span, placed now
  const anchorMs = Number.isFinite(parsed) ? parsed : Date.now();
  const anchorNs = r.timestamps_ns.request_start;
  return (ns) => anchorMs + (ns - anchorNs) / 1e6;
}

export interface SpanTimes {
  startMs: number;
  endMs: number;
  events: Array<{ name: string; timeMs: number }>;
}

export function spanTimes(r: CallRecord, clock?: WallClock): SpanTimes {
  const wall = recordClock(r, clock);
  const t = r.timestamps_ns;
  const startMs = wall(t.request_start);
  let endMs: number;
  if (t.response_end !== null) endMs = wall(t.response_end);
  else if (r.duration_s !== null) endMs = startMs + r.duration_s * 1000;
  else endMs = wall(Math.max(t.request_start, t.request_end ?? 0, t.response_start ?? 0));
  const events: SpanTimes['events'] = [];
  const ev = (name: string, ns: number | null | undefined): void => {
    if (ns !== null && ns !== undefined) events.push({ name, timeMs: wall(ns) });
  };
  ev(SpanEvents.requestEnd, t.request_end);
  ev(SpanEvents.responseStart, t.response_start);
  if ('first_chunk' in t) {
    ev(SpanEvents.firstChunk, t.first_chunk);
    ev(SpanEvents.firstToken, t.first_token);
  }
  return { startMs, endMs: Math.max(endMs, startMs), events };
}

/**
 * The parent context for a record: the captured trace/span ids when they are valid; else, for a
 * call linked to an inbound request, that request's SERVER span.
 */
export function parentContext(r: { trace_id: string | null; span_id: string | null; enclosing_request?: { trace_id: string; span_id: string } }): Context {
  const ctx = (traceId: string, spanId: string): Context | null => {
    const sc = { traceId: traceId.toLowerCase(), spanId: spanId.toLowerCase(), traceFlags: TraceFlags.SAMPLED, isRemote: true };
    return isSpanContextValid(sc) ? trace.setSpanContext(ROOT_CONTEXT, sc) : null;
  };
  const own = r.trace_id && r.span_id ? ctx(r.trace_id, r.span_id) : null;
  if (own) return own;
  const enc = r.enclosing_request;
  return (enc && ctx(enc.trace_id, enc.span_id)) || ROOT_CONTEXT;
}

export interface SpanOptions {
  clock?: WallClock;
  /** Put the record's opt-in excerpts on the span (only with the export's explicit opt-in). */
  includeExcerpts?: boolean;
  /** Emit SERVER spans for LLM/retrieval calls observed on the serving process (default false: skipped). */
  serverSideSpans?: boolean;
  /** The id generator of the tracer's provider, so SERVER spans get the ids their children point at. */
  ids?: PresetIdGenerator;
}

/** Starts and ends the span of one record; returns it (ended), or null when skipped. */
export function recordSpan(tracer: Tracer, r: CallRecord, opts: SpanOptions = {}): Span | null {
  if (r.schema === 'llmslo.server_request/v1') return serverRequestSpan(tracer, r, opts);
  if (r.observed_side === 'server' && !opts.serverSideSpans) return null;
  const times = spanTimes(r, opts.clock);
  const attributes: Record<string, Attributes[string] | string[]> = { ...spanAttributes(r), ...spanArrayAttributes(r) };
  // text only when the capture kept excerpts AND the export opted in
  if (opts.includeExcerpts === true && r.schema === 'llmslo.llm_call/v1' && r.excerpts) {
    if (r.excerpts.prompt !== null) attributes[Attr.excerptPrompt] = r.excerpts.prompt;
    if (r.excerpts.completion !== null) attributes[Attr.excerptCompletion] = r.excerpts.completion;
  }
  const span = tracer.startSpan(
    spanName(r),
    { kind: r.observed_side === 'server' ? SpanKind.SERVER : SpanKind.CLIENT, startTime: times.startMs, attributes },
    parentContext(r),
  );
  for (const e of times.events) span.addEvent(e.name, e.timeMs);
  const err = r['error.type'];
  if (err) span.setStatus({ code: SpanStatusCode.ERROR, message: err });
  span.end(times.endMs);
  return span;
}

/**
 * An inbound request of the application on this node (hook for a later HTTP-server capture):
 * the SERVER span that LLM and retrieval CLIENT spans sharing its trace hang under.
 */
export interface InboundRequest {
  /** Epoch ms. */
  startMs: number;
  endMs: number;
  method: string;
  route: string | null;
  statusCode: number | null;
  /** The trace/span ids the application continued (from the inbound traceparent, if any). */
  trace_id: string | null;
  span_id: string | null;
  serverAddress?: string | null;
  serverPort?: number | null;
  /** The ids this SERVER span must have (the ones linked calls point at); needs `ids`. */
  own?: { trace_id: string; span_id: string } | null;
  attributes?: Record<string, Attributes[string] | string[]>;
  events?: SpanTimes['events'];
}

export function inboundRequestSpan(tracer: Tracer, req: InboundRequest, ids?: PresetIdGenerator): Span {
  const attributes: Record<string, Attributes[string] | string[]> = { ...(req.attributes ?? {}), [Attr.httpMethod]: req.method };
  if (req.route) attributes[Attr.httpRoute] = req.route;
  if (req.statusCode !== null) attributes[Attr.httpStatus] = req.statusCode;
  if (req.serverAddress) attributes[Attr.serverAddress] = req.serverAddress;
  if (req.serverAddress && req.serverPort) attributes[Attr.serverPort] = req.serverPort;
  const start = (): Span => tracer.startSpan(req.route ? `${req.method} ${req.route}` : req.method, { kind: SpanKind.SERVER, startTime: req.startMs, attributes }, parentContext(req));
  const span = ids && req.own ? ids.withIds(req.own.trace_id.toLowerCase(), req.own.span_id.toLowerCase(), start) : start();
  for (const e of req.events ?? []) span.addEvent(e.name, e.timeMs);
  if (req.statusCode !== null && req.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: 'server_error' });
  span.end(Math.max(req.endMs, req.startMs));
  return span;
}

/** The SERVER span of a `llmslo.server_request/v1` record. */
export function serverRequestSpan(tracer: Tracer, r: ServerRequestRecord, opts: SpanOptions = {}): Span {
  const times = spanTimes(r, opts.clock);
  return inboundRequestSpan(
    tracer,
    {
      startMs: times.startMs,
      endMs: times.endMs,
      method: r['http.request.method'],
      route: r['http.route'],
      statusCode: r['http.response.status_code'],
      trace_id: r.trace_id,
      span_id: r.span_id,
      serverAddress: r['server.address'],
      serverPort: r['server.port'],
      own: r.server_span,
      attributes: { ...serverRequestSpanAttributes(r), ...spanArrayAttributes(r) },
      events: times.events,
    },
    opts.ids,
  );
}
