// Multi-window multi-burn-rate catalogs (SRE Workbook, as Sloth encodes them).
// factor = budget% consumed × period / long window: 30d gives 14.4/6/3/1, 28d 13.44/5.6/2.8/0.933.
import type { AlertWindow } from './spec.ts';

const H = 3_600_000;
const M = 60_000;
const DAY = 24 * H;

interface CatalogEntry {
  severity: 'page' | 'ticket';
  budgetPercent: number;
  longMs: number;
  shortMs: number;
}

/** The Workbook's windows for a 30d period; Sloth adds the 1d/2h ticket. */
const WORKBOOK_30D: readonly CatalogEntry[] = [
  { severity: 'page', budgetPercent: 2, longMs: 1 * H, shortMs: 5 * M },
  { severity: 'page', budgetPercent: 5, longMs: 6 * H, shortMs: 30 * M },
  { severity: 'ticket', budgetPercent: 10, longMs: 1 * DAY, shortMs: 2 * H },
  { severity: 'ticket', budgetPercent: 10, longMs: 3 * DAY, shortMs: 6 * H },
];

/** Burn-rate factor that consumes `budgetPercent` of the budget of `periodMs` within `longMs`. Integer maths first, one rounding. */
export function burnFactor(budgetPercent: number, periodMs: number, longMs: number): number {
  return (budgetPercent * periodMs) / (100 * longMs);
}

/**
 * Default alert windows for a period. 28d and 30d use the Workbook windows unchanged (Sloth's
 * catalogs). Other periods scale the windows linearly with the period (as Pyrra does), rounded to
 * whole seconds, which keeps the factors near 14.4/6/3/1.
 */
export function defaultAlertWindows(periodMs: number): AlertWindow[] {
  const scale = periodMs === 28 * DAY || periodMs === 30 * DAY ? 1 : periodMs / (30 * DAY);
  return WORKBOOK_30D.map((w) => {
    const longMs = Math.max(1000, Math.round((w.longMs * scale) / 1000) * 1000);
    const shortMs = Math.max(1000, Math.round((w.shortMs * scale) / 1000) * 1000);
    return { severity: w.severity, longMs, shortMs, factor: burnFactor(w.budgetPercent, periodMs, longMs), op: 'gt', forMs: 0 };
  });
}
