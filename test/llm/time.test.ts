// Record times: the cached RFC 3339 formatter must agree with Date#toISOString everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rfc3339 } from '../../src/llm/call.ts';

test('rfc3339 equals toISOString for any time (and the epoch for unusable ones)', () => {
  const iso = (ms: number): string => new Date(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : 0).toISOString();
  for (const ms of [0, 1, 999.9, -1, -1500.5, 1733339142819.4, 8.64e15, -8.64e15, 8.64e15 + 1, NaN, Infinity]) assert.equal(rfc3339(ms), iso(ms), String(ms));
  fc.assert(
    fc.property(fc.double({ min: -1e13, max: 4e12, noNaN: true }), fc.double({ min: 0, max: 3000, noNaN: true }), (ms, step) => {
      // consecutive calls share the cached second: check both orders
      assert.equal(rfc3339(ms), iso(ms));
      assert.equal(rfc3339(ms + step), iso(ms + step));
    }),
    { numRuns: 3000 },
  );
});
