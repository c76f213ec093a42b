// Decides, for one normalised record, whether it is a good or bad event of an SLO, or not an
// event of it at all. Thresholds compare the record's exact value (no histogram buckets).
import type { NormalizedRecord } from './record.ts';
import type { SliSpec, SloSpec, ThresholdOp } from './spec.ts';
import { ERROR_CLASSES } from './spec.ts';

export type Verdict = 'good' | 'bad' | null;

const KNOWN_CLASSES: ReadonlySet<string> = new Set(ERROR_CLASSES);

function compare(value: number, op: ThresholdOp, threshold: number): boolean {
  switch (op) {
    case 'lte': return value <= threshold;
    case 'lt': return value < threshold;
    case 'gte': return value >= threshold;
    case 'gt': return value > threshold;
  }
}

export function matchesSelector(rec: NormalizedRecord, selector: SloSpec['selector']): boolean {
  for (const [key, values] of Object.entries(selector) as [keyof SloSpec['selector'], string[]][]) {
    const v = rec.labels[key];
    if (v === undefined || !values.includes(v)) return false;
  }
  return true;
}

/** Availability: the error class decides; an unknown class counts as `_OTHER`. Server requests also fail on 5xx. */
function availability(rec: NormalizedRecord, bad: readonly string[]): Verdict {
  if (rec.source === 'server_request' && rec.statusCode !== null && rec.statusCode >= 500) return 'bad';
  if (rec.errorType === null) return 'good';
  const cls = KNOWN_CLASSES.has(rec.errorType) ? rec.errorType : '_OTHER';
  return bad.includes(cls) ? 'bad' : 'good';
}

export function classify(rec: NormalizedRecord, sli: SliSpec): Verdict {
  if (rec.source !== sli.source) return null;
  if (sli.type === 'availability') return availability(rec, sli.badErrorTypes);
  const failed = rec.errorType !== null || (rec.source === 'server_request' && rec.statusCode !== null && rec.statusCode >= 500);
  if (failed) return sli.includeErrors ? 'bad' : null;
  const value = rec.values[sli.field];
  // No value (e.g. a non-streamed call has no TTFT, one output token has no TPOT): not an event of this SLI.
  if (value === undefined) return null;
  return compare(value, sli.op, sli.threshold) ? 'good' : 'bad';
}

export function classifyForSlo(rec: NormalizedRecord, slo: SloSpec): Verdict {
  if (rec.source !== slo.sli.source || !matchesSelector(rec, slo.selector)) return null;
  return classify(rec, slo.sli);
}
