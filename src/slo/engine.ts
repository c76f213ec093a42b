// In-agent SLO evaluation: exact good/bad counts per SLO in fixed-size time buckets, burn
// rates over the standard windows, multi-window multi-burn-rate alerts, error budget, and
// state that survives a restart. Memory per SLO is fixed by its windows, not by traffic.
import { createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import { SLO_ALERT_SCHEMA, type SloAlertEvent, type SloAlertWindowReport } from './alert_event.ts';
import {
  INACTIVE, budgetRemaining, decideWindow, stepAlert, windowStat,
  type AlertState, type WindowDecision, type WindowStat,
} from './burn.ts';
import { classifyForSlo } from './classify.ts';
import { formatDuration } from './duration.ts';
import { SloMetrics } from './metrics.ts';
import { normalizeRecord } from './record.ts';
import { BucketRing } from './ring.ts';
import { loadStateFile, saveStateFile } from './persist.ts';
import type { SloSpec } from './spec.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Windows burn rates are reported over (issue #6), when the SLO keeps that much history. */
export const STANDARD_BURN_WINDOWS_MS = [5 * MINUTE, 30 * MINUTE, 60 * MINUTE, 120 * MINUTE, 360 * MINUTE, DAY, 3 * DAY];
const MAX_FINE_BUCKETS = 50_000;
/** The period is kept in the fine ring when that takes at most this many buckets; otherwise in ~720 coarse buckets. */
const MAX_FINE_PERIOD_BUCKETS = 5_000;
const COARSE_BUCKETS_PER_PERIOD = 720;
/** Records stamped further ahead of the evaluation clock than this are dropped (a bad clock must not wipe the rings). */
export const MAX_FUTURE_SKEW_MS = 5 * MINUTE;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Bucket geometry of one SLO: the fine ring covers every alert window (and the period when small), the coarse ring the rest of the period. */
export interface Geometry {
  bucketMs: number;
  fineSpanMs: number;
  coarseMs: number | null;
}

export function geometryFor(spec: SloSpec): Geometry {
  const windows = spec.alertWindows.flatMap((w) => [w.longMs, w.shortMs]);
  // Bucket width divides every alert window (exact windows), at least 1s, at most 1m.
  let bucketMs = windows.reduce((g, w) => gcd(g, w), MINUTE);
  bucketMs = Math.max(1000, Math.floor(bucketMs / 1000) * 1000);
  const longest = Math.max(0, ...spec.alertWindows.map((w) => w.longMs));
  let fineSpanMs = Math.max(longest, Math.min(3 * DAY, spec.periodMs));
  if (spec.periodMs / bucketMs <= MAX_FINE_PERIOD_BUCKETS) fineSpanMs = Math.max(fineSpanMs, spec.periodMs);
  if (fineSpanMs / bucketMs > MAX_FINE_BUCKETS) bucketMs = Math.ceil(fineSpanMs / MAX_FINE_BUCKETS / 1000) * 1000;
  const coarseMs = fineSpanMs >= spec.periodMs ? null : bucketMs * Math.max(1, Math.ceil(spec.periodMs / COARSE_BUCKETS_PER_PERIOD / bucketMs));
  return { bucketMs, fineSpanMs, coarseMs };
}

export interface SloWindowStatus {
  window: string;
  good: number;
  bad: number;
  burn_rate: number | null;
}

export interface SloAlertStatus {
  severity: string;
  state: 'inactive' | 'pending' | 'firing';
  since: string | null;
  windows: SloAlertWindowReport[];
}

export interface SloStatus {
  slo: string;
  service: string;
  sli: string;
  objective: number;
  period: string;
  time: string;
  period_good: number;
  period_bad: number;
  error_budget_remaining: number;
  burn_rates: SloWindowStatus[];
  alerts: SloAlertStatus[];
}

/** What is persisted per SLO (sparse buckets, alert phases). */
interface PersistedSlo {
  fingerprint: string;
  bucketMs: number;
  coarseMs: number | null;
  fine: [number, number, number][];
  coarse: [number, number, number][];
  alerts: Record<string, AlertState>;
}

export interface PersistedState {
  schema: 'llmslo.slo_state/v1';
  saved_at: string;
  slos: Record<string, PersistedSlo>;
}

interface SloRuntime {
  spec: SloSpec;
  geometry: Geometry;
  fingerprint: string;
  fine: BucketRing;
  coarse: BucketRing | null;
  severities: { severity: string; forMs: number }[];
  alerts: Map<string, AlertState>;
  burnWindowsMs: number[];
  /** Monotonic event counts since start, exported as llmslo_slo_events_total. */
  totals: { good: number; bad: number };
}

export type DropReason = 'not_an_object' | 'unknown_schema' | 'bad_time' | 'too_old' | 'future';

export interface SloEngineOptions {
  registry?: Registry;
  onAlert?: (event: SloAlertEvent) => void;
}

/** Fingerprint of what decides which records count: state from an SLO whose SLI changed is not reused. */
function fingerprintOf(spec: SloSpec): string {
  return createHash('sha256').update(JSON.stringify({ sli: spec.sli, selector: spec.selector })).digest('hex').slice(0, 16);
}

export class SloEngine {
  private readonly slos: SloRuntime[];
  private readonly metrics: SloMetrics | null;
  private readonly onAlert: ((event: SloAlertEvent) => void) | undefined;
  private lastStatus: SloStatus[] = [];
  /** Counts since construction, for tests and `status`. */
  readonly stats = { records: 0, counted: 0, unmatched: 0, dropped: {} as Partial<Record<DropReason, number>> };

  constructor(specs: SloSpec[], opts: SloEngineOptions = {}) {
    this.metrics = opts.registry ? new SloMetrics(opts.registry, () => this.slos.map((s) => ({ slo: s.spec.name, ...s.totals }))) : null;
    this.onAlert = opts.onAlert;
    this.slos = specs.map((spec) => {
      const geometry = geometryFor(spec);
      const severities: { severity: string; forMs: number }[] = [];
      for (const w of spec.alertWindows) if (!severities.some((s) => s.severity === w.severity)) severities.push({ severity: w.severity, forMs: w.forMs });
      const alertWindowMs = spec.alertWindows.flatMap((w) => [w.shortMs, w.longMs]);
      const burnWindowsMs = [...new Set([...STANDARD_BURN_WINDOWS_MS.filter((w) => w <= geometry.fineSpanMs), ...alertWindowMs])].sort((a, b) => a - b);
      this.metrics?.initSlo(spec.name, { service: spec.service, sli: spec.sli.type, period: formatDuration(spec.periodMs) }, spec.objective, severities.map((s) => s.severity));
      return {
        spec, geometry, fingerprint: fingerprintOf(spec), severities, burnWindowsMs,
        fine: new BucketRing(geometry.bucketMs, Math.ceil(geometry.fineSpanMs / geometry.bucketMs) + 1),
        coarse: geometry.coarseMs ? new BucketRing(geometry.coarseMs, Math.ceil(spec.periodMs / geometry.coarseMs) + 1) : null,
        alerts: new Map(severities.map((s) => [s.severity, INACTIVE])),
        totals: { good: 0, bad: 0 },
      };
    });
  }

  get specs(): SloSpec[] {
    return this.slos.map((s) => s.spec);
  }

  private drop(reason: DropReason): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    this.metrics?.dropped.inc({ reason });
  }

  /**
   * Counts one call/request record for every SLO it belongs to; returns how many that was.
   * The event time is the record's end (`time` + `duration_s`), or `nowMs` when it has no time.
   */
  observe(record: unknown, nowMs: number = Date.now()): number {
    this.stats.records++;
    const n = normalizeRecord(record);
    if (!n.ok) {
      this.drop(n.reason);
      return 0;
    }
    const rec = n.record;
    const atMs = rec.endMs ?? nowMs;
    if (atMs > nowMs + MAX_FUTURE_SKEW_MS) {
      this.drop('future');
      return 0;
    }
    let counted = 0;
    let tooOld = false;
    for (const s of this.slos) {
      const verdict = classifyForSlo(rec, s.spec);
      if (verdict === null) continue;
      const horizon = Math.max(s.geometry.fineSpanMs, s.spec.periodMs);
      if (atMs <= nowMs - horizon) {
        tooOld = true;
        continue;
      }
      const good = verdict === 'good' ? 1 : 0;
      const bad = 1 - good;
      const inFine = s.fine.add(atMs, good, bad);
      const inCoarse = s.coarse ? s.coarse.add(atMs, good, bad) : false;
      if (!inFine && !inCoarse) {
        tooOld = true;
        continue;
      }
      s.totals[verdict]++;
      counted++;
    }
    if (counted > 0) this.stats.counted++;
    else if (tooOld) this.drop('too_old');
    else this.stats.unmatched++;
    return counted;
  }

  private periodCounts(s: SloRuntime, nowMs: number): { good: number; bad: number } {
    if (s.coarse) return s.coarse.sum(nowMs, Math.ceil(s.spec.periodMs / s.coarse.bucketMs));
    return s.fine.sum(nowMs, Math.round(s.spec.periodMs / s.fine.bucketMs));
  }

  private stat(s: SloRuntime, windowMs: number, nowMs: number): WindowStat {
    return windowStat(windowMs, s.fine.sum(nowMs, Math.round(windowMs / s.fine.bucketMs)), s.spec.objective);
  }

  /** Burn rates and window decisions for one SLO at `nowMs`, without changing any state. */
  private snapshot(s: SloRuntime, nowMs: number): { burn: WindowStat[]; decisions: WindowDecision[]; remaining: number; period: { good: number; bad: number } } {
    const burn = s.burnWindowsMs.map((w) => this.stat(s, w, nowMs));
    const byMs = new Map(burn.map((b) => [b.windowMs, b]));
    const decisions = s.spec.alertWindows.map((w) => decideWindow(w, byMs.get(w.longMs)!, byMs.get(w.shortMs)!, s.spec.objective, s.spec.minEvents));
    const period = this.periodCounts(s, nowMs);
    return { burn, decisions, remaining: budgetRemaining(period, s.spec.objective), period };
  }

  private buildStatus(s: SloRuntime, nowMs: number, snap: ReturnType<SloEngine['snapshot']>, alerts: Map<string, AlertState>): SloStatus {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      slo: s.spec.name,
      service: s.spec.service,
      sli: s.spec.sli.type,
      objective: s.spec.objective,
      period: formatDuration(s.spec.periodMs),
      time: new Date(nowMs).toISOString(),
      period_good: snap.period.good,
      period_bad: snap.period.bad,
      error_budget_remaining: snap.remaining,
      burn_rates: snap.burn.map((b) => ({ window: formatDuration(b.windowMs), good: b.good, bad: b.bad, burn_rate: b.burnRate })),
      alerts: s.severities.map(({ severity }) => {
        const st = alerts.get(severity) ?? INACTIVE;
        return {
          severity,
          state: st.phase,
          since: iso(st.phase === 'firing' ? st.firingSinceMs : st.activeSinceMs),
          windows: snap.decisions.filter((d) => d.window.severity === severity).map(windowReport),
        };
      }),
    };
  }

  /**
   * Evaluates every SLO at `nowMs`: updates alert states (emitting `llmslo.slo_alert/v1` events
   * on changes) and the gauges. Call it on a steady cadence (e.g. every 15-30 s).
   */
  evaluate(nowMs: number = Date.now()): SloStatus[] {
    const out: SloStatus[] = [];
    for (const s of this.slos) {
      const snap = this.snapshot(s, nowMs);
      for (const { severity, forMs } of s.severities) {
        const holds = snap.decisions.some((d) => d.window.severity === severity && d.active);
        const prev = s.alerts.get(severity) ?? INACTIVE;
        const next = stepAlert(prev, holds, nowMs, forMs);
        s.alerts.set(severity, next);
        if (prev.phase !== 'firing' && next.phase === 'firing') this.emit(s, severity, 'firing', next.activeSinceMs, nowMs, snap);
        if (prev.phase === 'firing' && next.phase !== 'firing') this.emit(s, severity, 'resolved', prev.firingSinceMs, nowMs, snap);
        this.metrics?.alertFiring.set({ slo: s.spec.name, severity }, next.phase === 'firing' ? 1 : 0);
      }
      if (this.metrics) {
        this.metrics.budgetRemaining.set({ slo: s.spec.name }, snap.remaining);
        for (const b of snap.burn) {
          const labels = { slo: s.spec.name, window: formatDuration(b.windowMs) };
          if (b.burnRate === null) this.metrics.burnRate.remove(labels);
          else this.metrics.burnRate.set(labels, b.burnRate);
        }
      }
      out.push(this.buildStatus(s, nowMs, snap, s.alerts));
    }
    this.lastStatus = out;
    return out;
  }

  /** Current status: computed at `nowMs` from the buckets and the alert states, without advancing them. */
  status(nowMs?: number): SloStatus[] {
    if (nowMs === undefined) return this.lastStatus;
    return this.slos.map((s) => this.buildStatus(s, nowMs, this.snapshot(s, nowMs), s.alerts));
  }

  private emit(s: SloRuntime, severity: string, state: 'firing' | 'resolved', sinceMs: number | null, nowMs: number, snap: ReturnType<SloEngine['snapshot']>): void {
    this.metrics?.alertTransitions.inc({ slo: s.spec.name, severity, state });
    if (!this.onAlert) return;
    const event: SloAlertEvent = {
      schema: SLO_ALERT_SCHEMA,
      time: new Date(nowMs).toISOString(),
      slo: s.spec.name,
      service: s.spec.service,
      sli: s.spec.sli.type,
      severity,
      state,
      since: sinceMs === null ? null : new Date(sinceMs).toISOString(),
      objective: s.spec.objective,
      period: formatDuration(s.spec.periodMs),
      error_budget_remaining: snap.remaining,
      windows: snap.decisions.filter((d) => d.window.severity === severity).map(windowReport),
      labels: { ...s.spec.labels, severity },
    };
    this.onAlert(event);
  }

  /** Serialisable state: non-empty buckets only, so its size is bounded by the rings. */
  toState(nowMs: number = Date.now()): PersistedState {
    const slos: Record<string, PersistedSlo> = {};
    for (const s of this.slos) {
      slos[s.spec.name] = {
        fingerprint: s.fingerprint,
        bucketMs: s.geometry.bucketMs,
        coarseMs: s.geometry.coarseMs,
        fine: s.fine.entries(),
        coarse: s.coarse?.entries() ?? [],
        alerts: Object.fromEntries(s.alerts),
      };
    }
    return { schema: 'llmslo.slo_state/v1', saved_at: new Date(nowMs).toISOString(), slos };
  }

  /** Writes the state atomically to `path`. */
  async save(path: string, nowMs: number = Date.now()): Promise<void> {
    await saveStateFile(path, this.toState(nowMs));
  }

  /** Loads state from `path` if it exists (a missing file is a fresh start); throws StateFileError on a corrupt file. */
  async load(path: string): Promise<{ restored: string[]; skipped: string[] }> {
    const state = await loadStateFile(path);
    return state ? this.restoreState(state) : { restored: [], skipped: [] };
  }

  /**
   * Restores buckets and alert states saved by `toState`. SLOs whose SLI/selector or bucket
   * geometry changed start empty (their old counts would mean something else); returns the
   * names of those that were restored and those that were not.
   */
  restoreState(state: PersistedState): { restored: string[]; skipped: string[] } {
    const restored: string[] = [];
    const skipped: string[] = [];
    for (const s of this.slos) {
      const p = state.slos[s.spec.name];
      if (!p) continue;
      if (p.fingerprint !== s.fingerprint || p.bucketMs !== s.geometry.bucketMs || p.coarseMs !== s.geometry.coarseMs) {
        skipped.push(s.spec.name);
        continue;
      }
      for (const [i, g, b] of p.fine) s.fine.restore(i, g, b);
      if (s.coarse) for (const [i, g, b] of p.coarse) s.coarse.restore(i, g, b);
      for (const { severity } of s.severities) {
        const a = p.alerts[severity];
        const time = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
        if (a && (a.phase === 'inactive' || a.phase === 'pending' || a.phase === 'firing') && time(a.activeSinceMs) && time(a.firingSinceMs)) {
          s.alerts.set(severity, { phase: a.phase, activeSinceMs: a.activeSinceMs, firingSinceMs: a.firingSinceMs });
        }
      }
      restored.push(s.spec.name);
    }
    return { restored, skipped };
  }
}

function windowReport(d: WindowDecision): SloAlertWindowReport {
  return {
    long: formatDuration(d.window.longMs),
    short: formatDuration(d.window.shortMs),
    factor: d.window.factor,
    long_burn_rate: d.long.burnRate,
    short_burn_rate: d.short.burnRate,
    long_events: d.long.total,
    short_events: d.short.total,
    active: d.active,
  };
}
