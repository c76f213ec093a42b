// Drives the same synthetic per-minute good/bad counts through the in-process engine and into a
// promtool unit-test file, so the two evaluations can be compared decision by decision.
import { stringify } from 'yaml';
import { SloEngine } from '../../../src/slo/engine.ts';
import { formatDuration } from '../../../src/slo/duration.ts';
import { prometheusRules, ruleNames } from '../../../src/slo/rules.ts';
import type { SloSpec } from '../../../src/slo/spec.ts';
import { parseSloSources } from '../../../src/slo/parse.ts';

export interface MinuteCounts {
  good: number;
  bad: number;
}

export interface EngineDecision {
  atMin: number;
  burn: Record<string, number | null>;
  firing: string[];
  budgetRemaining: number;
}

export function specFromYaml(text: string): SloSpec[] {
  const r = parseSloSources([{ file: 'inline.yaml', text }]);
  if (r.issues.length) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.slos;
}

/** An llm_call record of an availability SLI ending at `endMs`. */
export function callRecord(endMs: number, bad: boolean, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'llmslo.llm_call/v1',
    time: new Date(endMs - 200).toISOString(),
    duration_s: 0.2,
    'gen_ai.provider.name': 'openai',
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o-mini',
    'server.address': 'api.openai.com',
    'error.type': bad ? 'server_error' : null,
    ...extra,
  };
}

/**
 * Minute i's events happen inside [i, i+1) minutes; Prometheus sees them in the counter sample at
 * minute i+1. The engine is evaluated at each minute in `evalAtMin` before that minute's events.
 */
export function runEngine(specs: SloSpec[], minutes: MinuteCounts[], evalAtMin: number[], windowsMs: number[]): EngineDecision[] {
  const engine = new SloEngine(specs);
  const evalSet = new Set(evalAtMin);
  const out: EngineDecision[] = [];
  for (let i = 0; i <= minutes.length; i++) {
    if (evalSet.has(i)) {
      const [st] = engine.evaluate(i * 60_000);
      const burn: Record<string, number | null> = {};
      for (const w of windowsMs) {
        const b = st!.burn_rates.find((x) => x.window === formatDuration(w));
        burn[formatDuration(w)] = b ? b.burn_rate : null;
      }
      out.push({ atMin: i, burn, firing: st!.alerts.filter((a) => a.state === 'firing').map((a) => a.severity), budgetRemaining: st!.error_budget_remaining });
    }
    if (i === minutes.length) break;
    const m = minutes[i]!;
    const n = m.good + m.bad;
    for (let k = 0; k < n; k++) {
      const at = i * 60_000 + Math.floor(((k + 0.5) / n) * 60_000);
      engine.observe(callRecord(at, k < m.bad), at);
    }
  }
  return out;
}

/** Rule file for promtool: the generated rules without annotations (their text depends on $value). */
export function rulesForTest(specs: SloSpec[], interval: string): string {
  const rules = prometheusRules(specs, interval);
  for (const g of rules.groups) for (const r of g.rules) delete r.annotations;
  return stringify(rules, { lineWidth: 0, aliasDuplicateObjects: false });
}

function cumulative(minutes: MinuteCounts[], key: 'good' | 'bad'): string {
  const vals = [0];
  let acc = 0;
  for (const m of minutes) vals.push((acc += m[key]));
  return vals.join(' ');
}

/** A promtool test file asserting the engine's burn rates and alert decisions at each evaluation time. */
export function promtoolTest(
  spec: SloSpec, minutes: MinuteCounts[], decisions: EngineDecision[], windowsMs: number[], ruleFile: string, evaluationInterval: string,
  opts: { budget?: boolean } = {},
): string {
  const series = (result: string) => `llmslo_slo_events_total{slo="${spec.name}",result="${result}",instance="agent-1"}`;
  const promql_expr_test = decisions.flatMap((d) =>
    windowsMs
      .filter((w) => d.burn[formatDuration(w)] !== null)
      .map((w) => ({
        expr: `${ruleNames.burnRate(formatDuration(w))}{slo="${spec.name}"}`,
        eval_time: `${d.atMin}m`,
        exp_samples: [{ labels: `${ruleNames.burnRate(formatDuration(w))}{slo="${spec.name}"}`, value: d.burn[formatDuration(w)]! }],
      })),
  );
  if (opts.budget) {
    for (const d of decisions) {
      promql_expr_test.push({
        expr: `${ruleNames.budgetRemaining}{slo="${spec.name}"}`,
        eval_time: `${d.atMin}m`,
        exp_samples: [{ labels: `${ruleNames.budgetRemaining}{slo="${spec.name}"}`, value: d.budgetRemaining }],
      });
    }
  }
  const alert_rule_test = decisions.map((d) => ({
    eval_time: `${d.atMin}m`,
    alertname: spec.alertName,
    exp_alerts: d.firing.map((severity) => ({ exp_labels: { ...spec.labels, slo: spec.name, service: spec.service, severity } })),
  }));
  return stringify(
    {
      rule_files: [ruleFile],
      evaluation_interval: evaluationInterval,
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: series('good'), values: cumulative(minutes, 'good') },
            { series: series('bad'), values: cumulative(minutes, 'bad') },
          ],
          promql_expr_test,
          alert_rule_test,
        },
      ],
    },
    { lineWidth: 0 },
  );
}

/** Deterministic PRNG (mulberry32) so a failing scenario reproduces. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
