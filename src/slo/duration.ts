// Durations as SLO specs and Prometheus write them: an integer and a unit (`90s`, `5m`, `28d`).
// OpenSLO also allows M (month = 30d), Q (quarter = 90d) and Y (year = 365d) for time windows.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  Q: 90 * 86_400_000,
  Y: 365 * 86_400_000,
};

/** Parses `<int><unit>` into milliseconds; returns an error message instead of throwing. */
export function parseDuration(text: unknown, allowZero = false): { ok: true; ms: number } | { ok: false; error: string } {
  if (typeof text !== 'string') return { ok: false, error: `must be a duration string like '5m' or '28d', got ${describe(text)}` };
  const m = /^(\d+)(ms|s|m|h|d|w|M|Q|Y)$/.exec(text.trim());
  if (!m) return { ok: false, error: `must be a duration like '30s', '5m', '1h', '28d' (integer and unit ms|s|m|h|d|w|M|Q|Y), got '${text}'` };
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if ((allowZero ? ms < 0 : ms <= 0) || !Number.isSafeInteger(ms)) return { ok: false, error: `must be a positive duration, got '${text}'` };
  return { ok: true, ms };
}

/** Formats milliseconds as the shortest exact Prometheus duration (`1d`, `90s`, `1500ms`). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', UNIT_MS.d!], ['h', UNIT_MS.h!], ['m', UNIT_MS.m!], ['s', UNIT_MS.s!]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Short human rendering of a value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 57)}...` : v}'`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
