// What `llmslo run` plugs its record stream into: Prometheus endpoint, OTLP/HTTP exporters and
// the JSONL writer behind one small API.
//
//   const out = await createOutputs({ prometheus: {}, otlp: { endpoint }, jsonl: { path: '-' } });
//   pipeline -> out.onRecord(rec); every few seconds out.onCaptureStats({ kernel, decoder, pipeline });
//   slo onAlert -> out.onSloAlert(ev); on exit await out.shutdown().
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { CallRecord } from '../llm/records.ts';
import type { SloAlertEvent } from '../slo/alert_event.ts';
import { JsonlWriter, type JsonlStats, type JsonlWriterOptions } from './jsonl.ts';
import { RecordMetrics, type CaptureStatsSnapshot, type RecordMetricsOptions } from './metrics.ts';
import { LLMSLO_VERSION, OtlpExport, checkOtlpEndpoint, type OtlpOptions, type OtlpStats } from './otlp.ts';
import { exportableRecord, type PrivacyOptions } from './privacy.ts';
import { PrometheusBridge, startPrometheusServer, type PrometheusServer, type PrometheusServerOptions } from './prometheus.ts';
import { Attr, Metrics, SEMCONV_VERSION } from './semconv.ts';
import type { SpanOptions } from './spans.ts';
import { DEFAULT_MAX_SERIES, MetricStore } from './store.ts';

export interface OutputsConfig {
  /**
   * Serve /metrics (default on 127.0.0.1:9464); `false` keeps the registry without a server.
   * `processMetrics` (default true) adds the agent's own CPU/memory/event-loop metrics as llmslo_agent_*.
   */
  prometheus?: (PrometheusServerOptions & { registry?: Registry; processMetrics?: boolean }) | false;
  /** OTLP/HTTP export; off unless an endpoint is given. */
  otlp?: OtlpOptions | null;
  /** `--jsonl PATH|-`. */
  jsonl?: JsonlWriterOptions | null;
  /** Distinct model/server/data-source combinations before they fold into `_OTHER` (default 200). */
  maxLabelSets?: number;
  /** Backstop: distinct label sets per metric (default 2000). */
  maxSeriesPerMetric?: number;
  metrics?: RecordMetricsOptions;
  spans?: SpanOptions;
  privacy?: PrivacyOptions;
}

export interface OutputsStats {
  records: number;
  series: number;
  jsonl: JsonlStats | null;
  otlp: OtlpStats | null;
  prometheusScrapes: number;
}

export interface Outputs {
  /** The registry /metrics serves; register other agent metrics (SLO engine) on it. */
  readonly registry: Registry;
  readonly store: MetricStore;
  /** http://host:port/metrics when the endpoint is up. */
  readonly prometheusUrl: string | null;
  /** Any pipeline record: llm_call, retrieval_call or server_request. */
  onRecord(rec: CallRecord): void;
  onCaptureStats(s: CaptureStatsSnapshot): void;
  onSloAlert(ev: SloAlertEvent): void;
  /** The Prometheus text the endpoint would serve now. */
  metricsText(): Promise<string>;
  stats(): OutputsStats;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export async function createOutputs(config: OutputsConfig = {}): Promise<Outputs> {
  // bad options fail before anything is opened
  const otlpProblem = config.otlp ? checkOtlpEndpoint(config.otlp.endpoint) : null;
  if (otlpProblem) throw new Error(otlpProblem);
  const store = new MetricStore({ maxSeries: config.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES, maxLabelSets: config.maxLabelSets });
  const metrics = new RecordMetrics(store, config.metrics);
  const privacy = config.privacy ?? {};
  const jsonl = config.jsonl ? new JsonlWriter(config.jsonl) : null;
  let otlp: OtlpExport | null = null;
  let records = 0;

  const syncExportHealth = (): void => {
    metrics.syncHealth();
    const items = store.family(Metrics.exportItems);
    const queue = store.family(Metrics.exportQueue);
    if (jsonl) {
      const j = jsonl.stats();
      items.set({ [Attr.signal]: 'jsonl', [Attr.exportResult]: 'written' }, j.written);
      items.set({ [Attr.signal]: 'jsonl', [Attr.exportResult]: 'dropped' }, j.dropped);
    }
    if (otlp) {
      const s = otlp.stats();
      for (const signal of ['traces', 'logs'] as const) {
        const c = s[signal];
        items.set({ [Attr.signal]: signal, [Attr.exportResult]: 'exported' }, c.exported);
        items.set({ [Attr.signal]: signal, [Attr.exportResult]: 'failed' }, c.failed);
        items.set({ [Attr.signal]: signal, [Attr.exportResult]: 'dropped_queue_full' }, c.droppedQueueFull);
        items.set({ [Attr.signal]: signal, [Attr.exportResult]: 'dropped_shutdown' }, c.droppedShutdown);
        queue.set({ [Attr.signal]: signal }, c.queued);
      }
      items.set({ [Attr.signal]: 'metrics', [Attr.exportResult]: 'exported' }, s.metrics.exports);
      items.set({ [Attr.signal]: 'metrics', [Attr.exportResult]: 'failed' }, s.metrics.failedExports);
    }
  };

  const promCfg = config.prometheus === false ? null : config.prometheus ?? {};
  const registry = (config.prometheus !== false && config.prometheus?.registry) || new Registry();
  store.family(Metrics.buildInfo).set({ [Attr.version]: LLMSLO_VERSION, [Attr.semconvVersion]: SEMCONV_VERSION }, 1);
  if (promCfg && promCfg.processMetrics !== false) {
    try {
      // Event-loop lag sampled every 100 ms, not prom-client's 10: its timer woke the idle agent
      // 100 times a second (a third of its idle CPU); lag that matters lasts longer than that.
      collectDefaultMetrics({ register: registry, prefix: 'llmslo_agent_', eventLoopMonitoringPrecision: 100 });
    } catch {
      // already registered on a registry the caller shares: keep theirs
    }
  }
  const bridge = new PrometheusBridge(registry, store, syncExportHealth);
  bridge.sync();
  let server: PrometheusServer | null = null;
  if (promCfg) server = await startPrometheusServer(bridge, promCfg);
  try {
    if (config.otlp) otlp = new OtlpExport(config.otlp, store, syncExportHealth, { ...config.spans, ...privacy });
  } catch (err) {
    await server?.close();
    throw err;
  }

  return {
    registry,
    store,
    prometheusUrl: server?.url ?? null,
    onRecord(rec) {
      records++;
      try {
        metrics.observe(rec);
        otlp?.onRecord(rec);
        jsonl?.write(exportableRecord(rec, privacy));
      } catch {
        // a malformed record must not stop the agent: count it and go on
        metrics.countSkipped('export_error');
      }
    },
    onCaptureStats(s) {
      try {
        metrics.captureStats(s);
      } catch {
        metrics.countSkipped('bad_capture_stats');
      }
    },
    onSloAlert(ev) {
      jsonl?.write(ev);
      otlp?.onSloAlert(ev);
    },
    metricsText: () => bridge.metrics(),
    stats: () => ({ records, series: store.seriesCount(), jsonl: jsonl?.stats() ?? null, otlp: otlp?.stats() ?? null, prometheusScrapes: server?.scrapes() ?? 0 }),
    async flush() {
      await otlp?.flush();
    },
    async shutdown() {
      await otlp?.shutdown();
      await jsonl?.close();
      await server?.close();
    },
  };
}
