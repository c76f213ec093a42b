// The simulator's timing follows its profile: checked statistically on the server-side
// ground truth (medians with generous tolerance, counts), never as a single timed assertion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim } from './helpers.ts';

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function streamChat(url: string, model: string): Promise<void> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream: true }) });
  await res.text();
}

test('TTFT and inter-token gaps follow the profile distributions', async () => {
  const s = await startSim({
    seed: 3,
    defaults: {
      ttft_ms: { dist: 'lognormal', median: 60, sigma: 0.25 },
      itl_ms: { dist: 'constant', value: 8 },
      output_tokens: { dist: 'constant', value: 12 },
      headers_ms: 1,
    },
  });
  const N = 60;
  for (let i = 0; i < N; i += 10) await Promise.all(Array.from({ length: 10 }, () => streamChat(s.url, 'timing-model')));
  const truth = (await s.stop()).filter((r) => r.outcome === 'ok');
  assert.equal(truth.length, N);
  const ttfts = truth.map((r) => (r.first_token!.mono_ns - r.slot!.mono_ns) / 1e6);
  const gaps: number[] = [];
  for (const r of truth) {
    const content = r.chunks.filter((c) => c.kind === 'content');
    assert.equal(content.length, 12);
    for (let i = 1; i < content.length; i++) gaps.push((content[i].mono_ns - content[i - 1].mono_ns) / 1e6);
  }
  const mTtft = median(ttfts);
  const mGap = median(gaps);
  // Timers can only fire late, never early: lower bounds are tight, upper bounds generous.
  assert.ok(mTtft > 60 * 0.85 && mTtft < 60 * 1.6, `median TTFT ${mTtft.toFixed(1)} ms ~ 60 ms`);
  assert.ok(mGap > 8 * 0.75 && mGap < 8 * 2.5, `median gap ${mGap.toFixed(1)} ms ~ 8 ms`);
  // The lognormal spread shows up: the 90th percentile sits clearly above the 10th.
  const sorted = [...ttfts].sort((a, b) => a - b);
  assert.ok(sorted[Math.floor(N * 0.9)] / sorted[Math.floor(N * 0.1)] > 1.2, 'TTFT is spread, not constant');
});

test('a model server with N slots queues the rest', async () => {
  const s = await startSim({
    defaults: { ttft_ms: 30, itl_ms: 2, output_tokens: 5, headers_ms: 0, slots: 2, max_queue: 3 },
  });
  // 7 at once: 2 run, 3 wait in the queue, 2 are refused.
  const statuses = await Promise.all(
    Array.from({ length: 7 }, () => fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'q', messages: [{ role: 'user', content: 'hi' }], stream: true }) }).then(async (r) => (await r.text(), r.status))),
  );
  const truth = await s.stop();
  assert.equal(statuses.filter((x) => x === 200).length, 5);
  assert.equal(statuses.filter((x) => x === 503).length, 2, 'queue overflow answered as overloaded');
  const served = truth.filter((r) => r.outcome === 'ok');
  assert.ok(served.filter((r) => (r.queue_ms ?? 0) > 10).length >= 3, 'at least three waited for a slot');
  // Never more than 2 generating at once.
  const events = served.flatMap((r) => [[r.slot!.mono_ns, 1], [r.end!.mono_ns, -1]] as Array<[number, number]>).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let peak = 0;
  for (const [, d] of events) peak = Math.max(peak, (running += d));
  assert.equal(peak, 2);
  assert.equal(truth.filter((r) => r.fault === 'queue_full').length, 2);
});

test('fault rate applies to about that share of requests', async () => {
  const s = await startSim();
  await s.control('POST', '/_sim/faults', { fault: 'server_error', rate: 0.3, model: 'flaky' });
  const N = 200;
  const res = await Promise.all(Array.from({ length: N }, (_, i) => fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: i % 2 ? 'flaky' : 'solid', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }) }).then(async (r) => (await r.text(), r.status))));
  await s.stop();
  const flaky500 = res.filter((st, i) => i % 2 === 1 && st === 500).length;
  const solid500 = res.filter((st, i) => i % 2 === 0 && st === 500).length;
  assert.equal(solid500, 0, 'model filter respected');
  // Binomial(100, 0.3): mean 30, sd 4.6 -> +-4 sd.
  assert.ok(flaky500 >= 12 && flaky500 <= 48, `got ${flaky500}/100`);
});
