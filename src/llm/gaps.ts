// Inter-chunk gap distribution for one call with bounded memory: exact up to `cap` gaps, then a
// deterministic reservoir sample (so the same stream always gives the same record). Max is exact.
export class GapRecorder {
  // A plain array of doubles is stored unboxed; a small Float64Array per call would cost an
  // off-heap backing store (and its GC finalisation) for every call.
  private gaps: number[] = [];
  private n = 0;
  private seen = 0;
  private maxNs = 0;
  private rng = 0x9e3779b9;
  private lastNs: number | null = null;

  constructor(private readonly cap = 4096) {}

  /** A content chunk arrived at `tsNs`. */
  mark(tsNs: number): void {
    if (this.lastNs !== null) this.add(tsNs - this.lastNs);
    this.lastNs = tsNs;
  }

  private add(gapNs: number): void {
    const g = gapNs < 0 ? 0 : gapNs;
    if (g > this.maxNs) this.maxNs = g;
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

  /** Seconds: nearest-rank p50 / p95 and the exact max; null without gaps. */
  summary(): { p50: number; p95: number; max: number; count: number } | null {
    if (this.seen === 0) return null;
    const s = new Float64Array(this.gaps).sort(); // array-like copy (Float64Array.from iterates)
    const rank = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
    return { p50: rank(0.5) / 1e9, p95: rank(0.95) / 1e9, max: this.maxNs / 1e9, count: this.seen };
  }
}
