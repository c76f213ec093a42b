// OTLP/HTTP (protobuf) export of metrics, traces and logs with the official OpenTelemetry JS SDK.
// Metrics come from the shared MetricStore through a MetricProducer (the same numbers as the
// Prometheus endpoint, cumulative temporality). Spans and log records go through bounded queues
// (src/export/queue.ts); the exporters' transport retries transient failures a bounded number of
// times; everything that still fails or does not fit is counted.
import { hostname } from 'node:os';
import { ROOT_CONTEXT, ValueType, trace, type Span } from '@opentelemetry/api';
import { SeverityNumber, type AnyValue, type AnyValueMap } from '@opentelemetry/api-logs';
import { ExportResultCode, millisToHrTime, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { LoggerProvider, type LogRecordExporter, type LogRecordProcessor, type ReadableLogRecord, type SdkLogRecord } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { CallRecord } from '../llm/records.ts';
import type { SloAlertEvent } from '../slo/alert_event.ts';
import { exportableRecord, type PrivacyOptions } from './privacy.ts';
import { BoundedExportQueue, type BoundedQueueOptions, type QueueCounters } from './queue.ts';
import { Attr, SEMCONV_SCHEMA_URL, type Attributes } from './semconv.ts';
import { PresetIdGenerator, parentContext, recordSpan, spanTimes, type SpanOptions } from './spans.ts';
import type { MetricStore } from './store.ts';

export const LLMSLO_VERSION = '0.1.0';
const SCOPE = { name: 'llmslo', version: LLMSLO_VERSION, schemaUrl: SEMCONV_SCHEMA_URL };

export interface OtlpOptions {
  /** Base URL, e.g. http://127.0.0.1:4318; /v1/{metrics,traces,logs} are appended. */
  endpoint: string;
  headers?: Record<string, string>;
  metrics?: boolean;
  traces?: boolean;
  /** 'records': one log record per call record (plus alerts); 'errors': failed calls and alerts; 'alerts'; 'none'. */
  logs?: 'records' | 'errors' | 'alerts' | 'none';
  metricIntervalMs?: number;
  /** Metric temporality (default cumulative; some backends want delta). */
  temporality?: 'cumulative' | 'delta';
  /** Per-export deadline, retries included (default 10 s). */
  timeoutMs?: number;
  queue?: BoundedQueueOptions;
  resourceAttributes?: Record<string, string>;
  /** Requests in flight per exporter (OTLP exporter's concurrencyLimit, default 2). */
  concurrencyLimit?: number;
}

export type OtlpSignal = 'metrics' | 'traces' | 'logs';

export interface OtlpStats {
  metrics: { exports: number; failedExports: number; dataPoints: number };
  lastErrors: LastErrors;
  traces: QueueCounters & { queued: number };
  logs: QueueCounters & { queued: number };
}

const endpointFor = (base: string, signal: OtlpSignal): string => `${base.replace(/\/+$/, '')}/v1/${signal}`;

/** Validates an OTLP endpoint: one line naming the problem. */
export function checkOtlpEndpoint(endpoint: string): string | null {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return `OTLP endpoint is not a URL: ${JSON.stringify(endpoint)}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `OTLP endpoint must be http:// or https://, got ${u.protocol}`;
  if (/\/v1\/(metrics|traces|logs)\/?$/.test(u.pathname)) return `OTLP endpoint is the base URL (e.g. http://host:4318), without ${u.pathname}`;
  return null;
}

const toHr = (ms: number): [number, number] => millisToHrTime(ms);

interface SeriesSnapshot {
  value: number;
  count: number;
  buckets: Float64Array | null;
}

/**
 * Exposes the MetricStore to an OTel MetricReader. Cumulative by default (the store's totals);
 * with `delta`, each collection reports the change since the previous one (counters and
 * histograms; gauges stay as they are). A delta whose export then fails is lost, as in the SDK.
 */
export class StoreMetricProducer implements MetricProducer {
  private readonly last = new Map<string, Map<string, SeriesSnapshot>>();
  private lastCollectMs: number;

  constructor(
    private readonly store: MetricStore,
    private readonly beforeCollect: () => void,
    private readonly temporality: 'cumulative' | 'delta' = 'cumulative',
  ) {
    this.lastCollectMs = store.startTimeMs;
  }

  async collect(): Promise<CollectionResult> {
    this.beforeCollect();
    const delta = this.temporality === 'delta';
    const nowMs = Date.now();
    const start = toHr(delta ? this.lastCollectMs : this.store.startTimeMs);
    const end = millisToHrTime(nowMs);
    this.lastCollectMs = nowMs;
    const temporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    const metrics: MetricData[] = [];
    for (const fam of this.store.families.values()) {
      if (fam.series.size === 0) continue;
      const d = fam.def;
      const descriptor = { name: d.name, description: d.help, unit: d.unit, valueType: ValueType.DOUBLE };
      if (d.kind === 'gauge') {
        const dataPoints = [...fam.series.values()].map((s) => ({ startTime: end, endTime: end, attributes: s.attributes, value: s.value }));
        metrics.push({ descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints });
        continue;
      }
      let prev = this.last.get(d.name);
      if (delta && !prev) this.last.set(d.name, (prev = new Map()));
      const points: Array<{ attributes: Attributes; value: number; count: number; buckets: number[]; min?: number; max?: number }> = [];
      for (const [key, s] of fam.series) {
        const p = prev?.get(key);
        const buckets = s.buckets ? Array.from(s.buckets, (c, i) => c - (p?.buckets?.[i] ?? 0)) : [];
        const point = { attributes: s.attributes, value: s.value - (p?.value ?? 0), count: s.count - (p?.count ?? 0), buckets };
        if (prev) prev.set(key, { value: s.value, count: s.count, buckets: s.buckets ? Float64Array.from(s.buckets) : null });
        // a delta series without news is left out; min/max only make sense cumulatively
        if (delta && point.count === 0 && point.value === 0) continue;
        points.push(!delta && s.count > 0 ? { ...point, min: s.min, max: s.max } : point);
      }
      if (!points.length) continue;
      if (d.kind === 'histogram') {
        const boundaries = [...(d.buckets ?? [])];
        metrics.push({
          descriptor,
          aggregationTemporality: temporality,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: points.map((p) => ({
            startTime: start,
            endTime: end,
            attributes: p.attributes,
            value: { buckets: { boundaries, counts: p.buckets }, count: p.count, sum: p.value, ...(p.min !== undefined ? { min: p.min, max: p.max } : {}) },
          })),
        });
      } else {
        metrics.push({
          descriptor,
          aggregationTemporality: temporality,
          dataPointType: DataPointType.SUM,
          isMonotonic: true,
          dataPoints: points.map((p) => ({ startTime: start, endTime: end, attributes: p.attributes, value: p.value })),
        });
      }
    }
    // the reader keeps its own MeterProvider's resource; this one is not used
    const resourceMetrics = { resource: resourceFromAttributes({}), scopeMetrics: [{ scope: SCOPE, metrics }] } as unknown as ResourceMetrics;
    return { resourceMetrics, errors: [] };
  }
}

/** Counts what the metric exporter did with each collection. */
class CountingMetricExporter implements PushMetricExporter {
  exports = 0;
  failedExports = 0;
  dataPoints = 0;
  constructor(
    private readonly inner: OTLPMetricExporter,
    private readonly errors: LastErrors,
  ) {}
  export(metrics: ResourceMetrics, cb: (r: ExportResult) => void): void {
    let points = 0;
    for (const sm of metrics.scopeMetrics) for (const m of sm.metrics) points += m.dataPoints.length;
    this.inner.export(metrics, (r) => {
      if (r.code === ExportResultCode.SUCCESS) {
        this.exports++;
        this.dataPoints += points;
      } else {
        this.failedExports++;
        this.errors.metrics = errorLine(r);
      }
      cb(r);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
}

/** Hands finished items to a bounded export queue; flush and shutdown drain it. */
abstract class QueueProcessor<T> {
  constructor(readonly queue: BoundedExportQueue<T>) {}
  forceFlush(): Promise<void> {
    return this.queue.flush();
  }
  shutdown(): Promise<void> {
    return this.queue.close();
  }
}

class QueueSpanProcessor extends QueueProcessor<ReadableSpan> implements SpanProcessor {
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.queue.push(span);
  }
}

class QueueLogProcessor extends QueueProcessor<ReadableLogRecord> implements LogRecordProcessor {
  onEmit(rec: SdkLogRecord): void {
    this.queue.push(rec);
  }
}

/** Last export error per signal (one line), for stats and the agent's status output. */
export type LastErrors = Record<OtlpSignal, string | null>;

const errorLine = (r: ExportResult): string => (r.error ? `${r.error.name}: ${r.error.message}`.split('\n')[0]!.slice(0, 200) : 'export failed');

const exportWith =
  <T>(exporter: { export(items: T[], cb: (r: ExportResult) => void): void }, errors: LastErrors, signal: OtlpSignal) =>
  (items: T[]): Promise<boolean> =>
    new Promise((resolve) =>
      exporter.export(items, (r) => {
        const ok = r.code === ExportResultCode.SUCCESS;
        if (!ok) errors[signal] = errorLine(r);
        resolve(ok);
      }),
    );

/** Log body: the exportable record as an OTLP AnyValue map (nulls kept, no text unless opted in). */
function toAnyValue(v: unknown): AnyValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toAnyValue);
  if (typeof v === 'object' && v) {
    const out: AnyValueMap = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toAnyValue(x);
    return out;
  }
  return null;
}

export class OtlpExport {
  readonly resource: Resource;
  private readonly meterProvider: MeterProvider | null = null;
  private readonly metricExporter: CountingMetricExporter | null = null;
  private readonly tracerProvider: BasicTracerProvider | null = null;
  private readonly loggerProvider: LoggerProvider | null = null;
  private readonly spanQueue: BoundedExportQueue<ReadableSpan> | null = null;
  private readonly logQueue: BoundedExportQueue<ReadableLogRecord> | null = null;
  private readonly logMode: NonNullable<OtlpOptions['logs']>;
  private readonly tracer;
  private readonly logger;
  private readonly lastErrors: LastErrors = { metrics: null, traces: null, logs: null };
  /** SERVER spans of inbound requests get the ids the pipeline gave them (see spans.ts). */
  private readonly ids = new PresetIdGenerator();
  private readonly spanOpts: SpanOptions & PrivacyOptions;

  constructor(opts: OtlpOptions, store: MetricStore, beforeCollect: () => void, spanOpts: SpanOptions & PrivacyOptions = {}) {
    this.spanOpts = { ...spanOpts, ids: this.ids };
    const problem = checkOtlpEndpoint(opts.endpoint);
    if (problem) throw new Error(problem);
    // the SDK's defaults (telemetry.sdk.*), then ours, then the caller's
    this.resource = defaultResource().merge(
      resourceFromAttributes({ 'service.name': 'llmslo', 'service.version': LLMSLO_VERSION, 'host.name': hostname(), ...opts.resourceAttributes }),
    );
    const common = { headers: opts.headers, timeoutMillis: opts.timeoutMs ?? 10_000, concurrencyLimit: opts.concurrencyLimit ?? 2 };
    if (opts.metrics !== false) {
      this.metricExporter = new CountingMetricExporter(new OTLPMetricExporter({ ...common, url: endpointFor(opts.endpoint, 'metrics') }), this.lastErrors);
      const reader = new PeriodicExportingMetricReader({
        exporter: this.metricExporter,
        exportIntervalMillis: opts.metricIntervalMs ?? 15_000,
        exportTimeoutMillis: Math.min(opts.timeoutMs ?? 10_000, opts.metricIntervalMs ?? 15_000),
        metricProducers: [new StoreMetricProducer(store, beforeCollect, opts.temporality)],
      });
      // sdk-metrics pins its own copy of @opentelemetry/resources; the Resource shape is the same
      this.meterProvider = new MeterProvider({ resource: this.resource as never, readers: [reader] });
    }
    if (opts.traces !== false) {
      const exporter: SpanExporter = new OTLPTraceExporter({ ...common, url: endpointFor(opts.endpoint, 'traces') });
      this.spanQueue = new BoundedExportQueue<ReadableSpan>(exportWith(exporter, this.lastErrors, 'traces'), opts.queue);
      this.tracerProvider = new BasicTracerProvider({ resource: this.resource, sampler: new AlwaysOnSampler(), idGenerator: this.ids, spanProcessors: [new QueueSpanProcessor(this.spanQueue)] });
    }
    this.logMode = opts.logs ?? 'records';
    if (this.logMode !== 'none') {
      const exporter: LogRecordExporter = new OTLPLogExporter({ ...common, url: endpointFor(opts.endpoint, 'logs') });
      this.logQueue = new BoundedExportQueue<ReadableLogRecord>(exportWith(exporter, this.lastErrors, 'logs'), opts.queue);
      this.loggerProvider = new LoggerProvider({ resource: this.resource, processors: [new QueueLogProcessor(this.logQueue)] });
    }
    this.tracer = this.tracerProvider?.getTracer(SCOPE.name, SCOPE.version, { schemaUrl: SCOPE.schemaUrl }) ?? null;
    this.logger = this.loggerProvider?.getLogger(SCOPE.name, SCOPE.version, { schemaUrl: SCOPE.schemaUrl }) ?? null;
  }

  onRecord(r: CallRecord): void {
    const span = this.tracer ? recordSpan(this.tracer, r, this.spanOpts) : null;
    if (!this.logger) return;
    if (this.logMode === 'alerts' || (this.logMode === 'errors' && r['error.type'] === null)) return;
    if (r.schema !== 'llmslo.server_request/v1' && r.observed_side === 'server' && !this.spanOpts.serverSideSpans) return;
    this.emitRecordLog(r, span);
  }

  private emitRecordLog(r: CallRecord, span: Span | null): void {
    const rec = exportableRecord(r, this.spanOpts);
    const err = r['error.type'];
    // the call's end on the wall clock, like its span
    const t = spanTimes(r, this.spanOpts.clock).endMs;
    this.logger?.emit({
      eventName: r.schema.replace('/', '.'),
      timestamp: t,
      severityNumber: err ? SeverityNumber.WARN : SeverityNumber.INFO,
      severityText: err ? 'WARN' : 'INFO',
      body: toAnyValue(rec),
      attributes: {
        [Attr.schema]: r.schema,
        ...(r.schema === 'llmslo.server_request/v1' ? { [Attr.httpRoute]: r['http.route'] } : { [Attr.operationName]: r['gen_ai.operation.name'] }),
        ...(err ? { [Attr.errorType]: err } : {}),
      },
      // the call's own span, or else the application span it was made under
      context: span ? trace.setSpan(ROOT_CONTEXT, span) : parentContext(r),
    });
  }

  onSloAlert(ev: SloAlertEvent): void {
    if (!this.logger) return;
    const firing = ev.state === 'firing';
    this.logger.emit({
      eventName: ev.schema.replace('/', '.'),
      timestamp: Date.parse(ev.time),
      severityNumber: firing ? (ev.severity === 'page' ? SeverityNumber.ERROR : SeverityNumber.WARN) : SeverityNumber.INFO,
      severityText: firing ? (ev.severity === 'page' ? 'ERROR' : 'WARN') : 'INFO',
      body: toAnyValue(ev),
      attributes: { [Attr.schema]: ev.schema, [Attr.slo]: ev.slo, [Attr.sloState]: ev.state, [Attr.sloSeverity]: ev.severity },
    });
  }

  stats(): OtlpStats {
    const q = (x: BoundedExportQueue<unknown> | null): QueueCounters & { queued: number } =>
      x ? { ...x.counters, queued: x.length } : { enqueued: 0, exported: 0, failed: 0, droppedQueueFull: 0, droppedShutdown: 0, batches: 0, failedBatches: 0, queued: 0 };
    const me = this.metricExporter;
    return {
      metrics: { exports: me?.exports ?? 0, failedExports: me?.failedExports ?? 0, dataPoints: me?.dataPoints ?? 0 },
      traces: q(this.spanQueue as BoundedExportQueue<unknown> | null),
      logs: q(this.logQueue as BoundedExportQueue<unknown> | null),
      lastErrors: { ...this.lastErrors },
    };
  }

  /** Exports what is pending now. Failures are counted in stats(), never thrown. */
  async flush(): Promise<void> {
    await Promise.allSettled([this.meterProvider?.forceFlush(), this.tracerProvider?.forceFlush(), this.loggerProvider?.forceFlush()]);
  }

  /** Flushes (a final metric export included) and stops; bounded by the export timeout. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([this.meterProvider?.shutdown(), this.tracerProvider?.shutdown(), this.loggerProvider?.shutdown()]);
  }
}

/**
 * OTLP options from the standard OpenTelemetry environment variables, or null when no endpoint
 * is set: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS (k=v,k2=v2, URL-encoded values),
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_METRIC_EXPORT_INTERVAL, OTEL_EXPORTER_OTLP_TIMEOUT (ms).
 */
export function otlpOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): OtlpOptions | null {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return null;
  const pairs = (s: string | undefined): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const part of (s ?? '').split(',')) {
      const i = part.indexOf('=');
      if (i <= 0) continue;
      try {
        out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        // a malformed escape: keep the raw text rather than fail the agent
        out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
      }
    }
    return out;
  };
  const num = (s: string | undefined): number | undefined => (s && Number.isFinite(Number(s)) && Number(s) > 0 ? Number(s) : undefined);
  return {
    endpoint,
    headers: pairs(env.OTEL_EXPORTER_OTLP_HEADERS),
    resourceAttributes: pairs(env.OTEL_RESOURCE_ATTRIBUTES),
    metricIntervalMs: num(env.OTEL_METRIC_EXPORT_INTERVAL),
    timeoutMs: num(env.OTEL_EXPORTER_OTLP_TIMEOUT),
  };
}
