// `llmslo slo lint|rules|eval|status`: SLO spec tooling with exit codes scripts can rely on:
// 0 ok, 1 invalid spec or input (errors on stderr, nothing on stdout), 2 usage error.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseCommandArgs } from '../args.ts';
import { CliError } from '../errors.ts';
import { formatIssue, loadSloFiles } from '../../slo/parse.ts';
import type { SloSpec } from '../../slo/spec.ts';
import { prometheusOperatorYaml, prometheusRulesYaml, slothSpecsYaml } from '../../slo/rules.ts';
import { SloEngine, type SloStatus } from '../../slo/engine.ts';
import { parseDuration, formatDuration } from '../../slo/duration.ts';
import { normalizeRecord } from '../../slo/record.ts';
import { DEFAULT_SLO_STATE_PATH, StateFileError } from '../../slo/persist.ts';
import { writeFileAtomic, writeLine } from '../../slo/io.ts';

const USAGE = `usage: llmslo slo <subcommand> [options] FILE...

subcommands:
  lint FILE...                 validate SLO specs (llmslo/v1 or OpenSLO v1); exit 1 on any problem
  rules FILE...                print Prometheus recording + alerting rules for the SLOs
      --format F                  prometheus (rule file, default), prometheus-operator (PrometheusRule),
                                  sloth (Sloth prometheus/v1 specs)
      --name NAME, --namespace NS PrometheusRule metadata (prometheus-operator format)
      --interval DURATION         rule group evaluation interval (default: Prometheus's global one)
      --out PATH                  write to PATH atomically instead of stdout
  eval FILE... --records PATH|-  replay call records (JSONL) through the SLO engine, print alert events (JSONL)
      --state PATH                load state before and save it after (a restart keeps budgets)
      --alerts PATH|-             where alert events go (default stdout)
      --step DURATION             evaluation cadence on the records' clock (default 1m)
  status FILE...                print each SLO's budget, burn rates and alert states
      --state PATH                state file the agent or \`slo eval\` saves (default ${DEFAULT_SLO_STATE_PATH})
      --at RFC3339                evaluate at this time instead of now
      --json                      JSON instead of a table

exit codes: 0 ok, 1 invalid spec/state/input, 2 usage`;

async function loadSpecs(sub: string, files: string[]): Promise<SloSpec[] | null> {
  if (files.length === 0) throw new CliError(`slo ${sub}: give at least one SLO spec file\n\n${USAGE}`, 2);
  const { slos, issues, warnings } = await loadSloFiles(files);
  for (const w of warnings) console.error(`warning: ${w}`);
  if (issues.length) {
    for (const i of issues) console.error(formatIssue(i));
    console.error(`llmslo slo ${sub}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in ${files.join(', ')}`);
    return null;
  }
  return slos;
}

async function lint(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('slo lint', argv, { quiet: { type: 'boolean', short: 'q' } }, true);
  if (values.help) return (console.log(USAGE), 0);
  const slos = await loadSpecs('lint', positionals);
  if (!slos) return 1;
  if (!values.quiet) {
    for (const s of slos) {
      const windows = s.alertWindows.map((w) => `${w.severity} ${formatDuration(w.longMs)}/${formatDuration(w.shortMs)}>${w.factor}x`).join(', ');
      console.log(`ok ${s.name}: ${s.sli.type} ${(s.objective * 100).toPrecision(6).replace(/\.?0+$/, '')}% over ${formatDuration(s.periodMs)} [${windows}]`);
    }
    console.log(`${slos.length} SLO${slos.length === 1 ? '' : 's'} valid`);
  }
  return 0;
}

async function rules(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('slo rules', argv, {
    format: { type: 'string' }, interval: { type: 'string' }, out: { type: 'string', short: 'o' }, name: { type: 'string' }, namespace: { type: 'string' },
  }, true);
  if (values.help) return (console.log(USAGE), 0);
  const format = values.format ?? 'prometheus';
  if (format !== 'prometheus' && format !== 'sloth' && format !== 'prometheus-operator') {
    throw new CliError(`slo rules: --format must be prometheus, prometheus-operator or sloth, got '${format}'`, 2);
  }
  for (const k of ['name', 'namespace'] as const) {
    const v = values[k];
    if (v !== undefined && (format !== 'prometheus-operator' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(v))) {
      throw new CliError(`slo rules: --${k} ${format !== 'prometheus-operator' ? 'only applies to --format prometheus-operator' : `must be a Kubernetes name, got '${v}'`}`, 2);
    }
  }
  if (values.interval !== undefined && !parseDuration(values.interval).ok) throw new CliError(`slo rules: --interval must be a duration like 30s or 1m, got '${values.interval}'`, 2);
  const slos = await loadSpecs('rules', positionals);
  if (!slos) return 1;
  const text =
    format === 'sloth' ? slothSpecsYaml(slos)
    : format === 'prometheus-operator' ? prometheusOperatorYaml(slos, { name: values.name, namespace: values.namespace, interval: values.interval })
    : prometheusRulesYaml(slos, values.interval);
  if (values.out) await writeFileAtomic(values.out, text);
  else await writeLine(process.stdout, text.endsWith('\n') ? text.slice(0, -1) : text);
  return 0;
}

async function evalRecords(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('slo eval', argv, {
    records: { type: 'string' }, state: { type: 'string' }, alerts: { type: 'string' }, step: { type: 'string' },
  }, true);
  if (values.help) return (console.log(USAGE), 0);
  if (!values.records) throw new CliError('slo eval: --records PATH|- is required', 2);
  const step = parseDuration(values.step ?? '1m');
  if (!step.ok) throw new CliError(`slo eval: --step ${step.error}`, 2);
  const slos = await loadSpecs('eval', positionals);
  if (!slos) return 1;

  const alertsOut = values.alerts && values.alerts !== '-' ? (await import('node:fs')).createWriteStream(values.alerts, { flags: 'a' }) : process.stdout;
  const pending: Promise<void>[] = [];
  let alerts = 0;
  const engine = new SloEngine(slos, {
    onAlert: (ev) => {
      alerts++;
      pending.push(writeLine(alertsOut, JSON.stringify(ev)));
    },
  });
  if (values.state) {
    try {
      const r = await engine.load(values.state);
      if (r.skipped.length) console.error(`llmslo slo eval: state of ${r.skipped.join(', ')} not reused (SLI, selector or windows changed)`);
    } catch (err) {
      if (err instanceof StateFileError) throw new CliError(`slo eval: ${err.message}`, 1);
      throw err;
    }
  }

  const input = values.records === '-' ? process.stdin : createReadStream(values.records);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  let badJson = 0;
  let firstBad = '';
  let nextEval: number | null = null;
  let clock = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch {
        badJson++;
        firstBad ||= `line ${lineNo}`;
        continue;
      }
      // The records' own clock drives evaluation, so a replay alerts when the live agent would have.
      const n = normalizeRecord(rec);
      const at = n.ok && n.record.endMs !== null ? n.record.endMs : clock;
      if (at > clock) clock = at;
      if (nextEval === null) nextEval = Math.ceil(clock / step.ms) * step.ms;
      while (nextEval <= clock) {
        engine.evaluate(nextEval);
        nextEval += step.ms;
      }
      engine.observe(rec, clock);
      if (pending.length > 1000) await Promise.all(pending.splice(0));
    }
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : '';
    throw new CliError(`slo eval: cannot read ${values.records}: ${code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err)}`, 1);
  }
  if (nextEval !== null) engine.evaluate(nextEval);
  await Promise.all(pending);
  if (alertsOut !== process.stdout) await new Promise<void>((resolve) => (alertsOut as NodeJS.WritableStream).end(resolve));
  if (values.state) await engine.save(values.state, clock || Date.now());
  const st = engine.stats;
  const dropped = Object.entries(st.dropped).map(([k, v]) => `${k}=${v}`).join(' ');
  console.error(
    `llmslo slo eval: ${st.records} records, ${st.counted} counted, ${st.unmatched} matched no SLO` +
      (dropped ? `, dropped ${dropped}` : '') + (badJson ? `, ${badJson} not JSON (first: ${firstBad})` : '') + `; ${alerts} alert events`,
  );
  return 0;
}

function pct(n: number | null): string {
  return n === null ? '-' : `${(n * 100).toFixed(2)}%`;
}

function renderStatus(statuses: SloStatus[]): string {
  const out: string[] = [];
  for (const s of statuses) {
    out.push(`${s.slo} (${s.service}, ${s.sli}, objective ${(s.objective * 100).toPrecision(6).replace(/\.?0+$/, '')}% over ${s.period}) at ${s.time}`);
    out.push(`  events over period: ${s.period_good + s.period_bad} (${s.period_bad} bad); error budget remaining ${pct(s.error_budget_remaining)}`);
    out.push(`  burn rate: ${s.burn_rates.map((b) => `${b.window}=${b.burn_rate === null ? '-' : b.burn_rate.toFixed(2)}`).join(' ')}`);
    for (const a of s.alerts) out.push(`  alert ${a.severity}: ${a.state}${a.since ? ` since ${a.since}` : ''}`);
  }
  return out.join('\n');
}

async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('slo status', argv, { state: { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' } }, true);
  if (values.help) return (console.log(USAGE), 0);
  const statePath = values.state ?? DEFAULT_SLO_STATE_PATH;
  const at = values.at === undefined ? Date.now() : Date.parse(values.at);
  if (!Number.isFinite(at)) throw new CliError(`slo status: --at must be an RFC 3339 time, got '${values.at}'`, 2);
  const slos = await loadSpecs('status', positionals);
  if (!slos) return 1;
  const engine = new SloEngine(slos);
  try {
    const r = await engine.load(statePath);
    if (r.restored.length === 0 && r.skipped.length === 0) console.error(`llmslo slo status: no saved state for these SLOs in ${statePath}; showing empty budgets`);
    if (r.skipped.length) console.error(`llmslo slo status: state of ${r.skipped.join(', ')} not reused (SLI, selector or windows changed)`);
  } catch (err) {
    if (err instanceof StateFileError) throw new CliError(`slo status: ${err.message}`, 1);
    throw err;
  }
  const st = engine.status(at);
  await writeLine(process.stdout, values.json ? JSON.stringify(st, null, 2) : renderStatus(st));
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'lint': return lint(rest);
    case 'rules': return rules(rest);
    case 'eval': return evalRecords(rest);
    case 'status': return status(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return sub ? 0 : 2;
    default:
      throw new CliError(`slo: unknown subcommand '${sub}'\n\n${USAGE}`, 2);
  }
}
