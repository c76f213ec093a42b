// Generates Prometheus recording + alerting rules, and Sloth `prometheus/v1` specs, for the
// same SLOs the agent evaluates. The rules read `llmslo_slo_events_total{slo,result}` exported
// by every agent (src/slo/metrics.ts) and aggregate `sum by (slo)`, so one rule set covers a
// fleet. They decide exactly like the engine (src/slo/burn.ts): event-weighted error ratios from
// `increase`, thresholds factor × (1 − objective) precomputed in float64 and printed round-trip
// exact, both windows over the threshold and both holding at least min_events events.
import { stringify } from 'yaml';
import { errorBudget, errorRatioThreshold } from './burn.ts';
import { formatDuration } from './duration.ts';
import { STANDARD_BURN_WINDOWS_MS } from './engine.ts';
import { EVENTS_METRIC } from './metrics.ts';
import type { SloSpec } from './spec.ts';

export interface PromRule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PromRuleGroup {
  name: string;
  interval?: string;
  rules: PromRule[];
}

/** Shortest decimal that parses back to the same float64 (JS and Go both round-trip it exactly). */
function num(n: number): string {
  return String(n);
}

function quoteLabel(v: string): string {
  return JSON.stringify(v);
}

export const ruleNames = {
  events: (w: string) => `llmslo_slo:events:increase${w}`,
  badEvents: (w: string) => `llmslo_slo:bad_events:increase${w}`,
  errorRatio: (w: string) => `llmslo_slo:error_ratio${w}`,
  burnRate: (w: string) => `llmslo_slo:burn_rate${w}`,
  objective: 'llmslo_slo:objective:ratio',
  errorBudget: 'llmslo_slo:error_budget:ratio',
  periodSeconds: 'llmslo_slo:period:seconds',
  info: 'llmslo_slo:info',
  budgetRemaining: 'llmslo_slo:error_budget_remaining:ratio',
};

/** Windows that get recording rules: every alert window, the standard burn windows up to the period, and the period. */
export function ruleWindowsMs(spec: SloSpec): number[] {
  const set = new Set<number>([...STANDARD_BURN_WINDOWS_MS.filter((w) => w <= spec.periodMs), spec.periodMs]);
  for (const w of spec.alertWindows) {
    set.add(w.longMs);
    set.add(w.shortMs);
  }
  return [...set].sort((a, b) => a - b);
}

export function sloRuleGroup(spec: SloSpec, interval?: string): PromRuleGroup {
  const sel = `slo=${quoteLabel(spec.name)}`;
  const budget = errorBudget(spec.objective);
  const rules: PromRule[] = [];
  // A static slo label on every rule keeps rule names unique per SLO (promtool's duplicate-rule lint).
  const meta = { slo: spec.name };
  for (const ms of ruleWindowsMs(spec)) {
    const w = formatDuration(ms);
    rules.push({ record: ruleNames.events(w), expr: `sum by (slo) (increase(${EVENTS_METRIC}{${sel}}[${w}]))`, labels: meta });
    rules.push({ record: ruleNames.badEvents(w), expr: `sum by (slo) (increase(${EVENTS_METRIC}{${sel},result="bad"}[${w}]))`, labels: meta });
    rules.push({ record: ruleNames.errorRatio(w), expr: `${ruleNames.badEvents(w)}{${sel}} / ${ruleNames.events(w)}{${sel}}`, labels: meta });
    rules.push({ record: ruleNames.burnRate(w), expr: `${ruleNames.errorRatio(w)}{${sel}} / ${num(budget)}`, labels: meta });
  }
  const period = formatDuration(spec.periodMs);
  rules.push({ record: ruleNames.objective, expr: `vector(${num(spec.objective)})`, labels: meta });
  rules.push({ record: ruleNames.errorBudget, expr: `vector(${num(budget)})`, labels: meta });
  rules.push({ record: ruleNames.periodSeconds, expr: `vector(${num(spec.periodMs / 1000)})`, labels: meta });
  rules.push({ record: ruleNames.info, expr: 'vector(1)', labels: { ...meta, service: spec.service, sli: spec.sli.type, objective: num(spec.objective), period } });
  // 1 − burn over the period; with no events the burn is NaN (0/0), and the budget is whole (as in the engine).
  rules.push({
    record: ruleNames.budgetRemaining,
    expr: `1 - (${ruleNames.burnRate(period)}{${sel}} >= 0 or ${ruleNames.events(period)}{${sel}} * 0)`,
    labels: meta,
  });

  const severities: string[] = [];
  for (const w of spec.alertWindows) if (!severities.includes(w.severity)) severities.push(w.severity);
  for (const severity of severities) {
    const windows = spec.alertWindows.filter((w) => w.severity === severity);
    const clauses = windows.map((w) => {
      const long = formatDuration(w.longMs);
      const short = formatDuration(w.shortMs);
      const cmp = w.op === 'gt' ? '>' : '>=';
      const t = num(errorRatioThreshold(w.factor, spec.objective));
      // max by (slo) drops the metric name, so clauses over different windows can be OR-ed.
      return (
        `max by (slo) (\n` +
        `  ${ruleNames.errorRatio(long)}{${sel}} ${cmp} ${t}\n` +
        `  and ${ruleNames.errorRatio(short)}{${sel}} ${cmp} ${t}\n` +
        `  and ${ruleNames.events(long)}{${sel}} >= ${spec.minEvents}\n` +
        `  and ${ruleNames.events(short)}{${sel}} >= ${spec.minEvents}\n` +
        `)`
      );
    });
    const forMs = windows[0]!.forMs;
    const windowText = windows.map((w) => `${num(w.factor)}x over ${formatDuration(w.longMs)} and ${formatDuration(w.shortMs)}`).join('; or ');
    rules.push({
      alert: spec.alertName,
      expr: clauses.join('\nor\n') + '\n',
      ...(forMs > 0 ? { for: formatDuration(forMs) } : {}),
      labels: { ...spec.labels, slo: spec.name, service: spec.service, severity },
      annotations: {
        summary: `SLO ${spec.name} (${spec.service}) is burning its error budget too fast`,
        description:
          `${spec.sli.type} SLO ${spec.name} at ${num(spec.objective * 100)}% over ${period}: burn rate above ${windowText}. ` +
          `Long-window error ratio {{ $value | humanizePercentage }}.`,
        ...spec.annotations,
      },
    });
  }
  return { name: `llmslo-slo-${spec.name}`, ...(interval ? { interval } : {}), rules };
}

export function prometheusRules(specs: SloSpec[], interval?: string): { groups: PromRuleGroup[] } {
  return { groups: specs.map((s) => sloRuleGroup(s, interval)) };
}

export function prometheusRulesYaml(specs: SloSpec[], interval?: string): string {
  const header = '# Generated by `llmslo slo rules`; do not edit. Reads llmslo_slo_events_total{slo,result} from llmslo agents.\n';
  return header + stringify(prometheusRules(specs, interval), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** The same groups as a prometheus-operator `PrometheusRule` (for clusters that load rules from CRDs). */
export function prometheusOperatorYaml(specs: SloSpec[], opts: { name?: string; namespace?: string; labels?: Record<string, string>; interval?: string } = {}): string {
  const doc = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: opts.name ?? 'llmslo-slos',
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      labels: { 'app.kubernetes.io/name': 'llmslo', 'app.kubernetes.io/component': 'slo-rules', ...opts.labels },
    },
    spec: prometheusRules(specs, opts.interval),
  };
  return '# Generated by `llmslo slo rules --format prometheus-operator`; do not edit.\n' + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * Sloth `prometheus/v1` specs (one YAML document per service and period; Sloth takes the period
 * from `--default-slo-period` and only its own page/ticket windows). SLIs are event ratios over
 * the same counters.
 */
export function slothSpecsYaml(specs: SloSpec[]): string {
  const groups = new Map<string, SloSpec[]>();
  for (const s of specs) {
    const key = `${s.service}\u0000${s.periodMs}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const docs: string[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const period = formatDuration(first.periodMs);
    const custom = group.filter((s) => !isSlothCatalog(s)).map((s) => s.name);
    let header = `# Sloth spec generated by \`llmslo slo rules --format sloth\`. Generate with: sloth generate --default-slo-period=${period} -i <this file>\n`;
    if (first.periodMs !== 28 * 86_400_000 && first.periodMs !== 30 * 86_400_000) header += `# Period ${period}: Sloth needs a custom AlertWindows catalog for it (it ships 28d and 30d).\n`;
    if (custom.length) header += `# Custom alert windows or min_events of ${custom.join(', ')} are not expressible in Sloth; it applies its own page/ticket windows.\n`;
    const doc = {
      version: 'prometheus/v1',
      service: first.service,
      slos: group.map((s) => {
        const sel = `slo=${quoteLabel(s.name)}`;
        return {
          name: s.name,
          objective: Number((s.objective * 100).toPrecision(12)),
          ...(s.description ? { description: s.description } : {}),
          labels: { ...s.labels, slo: s.name },
          sli: {
            events: {
              error_query: `sum(rate(${EVENTS_METRIC}{${sel},result="bad"}[{{.window}}]))`,
              total_query: `sum(rate(${EVENTS_METRIC}{${sel}}[{{.window}}]))`,
            },
          },
          alerting: {
            name: s.alertName,
            labels: { slo: s.name },
            annotations: { summary: `SLO ${s.name} (${s.service}) is burning its error budget too fast` },
            page_alert: { labels: { severity: 'page' } },
            ticket_alert: { labels: { severity: 'ticket' } },
          },
        };
      }),
    };
    docs.push(header + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }));
  }
  return docs.join('---\n');
}

/** True when the SLO's alert windows are exactly the Workbook/Sloth page+ticket set for its period. */
function isSlothCatalog(s: SloSpec): boolean {
  const expect: [string, number, number][] = [['page', 3_600_000, 300_000], ['page', 21_600_000, 1_800_000], ['ticket', 86_400_000, 7_200_000], ['ticket', 259_200_000, 21_600_000]];
  return (
    s.alertWindows.length === 4 &&
    s.alertWindows.every((w, i) => w.severity === expect[i]![0] && w.longMs === expect[i]![1] && w.shortMs === expect[i]![2] && w.forMs === 0 && w.op === 'gt')
  );
}
