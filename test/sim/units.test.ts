import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, sample, meanOf, parseDistribution } from '../../src/sim/random.ts';
import { TimerWheel } from '../../src/sim/timer-wheel.ts';
import { monoMs } from '../../src/sim/clock.ts';
import { embed, VOCABULARY, countInputTokens } from '../../src/sim/text.ts';
import { encode as encodeCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { EventSplitter, classify } from '../../src/load/wire.ts';
import { parseTraceparent, formatTraceparent, childOf } from '../../src/sim/traceparent.ts';

test('distribution samples have the documented means', () => {
  const rng = new Rng(11);
  for (const raw of [{ dist: 'uniform', min: 10, max: 30 }, { dist: 'normal', mean: 50, sd: 5 }, { dist: 'lognormal', median: 100, sigma: 0.3 }, { dist: 'exponential', mean: 20 }, 7]) {
    const spec = parseDistribution('x', raw);
    let sum = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) sum += sample(spec, rng);
    const mean = meanOf(spec);
    assert.ok(Math.abs(sum / n - mean) / mean < 0.03, `${JSON.stringify(raw)}: ${sum / n} vs ${mean}`);
  }
  const clamped = parseDistribution('x', { dist: 'normal', mean: 10, sd: 100, clamp: [5, 15] });
  for (let i = 0; i < 1000; i++) {
    const v = sample(clamped, rng);
    assert.ok(v >= 5 && v <= 15);
  }
});

test('timer wheel fires in time order, never early, with one timer', async () => {
  const wheel = new TimerWheel();
  const t0 = monoMs();
  const fired: Array<[number, number]> = [];
  const offsets = [30, 5, 20, 5.2, 1, 15, 25, 10];
  await Promise.all(offsets.map((o) => wheel.until(t0 + o).then(() => fired.push([o, monoMs() - t0]))));
  assert.deepEqual(fired.map((f) => f[0]), [...offsets].sort((a, b) => a - b));
  for (const [o, at] of fired) assert.ok(at >= o - 0.5, `fired at ${at} for ${o}`);
  assert.equal(wheel.pending, 0);
});

test('vocabulary words are single tokens in o200k and cl100k; counts are exact', () => {
  for (const w of VOCABULARY) assert.equal(encodeCl100k(w).length, 1, w);
  assert.equal(countInputTokens(' the model data'), 3);
});

test('embeddings: unit length and similar texts are closer', () => {
  const a = embed('vector search latency in the cluster', 128);
  const b = embed('latency of vector search', 128);
  const c = embed('chocolate cake recipe', 128);
  const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
  assert.ok(Math.abs(dot(a, a) - 1) < 1e-4);
  assert.ok(dot(a, b) > dot(a, c) + 0.2);
});

test('SSE splitter handles LF, CRLF, comments and multi-line data', () => {
  const s = new EventSplitter(false);
  const evs = [...s.push(': keepalive\n\nevent: x\ndata: {"a"'), ...s.push(':1}\n\ndata: one\r\ndata: two\r\n\r\ndata:[DONE]\n\n')];
  assert.deepEqual(evs, [{ event: 'x', data: '{"a":1}' }, { event: null, data: 'one\ntwo' }, { event: null, data: '[DONE]' }]);
  assert.deepEqual(classify('messages', 'error', '{"type":"error","error":{"type":"overloaded_error"}}'), { content: false, errorCode: 'overloaded_error', terminal: true });
});

test('traceparent parse/format/child', () => {
  const p = parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.ok(p);
  assert.equal(formatTraceparent(p), '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  const c = childOf(p);
  assert.equal(c.traceId, p.traceId);
  assert.notEqual(c.spanId, p.spanId);
  assert.equal(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01'), null);
  assert.equal(parseTraceparent('garbage'), null);
});

test('timer wheel: a far-future wake-up neither fires early nor spins', async () => {
  const wheel = new TimerWheel();
  let fired = false;
  wheel.at(monoMs() + 1e12, () => (fired = true));
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 200));
  const used = process.cpuUsage(before);
  assert.equal(fired, false);
  assert.ok(used.user + used.system < 150_000, `idle wheel used ${used.user + used.system} us of CPU in 200 ms`);
  wheel.stop();
});
