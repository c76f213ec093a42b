// Per-call gap statistics: bucket counts, sum, min and max are exact for every gap (the
// quantiles come from a bounded reservoir past 4,096 gaps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_GAP_BOUNDS_S, GapRecorder } from '../../src/llm/gaps.ts';

test('bucket counts, sum, min and max equal a brute-force count, bounds inclusive (le)', () => {
  const boundsNs = CHUNK_GAP_BOUNDS_S.map((b) => Math.round(b * 1e9));
  const gapNs = fc.oneof(fc.integer({ min: 0, max: 100_000_000_000 }), fc.constantFrom(...boundsNs), fc.integer({ min: 0, max: 50_000_000 }));
  fc.assert(
    fc.property(fc.array(gapNs, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (gaps, cap) => {
      const g = new GapRecorder(cap);
      let t = 1_000_000;
      g.mark(t);
      for (const d of gaps) g.mark((t += d));
      const s = g.summary()!;
      const want = new Array<number>(boundsNs.length + 1).fill(0);
      for (const d of gaps) {
        const i = boundsNs.findIndex((b) => d <= b);
        want[i < 0 ? boundsNs.length : i]!++;
      }
      assert.deepEqual(s.histogram.counts, want);
      assert.deepEqual(s.histogram.bounds, CHUNK_GAP_BOUNDS_S);
      assert.equal(s.count, gaps.length);
      assert.ok(Math.abs(s.sum - gaps.reduce((a, b) => a + b, 0) / 1e9) < 1e-6);
      assert.equal(s.min, Math.min(...gaps) / 1e9);
      assert.equal(s.max, Math.max(...gaps) / 1e9);
    }),
    { numRuns: 500 },
  );
});

test('no gaps, no summary', () => {
  const g = new GapRecorder();
  assert.equal(g.summary(), null);
  g.mark(5);
  assert.equal(g.summary(), null, 'one chunk has no gap');
});

test('p50 and p95 are the nearest-rank quantiles of a sort (below the reservoir cap)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 2_000_000_000 }), { minLength: 1, maxLength: 400 }), (gaps) => {
      const g = new GapRecorder();
      let t = 0;
      g.mark(t);
      for (const d of gaps) g.mark((t += d));
      const s = g.summary()!;
      const sorted = [...gaps].sort((a, b) => a - b);
      const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! / 1e9;
      assert.equal(s.p50, at(0.5));
      assert.equal(s.p95, at(0.95));
    }),
    { numRuns: 1000 },
  );
});
