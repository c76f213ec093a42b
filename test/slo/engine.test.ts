import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { SloEngine, geometryFor } from '../../src/slo/engine.ts';
import type { SloAlertEvent } from '../../src/slo/alert_event.ts';
import { StateFileError } from '../../src/slo/persist.ts';
import { callRecord, specFromYaml } from './helpers/scenario.ts';

const MIN = 60_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');

const SPEC = `apiVersion: llmslo/v1
service: gw
slos:
  - {name: avail, sli: {type: availability}, objective: 99, window: 30d}
  - {name: ttft, sli: {type: ttft, threshold: 2s}, objective: 95, window: 28d}
`;

/** Feeds `perMin` calls a minute for [fromMin, toMin), `badShare` of them failing, evaluating every minute. */
function feed(engine: SloEngine, fromMin: number, toMin: number, perMin: number, badShare: number, extra: Record<string, unknown> = {}): void {
  for (let m = fromMin; m < toMin; m++) {
    engine.evaluate(T0 + m * MIN);
    const nBad = Math.round(perMin * badShare);
    for (let k = 0; k < perMin; k++) {
      const at = T0 + m * MIN + Math.floor(((k + 0.5) / perMin) * MIN);
      engine.observe(callRecord(at, k < nBad, extra), at);
    }
  }
}

function alertSchemaValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, validateFormats: false });
  return ajv.compile(JSON.parse(readFileSync('schemas/llmslo.slo_alert.v1.json', 'utf8')) as object);
}

describe('SloEngine', () => {
  test('counts exactly, reports burn rates over the standard windows and the remaining budget', () => {
    const engine = new SloEngine(specFromYaml(SPEC));
    feed(engine, 0, 120, 100, 0.005, { ttft_s: 1.5 });
    const [avail, ttft] = engine.evaluate(T0 + 120 * MIN);
    assert.equal(avail!.period_good + avail!.period_bad, 12_000);
    assert.equal(avail!.period_bad, 120 * 1); // round(100 x 0.005) = 1 bad a minute
    assert.deepEqual(avail!.burn_rates.map((b) => b.window), ['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
    const b1h = avail!.burn_rates.find((b) => b.window === '1h')!;
    assert.deepEqual([b1h.good, b1h.bad], [5940, 60]);
    assert.ok(Math.abs(b1h.burn_rate! - 1) < 1e-9, `1% errors at a 99% objective burn at 1x, got ${b1h.burn_rate}`);
    assert.ok(Math.abs(avail!.error_budget_remaining - 0) < 1e-9);
    assert.equal(ttft!.period_bad, 0, 'errored calls are left out of the ttft SLI');
    assert.equal(ttft!.period_good, 12_000 - 120);
    assert.equal(ttft!.error_budget_remaining, 1);
  });

  test('pages on a fast burn, emits schema-valid firing and resolved events, and updates metrics', async () => {
    const registry = new Registry();
    const events: SloAlertEvent[] = [];
    const engine = new SloEngine(specFromYaml(SPEC), { registry, onAlert: (e) => events.push(e) });
    feed(engine, 0, 90, 20, 0);
    assert.equal(events.length, 0);
    feed(engine, 90, 100, 20, 1); // a 10-minute outage
    const firing = events.filter((e) => e.state === 'firing');
    assert.deepEqual(firing.map((e) => e.severity).sort(), ['page', 'ticket']);
    const page = firing.find((e) => e.severity === 'page')!;
    assert.equal(page.slo, 'avail');
    // 100% errors at 99%: the 6h/30m pair (6x) trips at minute 96, before the 1h/5m pair (14.4x) would at 99.
    assert.equal(page.time, new Date(T0 + 96 * MIN).toISOString());
    assert.deepEqual(page.windows.map((w) => [w.long, w.short, w.active]), [['1h', '5m', false], ['6h', '30m', true]]);
    assert.ok(page.windows[1]!.long_burn_rate! > 6 && page.windows[1]!.short_burn_rate! > 6);
    feed(engine, 100, 500, 20, 0);
    const resolved = events.filter((e) => e.state === 'resolved').map((e) => e.severity).sort();
    assert.deepEqual(resolved, ['page', 'ticket']);
    const validate = alertSchemaValidator();
    for (const e of events) assert.ok(validate(e), JSON.stringify(validate.errors));
    const text = await registry.metrics();
    assert.match(text, /llmslo_slo_events_total\{slo="avail",result="bad"\} 200/);
    assert.match(text, /llmslo_slo_events_total\{slo="avail",result="good"\} 9800/);
    assert.match(text, /llmslo_slo_events_total\{slo="ttft",result="bad"\} 0/, 'series exist at zero before any bad event');
    assert.match(text, /llmslo_slo_info\{slo="ttft",service="gw",sli="ttft",period="28d"\} 1/);
    assert.match(text, /llmslo_slo_alert_transitions_total\{slo="avail",severity="page",state="firing"\} 1/);
    assert.match(text, /llmslo_slo_alert_firing\{slo="avail",severity="page"\} 0/);
    assert.match(text, /llmslo_slo_burn_rate\{slo="avail",window="5m"\} 0/);
    // 200 bad of 9980 events before minute 499 at a 1% budget: 2.004x overspent.
    assert.match(text, /llmslo_slo_error_budget_remaining_ratio\{slo="avail"\} -1\.004008/);
  });

  test('a window with too little data does not fire, however bad', () => {
    const events: SloAlertEvent[] = [];
    const engine = new SloEngine(specFromYaml(SPEC), { onAlert: (e) => events.push(e) });
    // One failing call a minute: the 5m window never holds 10 events, so the fast page cannot fire;
    // the 30m/6h pair can once 10 events are in.
    feed(engine, 0, 9, 1, 1);
    assert.equal(events.length, 0);
    feed(engine, 9, 12, 1, 1);
    assert.deepEqual(events.map((e) => e.severity), ['page', 'ticket']);
    assert.ok(events[0]!.windows.find((w) => w.long === '1h')!.active === false, 'the 1h/5m pair stayed inactive');
  });

  test('alertAfter/for: pending first, firing once the condition held long enough', () => {
    const events: SloAlertEvent[] = [];
    const engine = new SloEngine(
      specFromYaml(`apiVersion: llmslo/v1
service: s
slos: [{name: f, sli: {type: availability}, objective: 99, alerting: {windows: [{severity: page, long: 1h, short: 5m, factor: 2, for: 5m}]}}]
`),
      { onAlert: (e) => events.push(e) },
    );
    feed(engine, 0, 60, 20, 0);
    feed(engine, 60, 64, 20, 1);
    const st = engine.evaluate(T0 + 64 * MIN)[0]!.alerts[0]!;
    assert.equal(st.state, 'pending');
    assert.equal(events.length, 0);
    assert.equal(st.since, new Date(T0 + 62 * MIN).toISOString());
    feed(engine, 64, 67, 20, 1);
    assert.equal(events.length, 0);
    feed(engine, 67, 68, 20, 1);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.since, new Date(T0 + 62 * MIN).toISOString(), 'since = when the condition started holding');
    assert.equal(events[0]!.time, new Date(T0 + 67 * MIN).toISOString(), 'fires 5 minutes later');
  });

  test('drops unusable records with a reason and keeps memory fixed under heavy input', async () => {
    const registry = new Registry();
    const engine = new SloEngine(specFromYaml(SPEC), { registry });
    const now = T0 + 10 * 86_400_000;
    assert.equal(engine.observe('nope', now), 0);
    assert.equal(engine.observe({ schema: 'other/v1' }, now), 0);
    assert.equal(engine.observe({ schema: 'llmslo.llm_call/v1', time: 'soon' }, now), 0);
    assert.equal(engine.observe(callRecord(now + 3_600_000, false), now), 0);
    assert.equal(engine.observe(callRecord(now - 40 * 86_400_000, false), now), 0);
    assert.equal(engine.observe({ schema: 'llmslo.server_request/v1', time: new Date(now).toISOString(), duration_s: 1 }, now), 0);
    assert.deepEqual(engine.stats.dropped, { not_an_object: 1, unknown_schema: 1, bad_time: 1, future: 1, too_old: 1 });
    assert.equal(engine.stats.unmatched, 1);
    assert.match(await registry.metrics(), /llmslo_slo_records_dropped_total\{reason="future"\} 1/);

    // 300k calls over 10 days: state stays within the rings' fixed sizes.
    for (let i = 0; i < 300_000; i++) {
      const at = T0 + Math.floor((i / 300_000) * 10 * 86_400_000);
      engine.observe(callRecord(at, i % 97 === 0, { ttft_s: (i % 50) / 10 }), at);
    }
    const state = engine.toState(now);
    const geo = geometryFor(engine.specs[0]!);
    assert.deepEqual(geo, { bucketMs: MIN, fineSpanMs: 3 * 86_400_000, coarseMs: 3_600_000 });
    for (const s of Object.values(state.slos)) {
      assert.ok(s.fine.length <= 3 * 1440 + 1, `fine buckets ${s.fine.length}`);
      assert.ok(s.coarse.length <= 721, `coarse buckets ${s.coarse.length}`);
    }
    assert.ok(JSON.stringify(state).length < 400_000, `state is ${JSON.stringify(state).length} bytes`);
  });

  test('state survives a restart: budgets, burn rates and a firing alert (no second page)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmslo-slo-state-'));
    try {
      const path = join(dir, 'slo-state.json');
      const events1: SloAlertEvent[] = [];
      const a = new SloEngine(specFromYaml(SPEC), { onAlert: (e) => events1.push(e) });
      feed(a, 0, 60, 20, 0);
      feed(a, 60, 70, 20, 0.5);
      assert.ok(events1.some((e) => e.severity === 'page' && e.state === 'firing'));
      const at = T0 + 70 * MIN;
      const before = a.status(at);
      await a.save(path, at);
      assert.equal(statSync(path).mode & 0o777, 0o600);

      const events2: SloAlertEvent[] = [];
      const b = new SloEngine(specFromYaml(SPEC), { onAlert: (e) => events2.push(e) });
      assert.deepEqual(await b.load(path), { restored: ['avail', 'ttft'], skipped: [] });
      assert.deepEqual(b.status(at), before);
      b.evaluate(at + 30_000);
      assert.deepEqual(events2, [], 'still firing after the restart: no duplicate page');

      // A changed SLI does not reuse the old counts.
      const c = new SloEngine(specFromYaml(SPEC.replace('threshold: 2s', 'threshold: 3s')));
      assert.deepEqual(await c.load(path), { restored: ['avail'], skipped: ['ttft'] });

      // A missing file is a fresh start; a corrupt one is a clear error.
      assert.deepEqual(await new SloEngine(specFromYaml(SPEC)).load(join(dir, 'none.json')), { restored: [], skipped: [] });
      writeFileSync(join(dir, 'bad.json'), '{"schema":"llmslo.slo_state/v1","slos":{"avail":{"fingerprint":1}}}');
      await assert.rejects(new SloEngine(specFromYaml(SPEC)).load(join(dir, 'bad.json')), (e: unknown) => e instanceof StateFileError && /slos\.avail is malformed/.test(e.message));
      writeFileSync(join(dir, 'torn.json'), '{"schema":');
      await assert.rejects(new SloEngine(specFromYaml(SPEC)).load(join(dir, 'torn.json')), /not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('small custom windows get second-resolution buckets; the period is kept exactly when small', () => {
    const [spec] = specFromYaml(`apiVersion: llmslo/v1
service: s
slos: [{name: tiny, sli: {type: availability}, objective: 99, window: 1h, alerting: {windows: [{severity: page, long: 30s, short: 10s, factor: 10}]}}]
`);
    assert.deepEqual(geometryFor(spec!), { bucketMs: 10_000, fineSpanMs: 3_600_000, coarseMs: null });
  });
});
