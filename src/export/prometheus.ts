// Prometheus view of the MetricStore: each family is registered as a custom metric on a
// prom-client Registry (so other parts of the agent, e.g. the SLO engine, share one registry and
// one /metrics endpoint), plus the HTTP server that serves it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, type Metric } from 'prom-client';
import { prometheusLabel, prometheusName } from './semconv.ts';
import type { MetricFamily, MetricStore } from './store.ts';

interface PromValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** The shape prom-client's Registry reads from a metric (`get()`), without its class machinery. */
interface CustomPromMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  collect?: () => void;
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: PromValue[] }>;
  reset(): void;
}

function formatBound(b: number): string {
  return Number.isInteger(b) ? b.toFixed(1) : String(b);
}

function promValues(fam: MetricFamily, name: string): PromValue[] {
  const out: PromValue[] = [];
  for (const s of fam.series.values()) {
    const labels: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(s.attributes)) labels[prometheusLabel(k)] = typeof v === 'boolean' ? String(v) : v;
    if (!s.buckets) {
      out.push({ value: s.value, labels });
      continue;
    }
    const bounds = fam.def.buckets ?? [];
    let cum = 0;
    for (let i = 0; i < bounds.length; i++) {
      cum += s.buckets[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: formatBound(bounds[i]!) }, value: cum });
    }
    cum += s.buckets[bounds.length]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cum });
    out.push({ metricName: `${name}_sum`, labels, value: s.value });
    out.push({ metricName: `${name}_count`, labels, value: s.count });
  }
  return out;
}

/**
 * Registers every family of the store (present and future) on `registry`. `beforeCollect` runs
 * once per scrape, before any value is read (capture counters are copied in there).
 */
export class PrometheusBridge {
  private readonly registered = new Set<string>();

  constructor(
    readonly registry: Registry,
    private readonly store: MetricStore,
    private readonly beforeCollect: () => void,
  ) {}

  /** Registers families created since the last call; the endpoint calls it on each scrape. */
  sync(): void {
    for (const fam of this.store.families.values()) {
      if (this.registered.has(fam.def.name)) continue;
      const name = prometheusName(fam.def);
      if (this.registry.getSingleMetric(name)) {
        // someone else owns the name: skip rather than throw on every scrape
        this.registered.add(fam.def.name);
        continue;
      }
      const metric: CustomPromMetric = {
        name,
        help: `${fam.def.help} (OTel: ${fam.def.name}, unit ${fam.def.unit})`,
        type: fam.def.kind,
        aggregator: 'sum',
        get: async () => ({ name, help: metric.help, type: fam.def.kind, aggregator: 'sum', values: promValues(fam, name) }),
        reset: () => fam.clear(),
      };
      // prom-client's Registry only calls get() on registered metrics; its TS type wants its own classes
      this.registry.registerMetric(metric as unknown as Metric);
      this.registered.add(fam.def.name);
    }
  }

  async metrics(): Promise<string> {
    this.beforeCollect();
    this.sync();
    return this.registry.metrics();
  }
}

export interface PrometheusServerOptions {
  host?: string;
  port?: number;
  path?: string;
}

export const DEFAULT_PROMETHEUS_HOST = '127.0.0.1';
export const DEFAULT_PROMETHEUS_PORT = 9464;

export interface PrometheusServer {
  readonly server: Server;
  readonly url: string;
  readonly scrapes: () => number;
  close(): Promise<void>;
}

/** Serves `bridge` on http://host:port/path. Rejects with a one-line reason (e.g. port in use). */
export async function startPrometheusServer(bridge: PrometheusBridge, opts: PrometheusServerOptions = {}): Promise<PrometheusServer> {
  const host = opts.host ?? DEFAULT_PROMETHEUS_HOST;
  const port = opts.port ?? DEFAULT_PROMETHEUS_PORT;
  const path = opts.path ?? '/metrics';
  let scrapes = 0;
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${path}\n`);
      return;
    }
    scrapes++;
    bridge.metrics().then(
      (body) => res.writeHead(200, { 'content-type': bridge.registry.contentType }).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`prometheus endpoint ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shownHost}:${addr.port}${path}`,
    scrapes: () => scrapes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
