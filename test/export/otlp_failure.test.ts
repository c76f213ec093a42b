// Export failures: a receiver that answers 503 (retryable) or 500 (not), or is down. Retries are
// bounded, what fails is counted, the queue never grows past its bound, the agent never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOutputs } from '../../src/export/outputs.ts';
import { BoundedExportQueue } from '../../src/export/queue.ts';
import type { LlmCallRecord } from '../../src/llm/records.ts';
import { parseExposition, replayFixture, sumOf } from './helpers.ts';
import { startReceiver } from './otlp_receiver.ts';

const records = replayFixture().records.filter((r): r is LlmCallRecord => r.schema === 'llmslo.llm_call/v1' && r.observed_side === 'client');

test('503 with Retry-After: retried at most 5 times per batch, then counted as failed', async () => {
  const rx = await startReceiver();
  rx.status = 503;
  rx.retryAfter = '0';
  const out = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, logs: 'none', metricIntervalMs: 60_000, timeoutMs: 5000, queue: { maxBatch: 10, delayMs: 20 } } });
  for (const r of records) out.onRecord(r); // 30 spans -> 3 batches
  await out.flush();
  const s = out.stats().otlp!;
  assert.equal(s.traces.batches, 3);
  assert.equal(rx.requests.traces, 3 * 6, 'one attempt + 5 retries per batch');
  assert.equal(s.traces.failed, 30);
  assert.equal(s.traces.exported, 0);
  assert.ok(rx.requests.metrics >= 1 && rx.requests.metrics <= 6);
  assert.ok(s.metrics.failedExports >= 1);
  assert.match(s.lastErrors.traces ?? '', /./);
  // the failure is visible on /metrics too
  const e = parseExposition(await out.metricsText());
  assert.equal(sumOf(e, 'llmslo_export_items_total', { llmslo_signal: 'traces', llmslo_result: 'failed' }), 30);
  // the receiver recovers: new spans go through
  rx.status = 200;
  for (const r of records.slice(0, 5)) out.onRecord(r);
  await out.flush();
  assert.equal(out.stats().otlp!.traces.exported, 5);
  assert.equal(rx.spans.length, 5);
  await out.shutdown();
  await rx.close();
});

test('500 is not retried (OTLP spec): one request per batch, counted', async () => {
  const rx = await startReceiver();
  rx.status = 500;
  const out = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, metrics: false, metricIntervalMs: 60_000, queue: { maxBatch: 100, delayMs: 20 } } });
  for (const r of records) out.onRecord(r);
  await out.flush();
  const s = out.stats().otlp!;
  assert.equal(rx.requests.traces, 1);
  assert.equal(rx.requests.logs, 1);
  assert.equal(s.traces.failed, 30);
  assert.equal(s.logs.failed, 30);
  assert.match(s.lastErrors.traces ?? '', /Internal Server Error|500/);
  await out.shutdown();
  await rx.close();
});

test('receiver down: bounded by the export timeout, counted, shutdown returns', async () => {
  // a port that was just free: connections are refused
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const out = await createOutputs({ prometheus: false, otlp: { endpoint: `http://127.0.0.1:${port}`, timeoutMs: 800, metricIntervalMs: 60_000, queue: { delayMs: 10 } } });
  for (const r of records) out.onRecord(r);
  await out.flush();
  const s = out.stats().otlp!;
  assert.equal(s.traces.failed, 30);
  assert.equal(s.logs.failed, 30);
  assert.ok(s.metrics.failedExports >= 1);
  assert.match(s.lastErrors.traces ?? '', /ECONNREFUSED|connect/i);
  await out.shutdown();
});

test('queue full while the receiver is slow: drops counted, queue and memory bounded', async () => {
  // a receiver that never answers during the burst
  const held: Array<() => void> = [];
  const srv = createServer((req, res) => {
    req.resume();
    held.push(() => res.writeHead(200).end());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const out = await createOutputs({
    prometheus: false,
    otlp: { endpoint: `http://127.0.0.1:${port}`, metrics: false, logs: 'none', timeoutMs: 30_000, queue: { maxQueue: 200, maxBatch: 50, delayMs: 10 } },
  });
  const N = 20_000;
  const heap0 = process.memoryUsage().heapUsed;
  let maxQueued = 0;
  for (let i = 0; i < N; i++) {
    out.onRecord(records[i % records.length]!);
    if (i % 500 === 0) {
      maxQueued = Math.max(maxQueued, out.stats().otlp!.traces.queued);
      await new Promise((r) => setImmediate(r));
    }
  }
  const s = out.stats().otlp!.traces;
  assert.ok(maxQueued <= 200, `queued ${maxQueued}`);
  assert.equal(s.enqueued + s.droppedQueueFull, N);
  assert.ok(s.droppedQueueFull >= N - 200 - 50, `dropped ${s.droppedQueueFull}`);
  const grew = process.memoryUsage().heapUsed - heap0;
  assert.ok(grew < 64 * 1024 * 1024, `heap grew ${(grew / 1048576).toFixed(1)} MiB for ${N} records`);
  // let the receiver answer; the agent drains what it kept and stops
  const release = setInterval(() => held.splice(0).forEach((f) => f()), 5);
  await out.shutdown();
  clearInterval(release);
  held.splice(0).forEach((f) => f());
  const after = out.stats().otlp!.traces;
  assert.equal(after.exported + after.failed + after.droppedShutdown, after.enqueued);
  assert.ok(after.exported > 0);
  await new Promise<void>((r) => {
    srv.close(() => r());
    srv.closeAllConnections();
  });
});

test('BoundedExportQueue: an exporter that throws is a counted failure, not a crash', async () => {
  const q = new BoundedExportQueue<number>(async () => {
    throw new Error('boom');
  }, { maxQueue: 10, maxBatch: 4, delayMs: 1 });
  for (let i = 0; i < 15; i++) q.push(i);
  await q.close();
  // one batch of 4 left at once; 10 more fit while it is in flight; the 15th is dropped
  assert.equal(q.counters.droppedQueueFull, 1);
  assert.equal(q.counters.enqueued, 14);
  assert.equal(q.counters.failed, 14);
  assert.equal(q.counters.exported, 0);
  q.push(1);
  assert.equal(q.counters.droppedShutdown, 1);
});
