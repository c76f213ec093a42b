// A real Prometheus server scrapes the SLO engine's registry (served by a tiny node:http server
// inside the test, fed with synthetic calls), evaluates the generated rules, and fires the
// burn-rate alert; the agent's own evaluation fires too. Small custom windows keep it under a minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { requireBinary } from './helpers/promtool.ts';
import { callRecord, specFromYaml } from './helpers/scenario.ts';
import { SloEngine } from '../../src/slo/engine.ts';
import { prometheusRulesYaml } from '../../src/slo/rules.ts';
import type { SloAlertEvent } from '../../src/slo/alert_event.ts';

const SPEC = `apiVersion: llmslo/v1
service: rag-app
slos:
  - name: it-availability
    sli: {type: availability}
    objective: 99
    window: 1h
    alerting:
      min_events: 5
      windows:
        - {severity: page, long: 30s, short: 10s, factor: 10}
`;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.json();
}

interface PromAlert {
  labels: Record<string, string>;
  state: string;
}

async function firingAlerts(base: string): Promise<PromAlert[]> {
  const body = (await getJson(`${base}/api/v1/alerts`)) as { data?: { alerts?: PromAlert[] } };
  return (body.data?.alerts ?? []).filter((a) => a.state === 'firing');
}

async function queryScalar(base: string, q: string): Promise<number | null> {
  const body = (await getJson(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)) as { data?: { result?: { value: [number, string] }[] } };
  const v = body.data?.result?.[0]?.value[1];
  return v === undefined ? null : Number(v);
}

async function waitFor<T>(what: string, deadlineMs: number, f: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + deadlineMs;
  let lastErr = '';
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      lastErr = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${deadlineMs / 1000}s waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ''}`);
}

test('a real Prometheus scrapes the agent registry and fires the generated burn-rate alert', { timeout: 120_000 }, async (t) => {
  const prometheusBin = requireBinary(t, 'prometheus');
  if (!prometheusBin) return;
  const specs = specFromYaml(SPEC);
  const registry = new Registry();
  const agentAlerts: SloAlertEvent[] = [];
  const engine = new SloEngine(specs, { registry, onAlert: (e) => agentAlerts.push(e) });

  const dir = mkdtempSync(join(tmpdir(), 'llmslo-prom-it-'));
  let server: Server | undefined;
  let prom: ChildProcess | undefined;
  let feeder: NodeJS.Timeout | undefined;
  let promLog = '';
  try {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), () => res.writeHead(500).end());
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const agentPort = (server.address() as AddressInfo).port;

    // Synthetic calls at 20/s; `failing` flips the error share from 0 to 50%.
    let failing = false;
    let n = 0;
    feeder = setInterval(() => {
      const now = Date.now();
      for (let i = 0; i < 2; i++) engine.observe(callRecord(now, failing && n++ % 2 === 0), now);
      engine.evaluate(now);
    }, 100);

    writeFileSync(join(dir, 'rules.yaml'), prometheusRulesYaml(specs, '1s'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'rule_files: [rules.yaml]',
        'scrape_configs:',
        `  - {job_name: llmslo-agent, static_configs: [{targets: ['127.0.0.1:${agentPort}']}]}`,
        '',
      ].join('\n'),
    );
    const promPort = await freePort();
    const base = `http://127.0.0.1:${promPort}`;
    prom = spawn(prometheusBin, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr!.on('data', (d: Buffer) => (promLog = (promLog + d.toString()).slice(-4000)));

    // Healthy traffic: the rules see events, and nothing fires.
    await waitFor('Prometheus to record healthy events', 45_000, async () => ((await queryScalar(base, 'llmslo_slo:events:increase30s{slo="it-availability"}')) ?? 0) >= 5);
    assert.equal(await queryScalar(base, 'llmslo_slo:error_ratio30s{slo="it-availability"}'), 0);
    assert.deepEqual(await firingAlerts(base), [], 'no alert on healthy traffic');
    assert.equal(agentAlerts.length, 0);

    failing = true;
    const fired = await waitFor('the page alert to fire in Prometheus', 45_000, async () => {
      const a = await firingAlerts(base);
      return a.length ? a : null;
    });
    assert.equal(fired.length, 1);
    assert.deepEqual(
      { alertname: fired[0]!.labels.alertname, slo: fired[0]!.labels.slo, severity: fired[0]!.labels.severity, service: fired[0]!.labels.service },
      { alertname: 'LlmsloErrorBudgetBurn', slo: 'it-availability', severity: 'page', service: 'rag-app' },
    );
    const burn = await queryScalar(base, 'llmslo_slo:burn_rate10s{slo="it-availability"}');
    assert.ok(burn !== null && burn > 10, `10s burn rate ${burn} above the factor`);
    // The agent's own evaluation of the same SLO fired as well.
    await waitFor('the agent-side alert', 10_000, async () => agentAlerts.some((e) => e.state === 'firing' && e.severity === 'page'));
    const metricsText = await registry.metrics();
    assert.match(metricsText, /llmslo_slo_alert_firing\{slo="it-availability",severity="page"\} 1/);
  } catch (err) {
    if (promLog) t.diagnostic(`prometheus log tail: ${promLog}`);
    throw err;
  } finally {
    if (feeder) clearInterval(feeder);
    if (prom && prom.exitCode === null && prom.pid) {
      const exited = new Promise<void>((r) => prom!.once('exit', () => r()));
      process.kill(prom.pid, 'SIGTERM');
      const killTimer = setTimeout(() => prom?.pid && prom.exitCode === null && process.kill(prom.pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(killTimer);
    }
    if (server) await new Promise<void>((r) => server!.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
