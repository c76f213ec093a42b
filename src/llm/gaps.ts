// Inter-chunk gap distribution for one call with bounded memory: exact up to `cap` gaps, then a
// deterministic reservoir sample (so the same stream always gives the same record). Count, sum,
// min, max and the per-bucket counts are exact for every gap.

/**
 * Bucket bounds (seconds) counted exactly per call: the GenAI semantic conventions' advisory
 * boundaries for gen_ai.client.operation.time_per_output_chunk, so that histogram is exact.
 */
export const CHUNK_GAP_BOUNDS_S: readonly number[] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const BOUNDS_NS = CHUNK_GAP_BOUNDS_S.map((b) => b * 1e9);

export interface GapSummary {
  p50: number;
  p95: number;
  max: number;
  min: number;
  sum: number;
  count: number;
  /** Per-bucket gap counts (not cumulative) for `bounds`; the last entry counts gaps above all bounds. */
  histogram: { bounds: number[]; counts: number[] };
}

export class GapRecorder {
  // A plain array of doubles is stored unboxed; a small Float64Array per call would cost an
  // off-heap backing store (and its GC finalisation) for every call.
  private gaps: number[] = [];
  private n = 0;
  private seen = 0;
  private maxNs = 0;
  private minNs = Infinity;
  private sumNs = 0;
  /** Allocated with the first gap (most calls are not streams). */
  private counts: number[] | null = null;
  private rng = 0x9e3779b9;
  /** -1 before the first chunk (not null: see LlmCallBuilder.lastBodyTs, a store per chunk). */
  private lastNs = -1;

  constructor(private readonly cap = 4096) {}

  /** A content chunk arrived at `tsNs`. */
  mark(tsNs: number): void {
    if (this.lastNs >= 0) this.add(tsNs - this.lastNs);
    this.lastNs = tsNs;
  }

  private add(gapNs: number): void {
    const g = gapNs < 0 ? 0 : gapNs;
    if (g > this.maxNs) this.maxNs = g;
    if (g < this.minNs) this.minNs = g;
    this.sumNs += g;
    // Prometheus `le` buckets: a gap equal to a bound belongs to it; gaps are mostly small
    let b = 0;
    while (b < BOUNDS_NS.length && g > BOUNDS_NS[b]!) b++;
    const counts = (this.counts ??= new Array<number>(BOUNDS_NS.length + 1).fill(0));
    counts[b]!++;
    this.seen++;
    if (this.n < this.cap) {
      this.gaps.push(g);
      this.n++;
      return;
    }
    // xorshift32: deterministic per call
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    const j = this.rng % this.seen;
    if (j < this.cap) this.gaps[j] = g;
  }

  get count(): number {
    return this.seen;
  }

  /**
   * Seconds: nearest-rank p50 / p95, exact min / max / sum and bucket counts; null without gaps.
   * Called once, when the call ends: the quantiles are selected in place (the sample's order is
   * not needed afterwards), linear time instead of a sort of a copy.
   */
  summary(): GapSummary | null {
    if (this.seen === 0) return null;
    const a = this.gaps;
    const n = a.length;
    const rank = (p: number): number => Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
    const i50 = rank(0.5);
    const i95 = rank(0.95);
    select(a, 0, n - 1, i50);
    // everything above i50 is >= a[i50]: p95 lies in that part
    select(a, i50, n - 1, i95);
    return {
      p50: a[i50]! / 1e9,
      p95: a[i95]! / 1e9,
      max: this.maxNs / 1e9,
      min: this.minNs / 1e9,
      sum: this.sumNs / 1e9,
      count: this.seen,
      histogram: { bounds: CHUNK_GAP_BOUNDS_S.slice(), counts: this.counts!.slice() },
    };
  }
}

/**
 * Hoare's selection (quickselect, median-of-three pivot): reorders a[lo..hi] so that a[k] is
 * the value a sort would put there, everything before it <= and everything after it >= it.
 */
function select(a: number[], lo: number, hi: number, k: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as the pivot: sorted inputs (steady streams) stay linear
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(a: number[], i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
