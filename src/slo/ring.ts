// Fixed-size ring of good/bad counters per time bucket. Memory is set at construction and
// never grows with traffic. Slots are validated lazily by the absolute bucket index they hold,
// so a quiet period needs no clean-up pass and reads never see stale counts.

export interface WindowCounts {
  good: number;
  bad: number;
}

export class BucketRing {
  private readonly idx: Float64Array;
  private readonly good: Float64Array;
  private readonly bad: Float64Array;

  constructor(
    readonly bucketMs: number,
    readonly length: number,
  ) {
    if (!(bucketMs > 0 && Number.isInteger(bucketMs)) || !(length > 0 && Number.isInteger(length))) throw new Error(`BucketRing: bad geometry ${bucketMs}ms x ${length}`);
    this.idx = new Float64Array(length).fill(-1);
    this.good = new Float64Array(length);
    this.bad = new Float64Array(length);
  }

  /** Bucket index holding time `ms`: bucket i covers [i·bucketMs, (i+1)·bucketMs). */
  indexOf(ms: number): number {
    return Math.floor(ms / this.bucketMs);
  }

  /** Adds counts at time `ms`. Returns false when the slot already holds a newer bucket (too old to keep). */
  add(ms: number, good: number, bad: number): boolean {
    const i = this.indexOf(ms);
    const slot = ((i % this.length) + this.length) % this.length;
    const held = this.idx[slot]!;
    if (held > i) return false;
    if (held < i) {
      this.idx[slot] = i;
      this.good[slot] = 0;
      this.bad[slot] = 0;
    }
    this.good[slot]! += good;
    this.bad[slot]! += bad;
    return true;
  }

  /**
   * Sums the `n` buckets ending with the one holding the instant just before `endMs`, so that at a
   * bucket-aligned time T the window is exactly [T − n·bucketMs, T) — as Prometheus sees a counter
   * scraped at T.
   */
  sum(endMs: number, n: number): WindowCounts {
    const last = Math.ceil(endMs / this.bucketMs) - 1;
    let good = 0;
    let bad = 0;
    const count = Math.min(n, this.length);
    for (let i = last - count + 1; i <= last; i++) {
      const slot = ((i % this.length) + this.length) % this.length;
      if (this.idx[slot] === i) {
        good += this.good[slot]!;
        bad += this.bad[slot]!;
      }
    }
    return { good, bad };
  }

  /** Non-empty buckets as [index, good, bad], for persistence. */
  entries(): [number, number, number][] {
    const out: [number, number, number][] = [];
    for (let s = 0; s < this.length; s++) if (this.idx[s]! >= 0 && (this.good[s]! > 0 || this.bad[s]! > 0)) out.push([this.idx[s]!, this.good[s]!, this.bad[s]!]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** Restores a bucket by index (used when loading persisted state). */
  restore(index: number, good: number, bad: number): void {
    this.add(index * this.bucketMs, good, bad);
  }
}
