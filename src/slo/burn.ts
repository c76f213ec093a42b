// Burn-rate maths and alert decisions as pure functions of counts. The engine and the
// Prometheus rule generator share these definitions, so both decide the same way:
//   error ratio e(w) = bad/total over w;  burn(w) = e(w) / (1 − objective)
//   a window pair fires when both e(long) and e(short) exceed factor × (1 − objective)
//   and both windows hold at least minEvents events (too little data never fires).
import type { AlertWindow } from './spec.ts';
import type { WindowCounts } from './ring.ts';

export interface WindowStat {
  windowMs: number;
  good: number;
  bad: number;
  total: number;
  errorRatio: number | null;
  burnRate: number | null;
}

export function errorBudget(objective: number): number {
  return 1 - objective;
}

export function windowStat(windowMs: number, counts: WindowCounts, objective: number): WindowStat {
  const total = counts.good + counts.bad;
  const errorRatio = total > 0 ? counts.bad / total : null;
  return { windowMs, good: counts.good, bad: counts.bad, total, errorRatio, burnRate: errorRatio === null ? null : errorRatio / errorBudget(objective) };
}

/** Error-ratio threshold of a window pair. Computed once, in this exact order, by engine and rule generator alike. */
export function errorRatioThreshold(factor: number, objective: number): number {
  return factor * errorBudget(objective);
}

function exceeds(stat: WindowStat, threshold: number, op: 'gt' | 'gte'): boolean {
  if (stat.errorRatio === null) return false;
  return op === 'gt' ? stat.errorRatio > threshold : stat.errorRatio >= threshold;
}

export interface WindowDecision {
  window: AlertWindow;
  long: WindowStat;
  short: WindowStat;
  /** The burn condition holds in both windows, each with enough data. */
  active: boolean;
}

export function decideWindow(window: AlertWindow, long: WindowStat, short: WindowStat, objective: number, minEvents: number): WindowDecision {
  const threshold = errorRatioThreshold(window.factor, objective);
  const enough = long.total >= minEvents && short.total >= minEvents;
  return { window, long, short, active: enough && exceeds(long, threshold, window.op) && exceeds(short, threshold, window.op) };
}

/**
 * Share of the period's error budget left: 1 − burn rate over the period = 1 − (bad/total)/budget,
 * in the same operation order as the generated recording rule. 1 with no events; negative once overspent.
 */
export function budgetRemaining(period: WindowCounts, objective: number): number {
  const total = period.good + period.bad;
  if (total === 0) return 1;
  return 1 - period.bad / total / errorBudget(objective);
}

export type AlertPhase = 'inactive' | 'pending' | 'firing';

export interface AlertState {
  phase: AlertPhase;
  /** When the condition started holding (pending or firing), ms. */
  activeSinceMs: number | null;
  /** When it started firing, ms. */
  firingSinceMs: number | null;
}

export const INACTIVE: AlertState = { phase: 'inactive', activeSinceMs: null, firingSinceMs: null };

/**
 * Advances one alert's state the way Prometheus does for an alerting rule with `for`:
 * pending from the first evaluation where the condition holds, firing once it has held `forMs`,
 * back to inactive as soon as it stops holding.
 */
export function stepAlert(prev: AlertState, conditionHolds: boolean, nowMs: number, forMs: number): AlertState {
  if (!conditionHolds) return INACTIVE;
  const since = prev.phase === 'inactive' ? nowMs : (prev.activeSinceMs ?? nowMs);
  if (prev.phase === 'firing') return prev;
  if (nowMs - since >= forMs) return { phase: 'firing', activeSinceMs: since, firingSinceMs: nowMs };
  return { phase: 'pending', activeSinceMs: since, firingSinceMs: null };
}
