// Runs the real `promtool` (Debian's prometheus package) on the generated rules:
// `check rules` on every example, `test rules` with series that must and must not fire each
// alert, and an equivalence test: the engine's burn rates and alert decisions, computed in
// process from the same synthetic counts, are asserted exactly by promtool.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { requireBinary, run } from './helpers/promtool.ts';
import { promtoolTest, prng, rulesForTest, runEngine, specFromYaml, type EngineDecision, type MinuteCounts } from './helpers/scenario.ts';
import { loadSloFiles } from '../../src/slo/parse.ts';
import { prometheusRulesYaml, slothSpecsYaml } from '../../src/slo/rules.ts';
import type { SloSpec } from '../../src/slo/spec.ts';

const STANDARD_WINDOWS_MS = [5, 30, 60, 120, 360, 1440, 4320].map((m) => m * 60_000);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'llmslo-promtool-'));
}

/** Writes rules + test for one SLO scenario and runs `promtool test rules`. */
async function promtoolAgrees(
  promtool: string, spec: SloSpec, minutes: MinuteCounts[], decisions: EngineDecision[], evalInterval: string, opts: { budget?: boolean } = {},
): Promise<{ code: number; out: string }> {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'rules.yaml'), rulesForTest([spec], evalInterval));
    writeFileSync(join(dir, 'test.yaml'), promtoolTest(spec, minutes, decisions, STANDARD_WINDOWS_MS, 'rules.yaml', evalInterval, opts));
    const r = await run(promtool, ['test', 'rules', 'test.yaml'], { cwd: dir });
    return { code: r.code, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function minutesOf(n: number, f: (i: number) => MinuteCounts): MinuteCounts[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const firingAt = (d: EngineDecision[], at: number) => d.find((x) => x.atMin === at)!.firing;

describe('promtool check rules', () => {
  test('accepts the rules generated for every example spec', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const dir = tempDir();
    try {
      const files = readdirSync('examples/slo').filter((f) => f.endsWith('.yaml')).map((f) => join('examples/slo', f));
      assert.ok(files.length >= 2);
      const { slos, issues } = await loadSloFiles(files);
      assert.deepEqual(issues, []);
      writeFileSync(join(dir, 'rules.yaml'), prometheusRulesYaml(slos, '30s'));
      const r = await run(promtool, ['check', 'rules', join(dir, 'rules.yaml')]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const m = /SUCCESS: (\d+) rules found/.exec(r.stdout);
      assert.ok(m, r.stdout);
      const groups = (parse(prometheusRulesYaml(slos)) as { groups: { rules: unknown[] }[] }).groups;
      assert.equal(Number(m[1]), groups.reduce((n, g) => n + g.rules.length, 0));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rejects a broken rule file (the check can fail)', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const dir = tempDir();
    try {
      const specs = specFromYaml('apiVersion: llmslo/v1\nservice: s\nslos: [{name: a, sli: {type: availability}, objective: 99}]\n');
      writeFileSync(join(dir, 'rules.yaml'), prometheusRulesYaml(specs).replace('max by (slo) (', 'max by (slo) ((('));
      const r = await run(promtool, ['check', 'rules', join(dir, 'rules.yaml')]);
      assert.notEqual(r.code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('promtool test rules: series that must and must not fire', () => {
  test('a 10-minute full outage pages within minutes and resolves once the short windows clear', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const [spec] = specFromYaml('apiVersion: llmslo/v1\nservice: gw\nslos: [{name: outage, sli: {type: availability}, objective: 99.9}]\n');
    const minutes = minutesOf(130, (i) => (i >= 60 && i < 70 ? { good: 0, bad: 20 } : { good: 20, bad: 0 }));
    const decisions = runEngine([spec!], minutes, range(0, 130), STANDARD_WINDOWS_MS);
    assert.deepEqual(firingAt(decisions, 60), [], 'nothing fires before the outage');
    // 14.4 x 0.1% over 1h needs 1.44% of 1200 events = 18 bad: the first minute of the outage (20 bad) does it.
    assert.deepEqual(firingAt(decisions, 61), ['page', 'ticket']);
    assert.deepEqual(firingAt(decisions, 95), ['page', 'ticket'], 'the 6h/30m pair keeps paging while 30m still holds the outage');
    assert.ok(!firingAt(decisions, 101).includes('page'), 'page resolves once the 5m and 30m windows are clean');
    const r = await promtoolAgrees(promtool, spec!, minutes, decisions, '1m');
    assert.equal(r.code, 0, r.out);
  });

  test('a short spike does not page: both windows must agree', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const [spec] = specFromYaml('apiVersion: llmslo/v1\nservice: gw\nslos: [{name: spike, sli: {type: availability}, objective: 99}]\n');
    const minutes = minutesOf(120, (i) => (i >= 60 && i < 63 ? { good: 0, bad: 20 } : { good: 20, bad: 0 }));
    const decisions = runEngine([spec!], minutes, range(0, 120), STANDARD_WINDOWS_MS);
    const at63 = decisions.find((d) => d.atMin === 63)!;
    assert.ok(at63.burn['5m']! > 14.4, 'the short window alone burns far above 14.4x');
    assert.ok(at63.burn['1h']! < 14.4, 'the long window does not');
    assert.ok(decisions.every((d) => !d.firing.includes('page')), 'page never fires');
    assert.ok(decisions.some((d) => d.firing.includes('ticket')), 'the 1d/2h ticket does (4.8% > 3%)');
    const r = await promtoolAgrees(promtool, spec!, minutes, decisions, '1m');
    assert.equal(r.code, 0, r.out);
  });

  test('too little data never fires: min_events guards each window', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const [spec] = specFromYaml('apiVersion: llmslo/v1\nservice: gw\nslos: [{name: trickle, sli: {type: availability}, objective: 99, alerting: {min_events: 50}}]\n');
    // One call a minute, every one failing: 100% errors, but the 5m and 30m windows never hold 50 events.
    const minutes = minutesOf(120, () => ({ good: 0, bad: 1 }));
    const decisions = runEngine([spec!], minutes, range(0, 120), STANDARD_WINDOWS_MS);
    assert.ok(decisions.every((d) => !d.firing.includes('page')), 'page never fires');
    assert.deepEqual(firingAt(decisions, 49), [], 'ticket waits for 50 events in its 2h window');
    assert.deepEqual(firingAt(decisions, 50), ['ticket']);
    const r = await promtoolAgrees(promtool, spec!, minutes, decisions, '1m');
    assert.equal(r.code, 0, r.out);
  });

  test('alertAfter/for: the alert stays pending for 3 minutes in both evaluations', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const [spec] = specFromYaml(`apiVersion: llmslo/v1
service: gw
slos: [{name: held, sli: {type: availability}, objective: 99, alerting: {windows: [{severity: page, long: 1h, short: 5m, factor: 14.4, for: 3m}]}}]
`);
    const minutes = minutesOf(100, (i) => (i >= 60 && i < 75 ? { good: 0, bad: 20 } : { good: 20, bad: 0 }));
    const decisions = runEngine([spec!], minutes, range(0, 100), STANDARD_WINDOWS_MS);
    // The condition first holds at minute 69 (180 bad of 1200 = 15% > 14.4%); it fires 3 minutes later.
    assert.deepEqual(firingAt(decisions, 71), []);
    assert.deepEqual(firingAt(decisions, 72), ['page']);
    const r = await promtoolAgrees(promtool, spec!, minutes, decisions, '1m');
    assert.equal(r.code, 0, r.out);
  });

  test('promtool reports a wrong expectation (the harness can fail)', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const [spec] = specFromYaml('apiVersion: llmslo/v1\nservice: gw\nslos: [{name: outage, sli: {type: availability}, objective: 99.9}]\n');
    const minutes = minutesOf(80, (i) => (i >= 60 && i < 70 ? { good: 0, bad: 20 } : { good: 20, bad: 0 }));
    const decisions = runEngine([spec!], minutes, range(55, 80), STANDARD_WINDOWS_MS);
    const wrong = decisions.map((d) => (d.atMin === 65 ? { ...d, firing: ['ticket'] } : d));
    const r = await promtoolAgrees(promtool, spec!, minutes, wrong, '1m');
    assert.notEqual(r.code, 0);
    assert.match(r.out, /alertname: LlmsloErrorBudgetBurn, time: 1h5m/);
  });
});

describe('equivalence: engine and Prometheus agree on burn rates and alerts', () => {
  for (const { name, objective, window, seed } of [
    { name: 'avail-30d', objective: 99, window: '30d', seed: 42 },
    { name: 'avail-28d', objective: 99.5, window: '28d', seed: 7 },
  ]) {
    test(`${name}: 3.5 days of noisy traffic with fast, slow and low-traffic burns`, async (t) => {
      const promtool = requireBinary(t, 'promtool');
      if (!promtool) return;
      const [spec] = specFromYaml(`apiVersion: llmslo/v1\nservice: gw\nslos: [{name: ${name}, sli: {type: availability}, objective: ${objective}, window: ${window}}]\n`);
      const rnd = prng(seed);
      const N = 3 * 1440 + 720;
      const minutes = minutesOf(N, (i) => {
        let n = 15 + Math.floor(rnd() * 10);
        let p = 0.002;
        if (i >= 4400 && i < 4420) p = 0.7; // fast burn
        if (i >= 4600 && i < 4900) p = 0.15; // slow burn
        if (i >= 4950 && i < 5000) (n = 1), (p = 1); // low traffic, all failing
        let bad = 0;
        for (let k = 0; k < n; k++) if (rnd() < p) bad++;
        return { good: n - bad, bad };
      });
      const evalAt = range(0, (N - 4330) / 5).map((k) => 4330 + k * 5);
      const decisions = runEngine([spec!], minutes, evalAt, STANDARD_WINDOWS_MS);
      const pages = decisions.filter((d) => d.firing.includes('page')).length;
      const tickets = decisions.filter((d) => d.firing.includes('ticket')).length;
      assert.ok(pages > 0 && pages < decisions.length, `page must both fire and not fire (fired at ${pages} of ${decisions.length})`);
      assert.ok(tickets > 0 && tickets < decisions.length, `ticket must both fire and not fire (fired at ${tickets} of ${decisions.length})`);
      const r = await promtoolAgrees(promtool, spec!, minutes, decisions, '5m');
      assert.equal(r.code, 0, r.out);
    });
  }
});

describe('equivalence: error budget remaining', () => {
  test('over a 1d period (kept exactly in the engine) the budget left equals the recording rule, including before any event', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const [spec] = specFromYaml(`apiVersion: llmslo/v1
service: gw
slos:
  - name: daily
    sli: {type: availability}
    objective: 98
    window: 1d
    alerting:
      windows:
        - {severity: page, long: 1h, short: 5m, budget_percent: 5}
        - {severity: ticket, long: 6h, short: 30m, budget_percent: 20}
`);
    const rnd = prng(3);
    const N = 1440 + 720;
    // Quiet for the first 10 minutes (no events: budget whole), then noisy traffic with two bad hours.
    const minutes = minutesOf(N, (i) => {
      if (i < 10) return { good: 0, bad: 0 };
      const n = 5 + Math.floor(rnd() * 10);
      const p = (i >= 600 && i < 660) || (i >= 1800 && i < 1860) ? 0.3 : 0.01;
      let bad = 0;
      for (let k = 0; k < n; k++) if (rnd() < p) bad++;
      return { good: n - bad, bad };
    });
    // From minute 10: before that Prometheus has fewer than two samples and no increase() at all.
    const decisions = runEngine([spec!], minutes, range(1, N / 10).map((k) => k * 10), STANDARD_WINDOWS_MS);
    assert.equal(decisions[0]!.budgetRemaining, 1);
    assert.ok(decisions.some((d) => d.budgetRemaining < 0.5) && decisions.some((d) => d.firing.length > 0));
    const r = await promtoolAgrees(promtool, spec!, minutes, decisions, '10m', { budget: true });
    assert.equal(r.code, 0, r.out);
  });
});

describe('sloth output', () => {
  test('is one prometheus/v1 document per service and period, over the exported counters', async () => {
    const { slos } = await loadSloFiles(['examples/slo/llm-slos.yaml']);
    const docs = slothSpecsYaml(slos).split(/^---$/m).map((d) => parse(d) as { version: string; service: string; slos: { name: string; objective: number; sli: { events: { error_query: string; total_query: string } } }[] });
    assert.ok(docs.length >= 2);
    const names = docs.flatMap((d) => d.slos.map((s) => s.name)).sort();
    assert.deepEqual(names, slos.map((s) => s.name).sort());
    for (const d of docs) {
      assert.equal(d.version, 'prometheus/v1');
      for (const s of d.slos) {
        assert.match(s.sli.events.error_query, new RegExp(`llmslo_slo_events_total\\{slo="${s.name}",result="bad"\\}\\[\\{\\{\\.window\\}\\}\\]`));
        assert.match(s.sli.events.total_query, /\[\{\{\.window\}\}\]/);
      }
    }
    assert.equal(docs.flatMap((d) => d.slos).find((s) => s.name === 'chat-availability')!.objective, 99.5);
  });
});
