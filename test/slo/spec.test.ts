import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIssue, loadSloFiles, parseSloSources } from '../../src/slo/parse.ts';
import { defaultAlertWindows } from '../../src/slo/windows.ts';
import { DEFAULT_BAD_ERROR_TYPES } from '../../src/slo/spec.ts';

const DAY = 86_400_000;

function parse(text: string, file = 'slos.yaml') {
  return parseSloSources([{ file, text }]);
}

function errors(text: string, file = 'slos.yaml'): string[] {
  const r = parse(text, file);
  assert.equal(r.slos.length, 0, 'no SLOs are returned when anything is wrong');
  return r.issues.map(formatIssue);
}

describe('alert window catalogs', () => {
  test('30d uses the Workbook factors 14.4/6/3/1 on 1h/5m, 6h/30m, 1d/2h, 3d/6h', () => {
    const w = defaultAlertWindows(30 * DAY);
    assert.deepEqual(w.map((x) => [x.severity, x.longMs / 60_000, x.shortMs / 60_000, x.factor]), [
      ['page', 60, 5, 14.4], ['page', 360, 30, 6], ['ticket', 1440, 120, 3], ['ticket', 4320, 360, 1],
    ]);
  });

  test("28d uses Sloth's factors 13.44/5.6/2.8/0.933 on the same windows", () => {
    const w = defaultAlertWindows(28 * DAY);
    assert.deepEqual(w.map((x) => x.factor), [13.44, 5.6, 2.8, 0.9333333333333333]);
    assert.deepEqual(w.map((x) => x.longMs), [3_600_000, 21_600_000, DAY, 3 * DAY]);
  });

  test('a custom period scales the windows and keeps the budget shares', () => {
    const w = defaultAlertWindows(7 * DAY);
    assert.equal(w[0]!.longMs, 840_000); // 1h x 7/30 = 14m
    assert.equal(w[0]!.shortMs, 70_000);
    assert.ok(Math.abs(w[0]!.factor - 14.4) < 1e-9);
  });
});

describe('native llmslo/v1 specs', () => {
  test('parses every SLI type with selectors, objectives and windows', () => {
    const r = parse(`apiVersion: llmslo/v1
kind: SLOSet
service: rag
labels: {team: ml}
slos:
  - name: avail
    sli: {type: availability, bad_error_types: [server_error, overloaded]}
    selector: {provider: openai, model: [gpt-4o, gpt-4o-mini], operation: chat, server_address: api.openai.com, namespace: prod, workload: api, pod: api-0, tenant: acme}
    objective: 99.9
    window: 28d
  - {name: ttft, sli: {type: ttft, threshold: 2s}, target: 0.99}
  - {name: tpot, sli: {type: tpot, threshold: 0.05, op: lt}, objective: 95}
  - {name: tps, sli: {type: output_tokens_per_s, threshold: 20}, objective: 95}
  - {name: req, sli: {type: request_latency, threshold: 1500ms}, selector: {route: /ask}, objective: 99}
  - {name: retr, sli: {type: retrieval_latency, threshold: 250ms, include_errors: true}, selector: {db_system: qdrant, collection: docs}, objective: 99}
  - {name: llm-lat, sli: {type: llm_latency, threshold: 30}, objective: 99}
  - {name: req-avail, sli: {type: availability, source: server_request}, objective: 99}
`);
    assert.deepEqual(r.issues, []);
    const by = Object.fromEntries(r.slos.map((s) => [s.name, s]));
    assert.equal(r.slos.length, 8);
    assert.deepEqual(by.avail!.selector.model, ['gpt-4o', 'gpt-4o-mini']);
    assert.equal(by.avail!.selector.tenant![0], 'acme');
    assert.equal(by.avail!.objective, 0.999);
    assert.equal(by.avail!.periodMs, 28 * DAY);
    assert.deepEqual(by.avail!.sli, { type: 'availability', source: 'llm_call', badErrorTypes: ['server_error', 'overloaded'] });
    assert.deepEqual(by.avail!.labels, { team: 'ml' });
    assert.deepEqual(by.ttft!.sli, { type: 'ttft', source: 'llm_call', field: 'ttft_s', op: 'lte', threshold: 2, includeErrors: false });
    assert.equal(by.ttft!.periodMs, 30 * DAY, '30d is the default period');
    assert.equal(by.tpot!.sli.type === 'tpot' && by.tpot!.sli.op, 'lt');
    assert.equal(by.tps!.sli.type === 'output_tokens_per_s' && by.tps!.sli.op, 'gte');
    assert.equal(by.req!.sli.source, 'server_request');
    assert.equal(by.req!.sli.type === 'request_latency' && by.req!.sli.threshold, 1.5);
    assert.equal(by.retr!.sli.source, 'retrieval_call');
    assert.equal(by['req-avail']!.sli.source, 'server_request');
    assert.equal(by['llm-lat']!.sli.type === 'llm_latency' ? by['llm-lat']!.sli.field : '', 'duration_s');
    assert.equal(by.ttft!.sli.type === 'ttft' ? by.ttft!.sli.field : '', 'ttft_s');
    assert.deepEqual([...(r.slos.find((s) => s.sli.type === 'availability' && s.name === 'req-avail')!.sli as { badErrorTypes: string[] }).badErrorTypes], [...DEFAULT_BAD_ERROR_TYPES]);
  });

  test('custom alert windows: budget_percent, factor, short default 1/12, for', () => {
    const r = parse(`apiVersion: llmslo/v1
service: s
slos:
  - name: a
    sli: {type: availability}
    objective: 99
    window: 7d
    alerting:
      min_events: 3
      windows:
        - {severity: page, long: 1h, budget_percent: 2}
        - {severity: ticket, long: 1d, short: 2h, factor: 1.5, for: 15m, op: gte}
`);
    assert.deepEqual(r.issues, []);
    const [s] = r.slos;
    assert.equal(s!.minEvents, 3);
    assert.deepEqual(s!.alertWindows, [
      { severity: 'page', longMs: 3_600_000, shortMs: 300_000, factor: (2 * 7 * DAY) / (100 * 3_600_000), op: 'gt', forMs: 0 },
      { severity: 'ticket', longMs: DAY, shortMs: 7_200_000, factor: 1.5, op: 'gte', forMs: 900_000 },
    ]);
  });

  test('errors name the file, the line, the path and the problem; all of them, not just the first', () => {
    const errs = errors(`apiVersion: llmslo/v1
service: rag
slos:
  - name: Bad_Name
    sli: {type: ttft}
    objective: 120
  - name: ok-name
    sli: {type: latency, threshold: 2s}
    selector: {provider: openai, colour: red}
    objective: 99
    window: 5x
  - name: three
    sli: {type: availability, bad_error_types: [server_error, teapot]}
    selector: {route: /ask}
    objective: 99
    alerting: {min_events: 0, windows: [{severity: page, long: 5m, short: 10m, factor: 2}]}
`, 'specs/bad.yaml');
    const want = [
      'specs/bad.yaml:4:11: slos[0].name: must be an RFC 1123 name',
      'specs/bad.yaml:5:10: slos[0].sli.threshold: is required for a ttft SLI',
      'specs/bad.yaml:6:16: slos[0].objective: must be a percentage in (0, 100), got 120',
      'specs/bad.yaml:8:17: slos[1].sli.type: must be one of availability, ttft',
      "specs/bad.yaml:9:42: slos[1].selector.colour: unknown key 'colour'",
      "specs/bad.yaml:11:13: slos[1].window: must be a duration like '30s'",
      "specs/bad.yaml:13:63: slos[2].sli.bad_error_types[1]: unknown error class 'teapot'",
      'specs/bad.yaml:16:28: slos[2].alerting.min_events: must be an integer >= 1, got 0',
      'specs/bad.yaml:16:75: slos[2].alerting.windows[0].short: must be shorter than long (5m)',
    ];
    for (const w of want) assert.ok(errs.some((e) => e.startsWith(w)), `missing error starting with: ${w}\n got:\n${errs.join('\n')}`);
    assert.equal(errs.length, want.length, errs.join('\n'));
  });

  test('selectors must fit the SLI source', () => {
    assert.match(
      errors('apiVersion: llmslo/v1\nservice: s\nslos: [{name: a, sli: {type: ttft, threshold: 1}, selector: {route: /x}, objective: 99}]\n')[0]!,
      /^slos\.yaml:3:69: slos\[0\]\.selector\.route: 'route' does not apply to llm_call records \(only server_request\)/,
    );
    assert.match(
      errors('apiVersion: llmslo/v1\nservice: s\nslos: [{name: a, sli: {type: retrieval_latency, threshold: 1}, selector: {model: m}, objective: 99}]\n')[0]!,
      /selector\.model: 'model' does not apply to retrieval_call records/,
    );
  });

  test('YAML syntax errors and wrong top-level shapes are reported with a location', () => {
    assert.match(errors('apiVersion: llmslo/v1\nslos: [\n')[0]!, /^slos\.yaml:\d+:\d+: YAML syntax: /);
    assert.match(errors('- a\n- b\n')[0]!, /^slos\.yaml:1:1: must be a mapping/);
    assert.match(errors('apiVersion: v9\n')[0]!, /^slos\.yaml:1:13: apiVersion: must be llmslo\/v1 or openslo\/v1, got 'v9'/);
    assert.match(errors('')[0]!, /^slos\.yaml: holds no YAML documents/);
    assert.match(errors('apiVersion: llmslo/v1\nservice: s\nslos: []\n')[0]!, /slos: must be a non-empty list/);
  });

  test('duplicate SLO names across files are rejected', () => {
    const r = parseSloSources([
      { file: 'a.yaml', text: 'apiVersion: llmslo/v1\nservice: s\nslos: [{name: x, sli: {type: availability}, objective: 99}]\n' },
      { file: 'b.yaml', text: 'apiVersion: llmslo/v1\nservice: s\nslos: [{name: x, sli: {type: availability}, objective: 99}]\n' },
    ]);
    assert.equal(r.slos.length, 0);
    assert.match(formatIssue(r.issues[0]!), /^b\.yaml: slos\[0\]: duplicate SLO name 'x' \(also defined at a\.yaml slos\[0\]\)/);
  });

  test('windows too short for Prometheus scrapes are valid but warned about', () => {
    const r = parse('apiVersion: llmslo/v1\nservice: s\nslos: [{name: a, sli: {type: availability}, objective: 99, window: 1h, alerting: {windows: [{severity: page, long: 30s, short: 10s, factor: 10}]}}]\n');
    assert.equal(r.slos.length, 1);
    assert.match(r.warnings[0]!, /^slos\.yaml slos\[0\]: shortest alert window is 10s; Prometheus rules need several scrapes/);
    assert.deepEqual(parse('apiVersion: llmslo/v1\nservice: s\nslos: [{name: a, sli: {type: availability}, objective: 99}]\n').warnings, []);
  });

  test('missing files are reported, not thrown', async () => {
    const r = await loadSloFiles(['/nonexistent/slo.yaml']);
    assert.deepEqual(r.issues.map(formatIssue), ['/nonexistent/slo.yaml: no such file']);
  });
});

describe('OpenSLO v1 specs', () => {
  test('the example file parses: indicatorRef, inline ratioMetric, alert policies by ref and inline', async () => {
    const r = await loadSloFiles(['examples/slo/openslo.yaml']);
    assert.deepEqual(r.issues, []);
    const ttft = r.slos.find((s) => s.name === 'anthropic-ttft-1500ms')!;
    assert.deepEqual(ttft.sli, { type: 'ttft', source: 'llm_call', field: 'ttft_s', op: 'lte', threshold: 1.5, includeErrors: false });
    assert.deepEqual(ttft.selector, { provider: ['anthropic'] });
    assert.equal(ttft.objective, 0.99);
    assert.equal(ttft.periodMs, 28 * DAY);
    assert.deepEqual(ttft.alertWindows, [
      { severity: 'page', longMs: 3_600_000, shortMs: 300_000, factor: 13.44, op: 'gte', forMs: 0 },
      { severity: 'ticket', longMs: DAY, shortMs: 7_200_000, factor: 2.8, op: 'gt', forMs: 600_000 },
    ]);
    const avail = r.slos.find((s) => s.name === 'gateway-availability')!;
    assert.equal(avail.sli.type, 'availability');
    assert.equal(avail.objective, 0.999);
    assert.deepEqual(avail.selector, { server_address: ['api.openai.com'] });
    assert.equal(avail.alertWindows.length, 4, 'no alert policies: the default MWMBR catalog');
    assert.deepEqual(avail.labels, { team: 'ml-platform' });
  });

  test('unsupported OpenSLO features are named precisely', () => {
    const errs = errors(`apiVersion: openslo/v1
kind: SLO
metadata: {name: cal}
spec:
  service: s
  indicator:
    metadata: {name: i}
    spec:
      thresholdMetric:
        metricSource: {type: Prometheus, spec: {query: up}}
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar: {startTime: '2024-01-01 00:00:00', timeZone: UTC}
  budgetingMethod: Timeslices
  objectives: [{op: lte, value: 2, target: 0.99}]
`, 'o.yaml');
    assert.ok(errs.some((e) => e.startsWith("o.yaml:15:20: spec.budgetingMethod: only Occurrences (event-weighted) budgeting is supported, got 'Timeslices'")), errs.join('\n'));
    assert.ok(errs.some((e) => /spec\.timeWindow\[0\]\.isRolling: only rolling windows/.test(e)), errs.join('\n'));
    assert.ok(errs.some((e) => /spec\.indicator\.spec\.thresholdMetric\.metricSource\.type: must be 'llmslo'/.test(e)), errs.join('\n'));
  });

  test('dangling references and multi-condition policies are errors', () => {
    const errs = errors(`apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
  indicatorRef: nope
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
  alertPolicies: [{alertPolicyRef: missing}]
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: two}
spec:
  conditions: [{conditionRef: a}, {conditionRef: b}]
`, 'r.yaml');
    assert.ok(errs.some((e) => /^r\.yaml:6:17: \(document 1\) spec\.indicatorRef: no SLI named 'nope'/.test(e)), errs.join('\n'));
  });

  test('inline alert policies; a thresholdMetric without op/value is an error', () => {
    const slo = (objective: string) => `apiVersion: openslo/v1
kind: SLO
metadata: {name: tpot, annotations: {llmslo.dev/min-events: '25'}}
spec:
  service: s
  indicator:
    metadata: {name: tpot}
    spec:
      thresholdMetric:
        metricSource: {type: llmslo, spec: {sli: tpot, selector: {model: m}}}
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [${objective}]
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: p}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: c}
            spec: {severity: page, condition: {kind: burnrate, op: gt, threshold: 10, lookbackWindow: 2h}}
`;
    const ok = parse(slo('{op: lt, value: 0.05, targetPercent: 95}'));
    assert.deepEqual(ok.issues, []);
    assert.deepEqual(ok.slos[0]!.sli, { type: 'tpot', source: 'llm_call', field: 'tpot_s', op: 'lt', threshold: 0.05, includeErrors: false });
    assert.equal(ok.slos[0]!.minEvents, 25);
    assert.deepEqual(ok.slos[0]!.alertWindows, [{ severity: 'page', longMs: 7_200_000, shortMs: 600_000, factor: 10, op: 'gt', forMs: 0 }]);
    assert.match(errors(slo('{target: 0.95}'))[0]!, /spec\.objectives\[0\]: a thresholdMetric needs op and value/);
  });

  test('v1alpha and v2alpha are refused with a pointer to v1', () => {
    assert.match(errors('apiVersion: openslo/v1alpha\nkind: SLO\n')[0]!, /openslo\/v1alpha is not supported: use openslo\/v1 or llmslo\/v1/);
  });
});
