import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { callRecord } from './helpers/scenario.ts';

function llmslo(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['bin/llmslo.js', ...args], { env: { ...process.env, LLMSLO_FROM_SOURCE: '1' }, timeout: 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

const BAD = `apiVersion: llmslo/v1
service: s
slos:
  - name: good-one
    sli: {type: availability}
    objective: 99
  - name: bad-one
    sli: {type: ttft, threshold: fast}
    objective: 99
`;

describe('llmslo slo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-slo-cli-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, BAD);

  test('lint: 0 and a summary for valid specs', async () => {
    const r = await llmslo(['slo', 'lint', 'examples/slo/llm-slos.yaml', 'examples/slo/openslo.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok chat-ttft-2s: ttft 99% over 30d \[page 1h\/5m>14.4x/m);
    assert.match(r.stdout, /9 SLOs valid/);
  });

  test('lint: 1 with file:line:col: path: problem on stderr and nothing on stdout', async () => {
    const r = await llmslo(['slo', 'lint', bad]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:8:34: slos\\[1\\]\\.sli\\.threshold: must be seconds \\(a number\\) or a duration like '2s' or '500ms', got 'fast'$`, 'm'));
    assert.match(r.stderr, /1 problem in /);
  });

  test('usage errors exit 2', async () => {
    assert.equal((await llmslo(['slo', 'lint'])).code, 2);
    assert.equal((await llmslo(['slo', 'frobnicate'])).code, 2);
    assert.equal((await llmslo(['slo', 'rules', '--format', 'nagios', 'examples/slo/llm-slos.yaml'])).code, 2);
    assert.equal((await llmslo(['slo', 'rules', '--bogus', 'examples/slo/llm-slos.yaml'])).code, 2);
    assert.equal((await llmslo(['slo', 'eval', 'examples/slo/llm-slos.yaml'])).code, 2, '--records is required');
  });

  test('rules: Prometheus and Sloth YAML on stdout; --out writes the file', async () => {
    const r = await llmslo(['slo', 'rules', '--interval', '30s', 'examples/slo/llm-slos.yaml']);
    assert.equal(r.code, 0, r.stderr);
    const doc = parse(r.stdout) as { groups: { name: string; interval: string; rules: { record?: string; alert?: string }[] }[] };
    assert.equal(doc.groups.length, 7);
    assert.equal(doc.groups[0]!.interval, '30s');
    assert.ok(doc.groups.every((g) => g.rules.some((x) => x.alert === 'LlmsloErrorBudgetBurn')));
    const s = await llmslo(['slo', 'rules', '--format', 'sloth', 'examples/slo/llm-slos.yaml']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^version: prometheus\/v1$/m);
    const op = await llmslo(['slo', 'rules', '--format', 'prometheus-operator', '--namespace', 'monitoring', 'examples/slo/llm-slos.yaml']);
    assert.equal(op.code, 0, op.stderr);
    const cr = parse(op.stdout) as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: typeof doc };
    assert.deepEqual([cr.apiVersion, cr.kind, cr.metadata.name, cr.metadata.namespace], ['monitoring.coreos.com/v1', 'PrometheusRule', 'llmslo-slos', 'monitoring']);
    assert.deepEqual(cr.spec.groups.map((g) => g.name), doc.groups.map((g) => g.name));
    assert.equal((await llmslo(['slo', 'rules', '--namespace', 'x', 'examples/slo/llm-slos.yaml'])).code, 2, '--namespace needs the operator format');
    const out = join(dir, 'rules.yaml');
    const o = await llmslo(['slo', 'rules', '--out', out, 'examples/slo/llm-slos.yaml']);
    assert.equal(o.code, 0);
    assert.equal(o.stdout, '');
    assert.equal(readFileSync(out, 'utf8').trimEnd(), r.stdout.replace(/\n {4}interval: 30s/g, '').trimEnd());
  });

  test('rules: a bad spec gives no partial output, on stdout or in --out', async () => {
    const out = join(dir, 'never.yaml');
    const r = await llmslo(['slo', 'rules', '--out', out, 'examples/slo/llm-slos.yaml', bad]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(existsSync(out), false);
    assert.match(r.stderr, /bad\.yaml:8:34: slos\[1\]\.sli\.threshold/);
  });

  test('eval + status: a replayed outage pages, state persists, and a second run continues without re-paging', async () => {
    const spec = join(dir, 'spec.yaml');
    writeFileSync(spec, 'apiVersion: llmslo/v1\nservice: gw\nslos: [{name: avail, sli: {type: availability}, objective: 99.9}]\n');
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const lines: string[] = [];
    for (let m = 0; m < 90; m++) {
      for (let k = 0; k < 10; k++) {
        const at = t0 + m * 60_000 + k * 6000 + 500;
        lines.push(JSON.stringify(callRecord(at, m >= 60 && m < 70)));
      }
    }
    lines.push('not json', JSON.stringify({ schema: 'llmslo.dns/v1' }));
    const state = join(dir, 'state.json');
    const r = await llmslo(['slo', 'eval', spec, '--records', '-', '--state', state], lines.join('\n') + '\n');
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { severity: string; state: string; time: string });
    const ajv = new Ajv2020({ strict: true, validateFormats: false });
    const validate = ajv.compile(JSON.parse(readFileSync('schemas/llmslo.slo_alert.v1.json', 'utf8')) as object);
    for (const e of events) assert.ok(validate(e), JSON.stringify(validate.errors));
    // The first outage minute (10 bad of 600 in 1h = 1.7%, 10 of 50 in 5m) is over 14.4 x 0.1%; the 6h/30m pair keeps it firing to the end.
    assert.deepEqual(events.map((e) => [e.severity, e.state, e.time]), [
      ['page', 'firing', '2026-12-01T01:01:00.000Z'],
      ['ticket', 'firing', '2026-12-01T01:01:00.000Z'],
    ]);
    assert.match(r.stderr, /901 records, 900 counted, 0 matched no SLO, dropped unknown_schema=1, 1 not JSON \(first: line 901\)/);

    const st = await llmslo(['slo', 'status', spec, '--state', state, '--at', '2026-12-01T01:30:00Z', '--json']);
    assert.equal(st.code, 0, st.stderr);
    const [s] = JSON.parse(st.stdout) as { period_bad: number; period_good: number; error_budget_remaining: number; alerts: { severity: string; state: string }[] }[];
    assert.deepEqual([s!.period_good, s!.period_bad], [800, 100]);
    assert.ok(Math.abs(s!.error_budget_remaining - (1 - 100 / 900 / 0.001)) < 1e-6);
    const table = await llmslo(['slo', 'status', spec, '--state', state, '--at', '2026-12-01T01:30:00Z']);
    assert.match(table.stdout, /^avail \(gw, availability, objective 99\.9% over 30d\)/);
    assert.match(table.stdout, /events over period: 900 \(100 bad\)/);

    // Second run: the outage is still inside the 30m and ticket windows; the restored state must not re-announce it.
    const more: string[] = [];
    for (let m = 90; m < 95; m++) more.push(JSON.stringify(callRecord(t0 + m * 60_000 + 500, false)));
    const r2 = await llmslo(['slo', 'eval', spec, '--records', '-', '--state', state], more.join('\n') + '\n');
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout.trim(), '', 'no new alert events: both alerts were firing before the restart and still are');

    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{');
    const c = await llmslo(['slo', 'status', spec, '--state', corrupt]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /^llmslo: slo status: .*corrupt\.json: not valid JSON/);
  });

  test.after(() => rmSync(dir, { recursive: true, force: true }));
});
