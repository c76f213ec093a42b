// Loads SLO specs from YAML: the native `llmslo/v1` form and the OpenSLO v1 subset that fits.
// Every problem is reported as `file:line:col: path: message`; nothing is returned when
// anything is wrong, so callers never act on half a spec.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseAllDocuments, isNode, type Document } from 'yaml';
import { describe, formatDuration, parseDuration } from './duration.ts';
import { SELECTOR_FIELDS, type RecordSource, type SelectorKey } from './record.ts';
import {
  DEFAULT_ALERT_NAME, DEFAULT_BAD_ERROR_TYPES, DEFAULT_MIN_EVENTS, ERROR_CLASSES, SLI_DEFAULTS, SLI_TYPES,
  type AlertWindow, type SliSpec, type SliType, type SloSpec, type ThresholdOp,
} from './spec.ts';
import { burnFactor, defaultAlertWindows } from './windows.ts';

export interface SpecIssue {
  file: string;
  line?: number;
  col?: number;
  path: string;
  message: string;
}

export function formatIssue(i: SpecIssue): string {
  const loc = i.line !== undefined ? `${i.file}:${i.line}:${i.col ?? 1}` : i.file;
  return i.path ? `${loc}: ${i.path}: ${i.message}` : `${loc}: ${i.message}`;
}

export interface LoadResult {
  slos: SloSpec[];
  issues: SpecIssue[];
  /** Valid but probably unintended (e.g. windows too short for Prometheus scrapes). */
  warnings: string[];
}

/** Windows shorter than this hold too few samples at common scrape intervals (15-30 s) for increase() to be meaningful. */
const MIN_PROMETHEUS_WINDOW_MS = 60_000;

function warningsFor(slos: SloSpec[]): string[] {
  const out: string[] = [];
  for (const s of slos) {
    const short = Math.min(...s.alertWindows.map((w) => w.shortMs));
    if (short < MIN_PROMETHEUS_WINDOW_MS) {
      out.push(`${s.origin}: shortest alert window is ${formatDuration(short)}; Prometheus rules need several scrapes inside each window (fine for the agent, or with a scrape interval well under ${formatDuration(short)})`);
    }
  }
  return out;
}

type Path = (string | number)[];
type Raw = Record<string, unknown>;

function formatPath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

/** Collects issues for one YAML document and knows how to find a path's line in it. */
class Ctx {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly prefix: string,
    readonly issues: SpecIssue[],
  ) {}

  error(path: Path, message: string): void {
    // Point at the deepest node that exists: a missing key is reported at its parent.
    let pos: { line: number; col: number } | undefined;
    for (let n = path.length; n >= 0 && !pos; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) pos = this.lines.linePos(node.range[0]);
    }
    this.issues.push({ file: this.file, line: pos?.line, col: pos?.col, path: this.prefix + formatPath(path), message });
  }

  get count(): number {
    return this.issues.length;
  }
}

function isMapping(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function mapping(ctx: Ctx, v: unknown, path: Path, allowed: readonly string[]): Raw | undefined {
  if (!isMapping(v)) {
    ctx.error(path, `must be a mapping, got ${describe(v)}`);
    return undefined;
  }
  for (const k of Object.keys(v)) if (!allowed.includes(k)) ctx.error([...path, k], `unknown key '${k}' (allowed: ${allowed.join(', ')})`);
  return v;
}

function str(ctx: Ctx, v: unknown, path: Path, required: boolean): string | undefined {
  if (v === undefined || v === null) {
    if (required) ctx.error(path, 'is required');
    return undefined;
  }
  if (typeof v !== 'string' || v === '') {
    ctx.error(path, `must be a non-empty string, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

const RFC1123 = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function sloName(ctx: Ctx, v: unknown, path: Path): string | undefined {
  const s = str(ctx, v, path, true);
  if (s !== undefined && !RFC1123.test(s)) {
    ctx.error(path, `must be an RFC 1123 name (lowercase letters, digits, '-', at most 63 characters), got '${s}'`);
    return undefined;
  }
  return s;
}

function durationMs(ctx: Ctx, v: unknown, path: Path, allowZero = false): number | undefined {
  const d = parseDuration(v, allowZero);
  if (!d.ok) {
    ctx.error(path, d.error);
    return undefined;
  }
  return d.ms;
}

function positiveNumber(ctx: Ctx, v: unknown, path: Path): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    ctx.error(path, `must be a number > 0, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

function stringMap(ctx: Ctx, v: unknown, path: Path): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isMapping(v)) {
    ctx.error(path, `must be a mapping of strings, got ${describe(v)}`);
    return out;
  }
  for (const [k, val] of Object.entries(v)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) ctx.error([...path, k], `'${k}' is not a valid Prometheus label name`);
    else if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') out[k] = String(val);
    else ctx.error([...path, k], `must be a string, got ${describe(val)}`);
  }
  return out;
}

const SELECTOR_SOURCES: Partial<Record<SelectorKey, RecordSource[]>> = {
  provider: ['llm_call'],
  model: ['llm_call'],
  operation: ['llm_call'],
  route: ['server_request'],
  db_system: ['retrieval_call'],
  collection: ['retrieval_call'],
};

function selector(ctx: Ctx, v: unknown, path: Path, source: RecordSource | undefined): SloSpec['selector'] {
  const out: SloSpec['selector'] = {};
  if (v === undefined || v === null) return out;
  const m = mapping(ctx, v, path, Object.keys(SELECTOR_FIELDS));
  if (!m) return out;
  for (const [k, raw] of Object.entries(m)) {
    const key = k as SelectorKey;
    if (!(key in SELECTOR_FIELDS)) continue;
    const values = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(values) || values.length === 0 || !values.every((x) => typeof x === 'string' && x !== '')) {
      ctx.error([...path, k], `must be a string or a non-empty list of strings, got ${describe(raw)}`);
      continue;
    }
    const allowed = SELECTOR_SOURCES[key];
    if (source && allowed && !allowed.includes(source)) {
      ctx.error([...path, k], `'${k}' does not apply to ${source} records (only ${allowed.join(', ')})`);
      continue;
    }
    out[key] = values as string[];
  }
  return out;
}

const SLI_KEYS = ['type', 'source', 'threshold', 'op', 'bad_error_types', 'include_errors'] as const;
const OPS: readonly ThresholdOp[] = ['lte', 'lt', 'gte', 'gt'];
const SOURCES: readonly RecordSource[] = ['llm_call', 'retrieval_call', 'server_request'];

/** Parses a threshold: seconds (number or duration string) for latencies, a number for throughput. */
function threshold(ctx: Ctx, v: unknown, path: Path, type: SliType): number | undefined {
  if (type !== 'output_tokens_per_s' && typeof v === 'string') {
    const d = parseDuration(v);
    if (!d.ok) {
      ctx.error(path, `must be seconds (a number) or a duration like '2s' or '500ms', got '${v}'`);
      return undefined;
    }
    return d.ms / 1000;
  }
  return positiveNumber(ctx, v, path);
}

/**
 * Parses an SLI definition (the native `sli:` block, also used inside OpenSLO metricSource.spec).
 * `objectiveThreshold` carries OpenSLO's objective op/value when the SLI is a thresholdMetric.
 */
function sliDef(ctx: Ctx, raw: Raw, path: Path, typeKey: string, objectiveThreshold?: { op?: ThresholdOp; value?: number }): SliSpec | undefined {
  const before = ctx.count;
  const typeRaw = raw[typeKey];
  if (typeof typeRaw !== 'string' || !(SLI_TYPES as readonly string[]).includes(typeRaw)) {
    ctx.error([...path, typeKey], typeRaw === undefined ? `is required (one of ${SLI_TYPES.join(', ')})` : `must be one of ${SLI_TYPES.join(', ')}, got ${describe(typeRaw)}`);
    return undefined;
  }
  const type = typeRaw as SliType;
  if (type === 'availability') {
    for (const k of ['threshold', 'op', 'include_errors']) if (raw[k] !== undefined) ctx.error([...path, k], `does not apply to an availability SLI`);
    let source: RecordSource = 'llm_call';
    if (raw.source !== undefined) {
      if (typeof raw.source !== 'string' || !(SOURCES as readonly string[]).includes(raw.source)) ctx.error([...path, 'source'], `must be one of ${SOURCES.join(', ')}, got ${describe(raw.source)}`);
      else source = raw.source as RecordSource;
    }
    let bad = [...DEFAULT_BAD_ERROR_TYPES];
    if (raw.bad_error_types !== undefined) {
      const list = raw.bad_error_types;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) ctx.error([...path, 'bad_error_types'], `must be a list of error classes, got ${describe(list)}`);
      else {
        list.forEach((x, i) => {
          if (!(ERROR_CLASSES as readonly string[]).includes(x)) ctx.error([...path, 'bad_error_types', i], `unknown error class '${x}' (known: ${ERROR_CLASSES.join(', ')})`);
        });
        bad = [...new Set(list as string[])];
      }
    }
    return ctx.count === before ? { type, source, badErrorTypes: bad } : undefined;
  }
  const defaults = SLI_DEFAULTS[type];
  if (raw.bad_error_types !== undefined) ctx.error([...path, 'bad_error_types'], `only applies to an availability SLI`);
  if (raw.source !== undefined && raw.source !== defaults.source) ctx.error([...path, 'source'], `a ${type} SLI reads ${defaults.source} records, got ${describe(raw.source)}`);
  let op: ThresholdOp = defaults.op;
  let value: number | undefined;
  if (objectiveThreshold) {
    if (raw.threshold !== undefined || raw.op !== undefined) ctx.error([...path, raw.threshold !== undefined ? 'threshold' : 'op'], 'a thresholdMetric takes its threshold from the objective (op, value)');
    op = objectiveThreshold.op ?? op;
    value = objectiveThreshold.value;
  } else {
    if (raw.op !== undefined) {
      if (typeof raw.op !== 'string' || !(OPS as readonly string[]).includes(raw.op)) ctx.error([...path, 'op'], `must be one of ${OPS.join(', ')}, got ${describe(raw.op)}`);
      else op = raw.op as ThresholdOp;
    }
    if (raw.threshold === undefined) ctx.error([...path, 'threshold'], `is required for a ${type} SLI (${type === 'output_tokens_per_s' ? 'tokens per second' : "seconds, or a duration like '2s'"})`);
    else value = threshold(ctx, raw.threshold, [...path, 'threshold'], type);
  }
  let includeErrors = false;
  if (raw.include_errors !== undefined) {
    if (typeof raw.include_errors !== 'boolean') ctx.error([...path, 'include_errors'], `must be true or false, got ${describe(raw.include_errors)}`);
    else includeErrors = raw.include_errors;
  }
  if (ctx.count !== before || value === undefined) return undefined;
  return { type, source: defaults.source, field: defaults.field, op, threshold: value, includeErrors };
}

/** Objective given as a percentage (native `objective: 99.5`) or a ratio (`target: 0.995`). */
function objective(ctx: Ctx, raw: Raw, path: Path, percentKey: string, ratioKey: string): number | undefined {
  const p = raw[percentKey];
  const r = raw[ratioKey];
  if (p !== undefined && r !== undefined) {
    ctx.error([...path, ratioKey], `give either ${percentKey} or ${ratioKey}, not both`);
    return undefined;
  }
  if (p !== undefined) {
    if (typeof p !== 'number' || !(p > 0 && p < 100)) {
      ctx.error([...path, percentKey], `must be a percentage in (0, 100), got ${describe(p)}`);
      return undefined;
    }
    // 99.9 / 100 is 0.9990000000000001 in float64; round to the decimal the author meant.
    return Number((p / 100).toPrecision(15));
  }
  if (r !== undefined) {
    if (typeof r !== 'number' || !(r > 0 && r < 1)) {
      ctx.error([...path, ratioKey], `must be a ratio in (0, 1), got ${describe(r)}`);
      return undefined;
    }
    return r;
  }
  ctx.error([...path, percentKey], `is required (or ${ratioKey} as a ratio)`);
  return undefined;
}

const NATIVE_WINDOW_KEYS = ['severity', 'long', 'short', 'factor', 'budget_percent', 'op', 'for'] as const;

function alertWindows(ctx: Ctx, v: unknown, path: Path, periodMs: number): AlertWindow[] | undefined {
  if (!Array.isArray(v) || v.length === 0) {
    ctx.error(path, `must be a non-empty list of windows, got ${describe(v)}`);
    return undefined;
  }
  const out: AlertWindow[] = [];
  v.forEach((item, i) => {
    const p = [...path, i];
    const m = mapping(ctx, item, p, NATIVE_WINDOW_KEYS);
    if (!m) return;
    const severity = str(ctx, m.severity, [...p, 'severity'], true);
    const longMs = m.long === undefined ? (ctx.error([...p, 'long'], 'is required'), undefined) : durationMs(ctx, m.long, [...p, 'long']);
    let shortMs: number | undefined;
    if (m.short !== undefined) shortMs = durationMs(ctx, m.short, [...p, 'short']);
    else if (longMs !== undefined) shortMs = Math.max(1000, Math.round(longMs / 12 / 1000) * 1000);
    if (longMs !== undefined && shortMs !== undefined && shortMs >= longMs) ctx.error([...p, 'short'], `must be shorter than long (${formatDuration(longMs)})`);
    let factor: number | undefined;
    if ((m.factor === undefined) === (m.budget_percent === undefined)) ctx.error(p, 'give exactly one of factor (burn rate) or budget_percent (budget consumed within the long window)');
    else if (m.factor !== undefined) factor = positiveNumber(ctx, m.factor, [...p, 'factor']);
    else {
      const b = m.budget_percent;
      if (typeof b !== 'number' || !(b > 0 && b <= 100)) ctx.error([...p, 'budget_percent'], `must be a percentage in (0, 100], got ${describe(b)}`);
      else if (longMs !== undefined) factor = burnFactor(b, periodMs, longMs);
    }
    let op: 'gt' | 'gte' = 'gt';
    if (m.op !== undefined) {
      if (m.op !== 'gt' && m.op !== 'gte') ctx.error([...p, 'op'], `must be gt or gte, got ${describe(m.op)}`);
      else op = m.op;
    }
    const forMs = m.for === undefined ? 0 : durationMs(ctx, m.for, [...p, 'for'], true);
    if (severity && longMs !== undefined && shortMs !== undefined && factor !== undefined && forMs !== undefined) out.push({ severity, longMs, shortMs, factor, op, forMs });
  });
  return out;
}

function minEvents(ctx: Ctx, v: unknown, path: Path): number | undefined {
  if (v === undefined) return DEFAULT_MIN_EVENTS;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    ctx.error(path, `must be an integer >= 1, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

function checkWindowsFit(ctx: Ctx, path: Path, windows: AlertWindow[], periodMs: number): void {
  const forBySeverity = new Map<string, number>();
  windows.forEach((w, i) => {
    if (w.longMs > periodMs) ctx.error([...path, i, 'long'], `long window ${formatDuration(w.longMs)} is longer than the SLO period ${formatDuration(periodMs)}`);
    // One alert per severity (as Sloth does): its windows are OR-ed under one `for`.
    const f = forBySeverity.get(w.severity);
    if (f !== undefined && f !== w.forMs) ctx.error([...path, i], `windows of severity '${w.severity}' must share one 'for' (${formatDuration(f)} vs ${formatDuration(w.forMs)})`);
    forBySeverity.set(w.severity, w.forMs);
  });
}

// ---------------------------------------------------------------- native form

const NATIVE_TOP_KEYS = ['apiVersion', 'kind', 'service', 'labels', 'slos'] as const;
const NATIVE_SLO_KEYS = ['name', 'description', 'service', 'sli', 'selector', 'objective', 'target', 'window', 'alerting', 'labels'] as const;
const NATIVE_ALERTING_KEYS = ['name', 'min_events', 'labels', 'annotations', 'windows'] as const;

function nativeDocument(ctx: Ctx, top: Raw, out: SloSpec[]): void {
  mapping(ctx, top, [], NATIVE_TOP_KEYS);
  if (top.kind !== undefined && top.kind !== 'SLOSet') ctx.error(['kind'], `must be SLOSet for apiVersion llmslo/v1, got ${describe(top.kind)}`);
  const service = str(ctx, top.service, ['service'], false);
  const setLabels = stringMap(ctx, top.labels, ['labels']);
  if (!Array.isArray(top.slos) || top.slos.length === 0) {
    ctx.error(['slos'], `must be a non-empty list of SLOs, got ${describe(top.slos)}`);
    return;
  }
  top.slos.forEach((item, i) => {
    const p: Path = ['slos', i];
    const before = ctx.count;
    const m = mapping(ctx, item, p, NATIVE_SLO_KEYS);
    if (!m) return;
    const name = sloName(ctx, m.name, [...p, 'name']);
    const svc = str(ctx, m.service, [...p, 'service'], false) ?? service;
    if (!svc) ctx.error([...p, 'service'], 'is required (here or at the top level)');
    const description = str(ctx, m.description, [...p, 'description'], false) ?? '';
    const sliRaw = mapping(ctx, m.sli, [...p, 'sli'], SLI_KEYS);
    const sli = sliRaw ? sliDef(ctx, sliRaw, [...p, 'sli'], 'type') : undefined;
    const sel = selector(ctx, m.selector, [...p, 'selector'], sli?.source);
    const obj = objective(ctx, m, p, 'objective', 'target');
    const periodMs = m.window === undefined ? 30 * 86_400_000 : durationMs(ctx, m.window, [...p, 'window']);
    let windows: AlertWindow[] | undefined;
    let min: number | undefined = DEFAULT_MIN_EVENTS;
    let alertName = DEFAULT_ALERT_NAME;
    let annotations: Record<string, string> = {};
    let alertLabels: Record<string, string> = {};
    if (m.alerting !== undefined) {
      const a = mapping(ctx, m.alerting, [...p, 'alerting'], NATIVE_ALERTING_KEYS);
      if (a) {
        if (a.name !== undefined) {
          const n = str(ctx, a.name, [...p, 'alerting', 'name'], true);
          if (n && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n)) ctx.error([...p, 'alerting', 'name'], `must be a valid Prometheus alert name, got '${n}'`);
          else if (n) alertName = n;
        }
        min = minEvents(ctx, a.min_events, [...p, 'alerting', 'min_events']);
        alertLabels = stringMap(ctx, a.labels, [...p, 'alerting', 'labels']);
        annotations = stringMap(ctx, a.annotations, [...p, 'alerting', 'annotations']);
        if (a.windows !== undefined && periodMs !== undefined) {
          windows = alertWindows(ctx, a.windows, [...p, 'alerting', 'windows'], periodMs);
          if (windows) checkWindowsFit(ctx, [...p, 'alerting', 'windows'], windows, periodMs);
        }
      }
    }
    if (ctx.count !== before || !name || !svc || !sli || obj === undefined || periodMs === undefined || min === undefined) return;
    out.push({
      name, service: svc, description, sli, selector: sel, objective: obj, periodMs,
      alertWindows: windows ?? defaultAlertWindows(periodMs), minEvents: min, alertName,
      labels: { ...setLabels, ...stringMap(ctx, m.labels, [...p, 'labels']), ...alertLabels }, annotations,
      origin: `${ctx.file} ${formatPath(p)}`,
    });
  });
}

// ---------------------------------------------------------------- OpenSLO v1

interface OpenSloDoc {
  ctx: Ctx;
  kind: string;
  name: string;
  raw: Raw;
}

const OPENSLO_KINDS = ['SLO', 'SLI', 'AlertPolicy', 'AlertCondition', 'AlertNotificationTarget', 'Service', 'DataSource'];

function openSloMetadata(ctx: Ctx, raw: Raw, path: Path): { name?: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const m = mapping(ctx, raw.metadata, [...path, 'metadata'], ['name', 'displayName', 'labels', 'annotations']);
  if (!m) return { labels: {}, annotations: {} };
  const labels: Record<string, string> = {};
  if (isMapping(m.labels)) for (const [k, v] of Object.entries(m.labels)) if (typeof v === 'string' && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) labels[k] = v;
  const annotations: Record<string, string> = {};
  if (isMapping(m.annotations)) for (const [k, v] of Object.entries(m.annotations)) if (typeof v === 'string') annotations[k] = v;
  return { name: sloName(ctx, m.name, [...path, 'metadata', 'name']), labels, annotations };
}

/** Reads `{metricSource: {type: llmslo, spec: {...}}}` and returns its spec mapping. */
function llmsloMetricSource(ctx: Ctx, v: unknown, path: Path): Raw | undefined {
  const m = mapping(ctx, v, path, ['metricSource']);
  if (!m) return undefined;
  const ms = mapping(ctx, m.metricSource, [...path, 'metricSource'], ['metricSourceRef', 'type', 'spec']);
  if (!ms) return undefined;
  if (ms.type !== 'llmslo') {
    ctx.error([...path, 'metricSource', 'type'], `must be 'llmslo' (llmslo evaluates its own call records; generate Prometheus rules with 'llmslo slo rules'), got ${describe(ms.type)}`);
    return undefined;
  }
  return mapping(ctx, ms.spec, [...path, 'metricSource', 'spec'], ['sli', 'source', 'threshold', 'op', 'bad_error_types', 'include_errors', 'selector']);
}

function openSloIndicator(
  ctx: Ctx, spec: Raw, path: Path, objectiveThreshold: { op?: ThresholdOp; value?: number } | undefined,
): { sli: SliSpec; selector: SloSpec['selector']; thresholdMetric: boolean } | undefined {
  const s = mapping(ctx, spec, path, ['description', 'thresholdMetric', 'ratioMetric']);
  if (!s) return undefined;
  if ((s.thresholdMetric === undefined) === (s.ratioMetric === undefined)) {
    ctx.error(path, 'must have exactly one of thresholdMetric or ratioMetric');
    return undefined;
  }
  if (s.thresholdMetric !== undefined) {
    const src = llmsloMetricSource(ctx, s.thresholdMetric, [...path, 'thresholdMetric']);
    if (!src) return undefined;
    const srcPath = [...path, 'thresholdMetric', 'metricSource', 'spec'];
    if (src.sli === 'availability') {
      ctx.error([...srcPath, 'sli'], 'availability is a ratio: use ratioMetric');
      return undefined;
    }
    if (!objectiveThreshold) return undefined;
    const sli = sliDef(ctx, src, srcPath, 'sli', objectiveThreshold);
    return sli ? { sli, selector: selector(ctx, src.selector, [...srcPath, 'selector'], sli.source), thresholdMetric: true } : undefined;
  }
  const r = mapping(ctx, s.ratioMetric, [...path, 'ratioMetric'], ['counter', 'good', 'bad', 'total', 'raw', 'rawType']);
  if (!r) return undefined;
  if (r.raw !== undefined) {
    ctx.error([...path, 'ratioMetric', 'raw'], 'raw ratios are not supported: give good or bad, and total');
    return undefined;
  }
  if ((r.good === undefined) === (r.bad === undefined)) {
    ctx.error([...path, 'ratioMetric'], 'must have exactly one of good or bad');
    return undefined;
  }
  const side = r.good !== undefined ? 'good' : 'bad';
  const src = llmsloMetricSource(ctx, r[side], [...path, 'ratioMetric', side]);
  const total = r.total === undefined ? (ctx.error([...path, 'ratioMetric', 'total'], 'is required'), undefined) : llmsloMetricSource(ctx, r.total, [...path, 'ratioMetric', 'total']);
  if (!src || !total) return undefined;
  const srcPath = [...path, 'ratioMetric', side, 'metricSource', 'spec'];
  const sli = sliDef(ctx, src, srcPath, 'sli');
  if (!sli) return undefined;
  const sel = selector(ctx, src.selector, [...srcPath, 'selector'], sli.source);
  for (const k of Object.keys(total)) {
    if (k !== 'selector') ctx.error([...path, 'ratioMetric', 'total', 'metricSource', 'spec', k], `the total side only takes a selector; the SLI is defined on the ${side} side`);
  }
  if (total.selector !== undefined && JSON.stringify(selector(ctx, total.selector, [...path, 'ratioMetric', 'total', 'metricSource', 'spec', 'selector'], sli.source)) !== JSON.stringify(sel)) {
    ctx.error([...path, 'ratioMetric', 'total', 'metricSource', 'spec', 'selector'], `must equal the ${side} selector (the total is the same events)`);
    return undefined;
  }
  return { sli, selector: sel, thresholdMetric: false };
}

function openSloCondition(ctx: Ctx, spec: unknown, path: Path, periodMs: number): AlertWindow | undefined {
  const s = mapping(ctx, spec, path, ['description', 'severity', 'condition']);
  if (!s) return undefined;
  const severity = str(ctx, s.severity, [...path, 'severity'], true);
  const c = mapping(ctx, s.condition, [...path, 'condition'], ['kind', 'op', 'threshold', 'lookbackWindow', 'alertAfter']);
  if (!c || !severity) return undefined;
  if (c.kind !== 'burnrate') ctx.error([...path, 'condition', 'kind'], `must be 'burnrate', got ${describe(c.kind)}`);
  let op: 'gt' | 'gte' = 'gt';
  if (c.op === 'gte' || c.op === 'gt') op = c.op;
  else ctx.error([...path, 'condition', 'op'], `must be gt or gte (a burn-rate alert fires above a threshold), got ${describe(c.op)}`);
  const factor = positiveNumber(ctx, c.threshold, [...path, 'condition', 'threshold']);
  const longMs = c.lookbackWindow === undefined ? (ctx.error([...path, 'condition', 'lookbackWindow'], 'is required'), undefined) : durationMs(ctx, c.lookbackWindow, [...path, 'condition', 'lookbackWindow']);
  const forMs = c.alertAfter === undefined ? 0 : durationMs(ctx, c.alertAfter, [...path, 'condition', 'alertAfter'], true);
  if (longMs !== undefined && longMs > periodMs) ctx.error([...path, 'condition', 'lookbackWindow'], `is longer than the SLO period ${formatDuration(periodMs)}`);
  if (factor === undefined || longMs === undefined || forMs === undefined || c.kind !== 'burnrate') return undefined;
  // OpenSLO has one lookback window; the Workbook's short window is 1/12 of the long one.
  return { severity, longMs, shortMs: Math.max(1000, Math.round(longMs / 12 / 1000) * 1000), factor, op, forMs };
}

function openSloAlertPolicy(ctx: Ctx, raw: Raw, path: Path, byKind: Map<string, Map<string, OpenSloDoc>>, periodMs: number): AlertWindow | undefined {
  const s = mapping(ctx, raw.spec, [...path, 'spec'], ['description', 'alertWhenNoData', 'alertWhenResolved', 'alertWhenBreaching', 'conditions', 'notificationTargets']);
  if (!s) return undefined;
  if (!Array.isArray(s.conditions) || s.conditions.length !== 1) {
    ctx.error([...path, 'spec', 'conditions'], `must hold exactly one condition (OpenSLO v1), got ${Array.isArray(s.conditions) ? s.conditions.length : describe(s.conditions)}`);
    return undefined;
  }
  const cond: unknown = s.conditions[0];
  const cp: Path = [...path, 'spec', 'conditions', 0];
  if (isMapping(cond) && cond.conditionRef !== undefined) {
    const ref = byKind.get('AlertCondition')?.get(String(cond.conditionRef));
    if (!ref) {
      ctx.error([...cp, 'conditionRef'], `no AlertCondition named ${describe(cond.conditionRef)} in the given files`);
      return undefined;
    }
    return openSloCondition(ref.ctx, ref.raw.spec, ['spec'], periodMs);
  }
  if (!isMapping(cond)) {
    ctx.error(cp, `must be an AlertCondition or a conditionRef, got ${describe(cond)}`);
    return undefined;
  }
  return openSloCondition(ctx, cond.spec, [...cp, 'spec'], periodMs);
}

const OPENSLO_SLO_SPEC_KEYS = ['description', 'service', 'indicator', 'indicatorRef', 'timeWindow', 'budgetingMethod', 'objectives', 'alertPolicies'];

function openSloSlo(d: OpenSloDoc, byKind: Map<string, Map<string, OpenSloDoc>>, out: SloSpec[]): void {
  const { ctx, raw } = d;
  const before = ctx.count;
  const meta = openSloMetadata(ctx, raw, []);
  const spec = mapping(ctx, raw.spec, ['spec'], OPENSLO_SLO_SPEC_KEYS);
  if (!spec) return;
  const service = str(ctx, spec.service, ['spec', 'service'], true);
  const description = str(ctx, spec.description, ['spec', 'description'], false) ?? '';

  if (spec.budgetingMethod !== 'Occurrences') {
    ctx.error(['spec', 'budgetingMethod'], spec.budgetingMethod === undefined ? 'is required (Occurrences)' : `only Occurrences (event-weighted) budgeting is supported, got ${describe(spec.budgetingMethod)}`);
  }
  let periodMs: number | undefined;
  if (!Array.isArray(spec.timeWindow) || spec.timeWindow.length !== 1) ctx.error(['spec', 'timeWindow'], 'must be a list with exactly one window');
  else {
    const tw = mapping(ctx, spec.timeWindow[0], ['spec', 'timeWindow', 0], ['duration', 'isRolling', 'calendar']);
    if (tw) {
      if (tw.isRolling !== true || tw.calendar !== undefined) ctx.error(['spec', 'timeWindow', 0, 'isRolling'], 'only rolling windows (isRolling: true) are supported');
      periodMs = durationMs(ctx, tw.duration, ['spec', 'timeWindow', 0, 'duration']);
    }
  }

  let obj: number | undefined;
  let objThreshold: { op?: ThresholdOp; value?: number } | undefined;
  if (!Array.isArray(spec.objectives) || spec.objectives.length !== 1) {
    ctx.error(['spec', 'objectives'], `must hold exactly one objective (llmslo evaluates one target per SLO), got ${Array.isArray(spec.objectives) ? spec.objectives.length : describe(spec.objectives)}`);
  } else {
    const op: Path = ['spec', 'objectives', 0];
    const o = mapping(ctx, spec.objectives[0], op, ['displayName', 'op', 'value', 'target', 'targetPercent', 'timeSliceTarget', 'timeSliceWindow', 'compositeWeight', 'indicator', 'indicatorRef']);
    if (o) {
      for (const k of ['timeSliceTarget', 'timeSliceWindow', 'compositeWeight', 'indicator', 'indicatorRef']) if (o[k] !== undefined) ctx.error([...op, k], 'is not supported (Occurrences budgeting, one objective)');
      obj = objective(ctx, o, op, 'targetPercent', 'target');
      if (o.op !== undefined || o.value !== undefined) {
        objThreshold = {};
        if (typeof o.op !== 'string' || !(OPS as readonly string[]).includes(o.op)) ctx.error([...op, 'op'], `must be one of ${OPS.join(', ')}, got ${describe(o.op)}`);
        else objThreshold.op = o.op as ThresholdOp;
        if (o.value === undefined) ctx.error([...op, 'value'], 'is required with op');
        else objThreshold.value = positiveNumber(ctx, o.value, [...op, 'value']);
      }
    }
  }

  let indicator: ReturnType<typeof openSloIndicator>;
  if ((spec.indicator === undefined) === (spec.indicatorRef === undefined)) ctx.error(['spec'], 'must have exactly one of indicator or indicatorRef');
  else if (spec.indicator !== undefined) {
    const ind = mapping(ctx, spec.indicator, ['spec', 'indicator'], ['metadata', 'spec']);
    if (ind) indicator = openSloIndicator(ctx, ind.spec as Raw, ['spec', 'indicator', 'spec'], objThreshold);
  } else {
    const ref = byKind.get('SLI')?.get(String(spec.indicatorRef));
    if (!ref) ctx.error(['spec', 'indicatorRef'], `no SLI named ${describe(spec.indicatorRef)} in the given files`);
    else indicator = openSloIndicator(ref.ctx, ref.raw.spec as Raw, ['spec'], objThreshold);
  }
  if (indicator?.thresholdMetric === false && objThreshold) ctx.error(['spec', 'objectives', 0, 'op'], 'op/value apply to a thresholdMetric only');
  if (indicator === undefined && objThreshold === undefined && ctx.count === before) ctx.error(['spec', 'objectives', 0], 'a thresholdMetric needs op and value');

  const windows: AlertWindow[] = [];
  if (spec.alertPolicies !== undefined && periodMs !== undefined) {
    if (!Array.isArray(spec.alertPolicies)) ctx.error(['spec', 'alertPolicies'], `must be a list, got ${describe(spec.alertPolicies)}`);
    else spec.alertPolicies.forEach((ap, i) => {
      const p: Path = ['spec', 'alertPolicies', i];
      let w: AlertWindow | undefined;
      if (isMapping(ap) && ap.alertPolicyRef !== undefined) {
        const ref = byKind.get('AlertPolicy')?.get(String(ap.alertPolicyRef));
        if (!ref) ctx.error([...p, 'alertPolicyRef'], `no AlertPolicy named ${describe(ap.alertPolicyRef)} in the given files`);
        else w = openSloAlertPolicy(ref.ctx, ref.raw, [], byKind, periodMs);
      } else if (isMapping(ap) && ap.kind === 'AlertPolicy') w = openSloAlertPolicy(ctx, ap, p, byKind, periodMs);
      else ctx.error(p, 'must be an inline AlertPolicy (kind: AlertPolicy) or an alertPolicyRef');
      if (w) windows.push(w);
    });
    checkWindowsFit(ctx, ['spec', 'alertPolicies'], windows, periodMs);
  }
  let min: number | undefined = DEFAULT_MIN_EVENTS;
  const minAnn = meta.annotations['llmslo.dev/min-events'];
  if (minAnn !== undefined) min = minEvents(ctx, Number(minAnn), ['metadata', 'annotations', 'llmslo.dev/min-events']);
  if (ctx.count !== before || !meta.name || !service || !indicator || obj === undefined || periodMs === undefined || min === undefined) return;
  out.push({
    name: meta.name, service, description, sli: indicator.sli, selector: indicator.selector, objective: obj, periodMs,
    alertWindows: windows.length ? windows : defaultAlertWindows(periodMs), minEvents: min, alertName: DEFAULT_ALERT_NAME,
    labels: meta.labels, annotations: {}, origin: `${ctx.file} SLO ${meta.name}`,
  });
}

// ---------------------------------------------------------------- entry points

interface SourceText {
  file: string;
  text: string;
}

/** Parses and validates SLO specs from one or more YAML texts (OpenSLO refs may cross files). */
export function parseSloSources(sources: SourceText[]): LoadResult {
  const issues: SpecIssue[] = [];
  const slos: SloSpec[] = [];
  const natives: { ctx: Ctx; raw: Raw }[] = [];
  const byKind = new Map<string, Map<string, OpenSloDoc>>();
  const openSlos: OpenSloDoc[] = [];

  for (const { file, text } of sources) {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (!Array.isArray(docs)) {
      issues.push({ file, path: '', message: 'is empty' });
      continue;
    }
    const nonEmpty = docs.filter((d) => d.contents !== null || d.errors.length > 0);
    if (nonEmpty.length === 0) issues.push({ file, path: '', message: 'holds no YAML documents' });
    nonEmpty.forEach((doc, di) => {
      const prefix = nonEmpty.length > 1 ? `(document ${di + 1}) ` : '';
      const ctx = new Ctx(file, doc, lines, prefix, issues);
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
          issues.push({ file, line: pos?.line, col: pos?.col, path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` });
        }
        return;
      }
      const raw: unknown = doc.toJS({ maxAliasCount: 100 });
      if (!isMapping(raw)) {
        ctx.error([], `must be a mapping (an llmslo/v1 SLOSet or an OpenSLO object), got ${describe(raw)}`);
        return;
      }
      if (raw.apiVersion === 'llmslo/v1') natives.push({ ctx, raw });
      else if (raw.apiVersion === 'openslo/v1') {
        const kind = raw.kind;
        if (typeof kind !== 'string' || !OPENSLO_KINDS.includes(kind)) {
          ctx.error(['kind'], `must be one of ${OPENSLO_KINDS.join(', ')}, got ${describe(kind)}`);
          return;
        }
        mapping(ctx, raw, [], ['apiVersion', 'kind', 'metadata', 'spec']);
        const name = isMapping(raw.metadata) && typeof raw.metadata.name === 'string' ? raw.metadata.name : '';
        const d: OpenSloDoc = { ctx, kind, name, raw };
        if (kind === 'SLO') openSlos.push(d);
        else if (name) {
          const m = byKind.get(kind) ?? new Map<string, OpenSloDoc>();
          if (m.has(name)) ctx.error(['metadata', 'name'], `duplicate ${kind} name '${name}'`);
          m.set(name, d);
          byKind.set(kind, m);
        } else ctx.error(['metadata', 'name'], 'is required');
      } else if (raw.apiVersion === 'openslo/v1alpha' || raw.apiVersion === 'openslo.com/v2alpha') {
        ctx.error(['apiVersion'], `${String(raw.apiVersion)} is not supported: use openslo/v1 or llmslo/v1`);
      } else {
        ctx.error(['apiVersion'], `must be llmslo/v1 or openslo/v1, got ${describe(raw.apiVersion)}`);
      }
    });
  }

  for (const n of natives) nativeDocument(n.ctx, n.raw, slos);
  for (const d of openSlos) openSloSlo(d, byKind, slos);

  const seen = new Map<string, string>();
  for (const s of slos) {
    const prev = seen.get(s.name);
    if (prev) issues.push({ file: s.origin.split(' ')[0] ?? '', path: s.origin.split(' ').slice(1).join(' '), message: `duplicate SLO name '${s.name}' (also defined at ${prev})` });
    else seen.set(s.name, s.origin);
  }
  return issues.length ? { slos: [], issues, warnings: [] } : { slos, issues, warnings: warningsFor(slos) };
}

/** Reads and validates SLO spec files; unreadable files are issues, not exceptions. */
export async function loadSloFiles(paths: string[]): Promise<LoadResult> {
  const sources: SourceText[] = [];
  const issues: SpecIssue[] = [];
  for (const file of paths) {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? String(err.code) : '';
      issues.push({ file, path: '', message: code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  if (issues.length) return { slos: [], issues, warnings: [] };
  return parseSloSources(sources);
}
