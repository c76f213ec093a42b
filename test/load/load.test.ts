// The load generator: every runner (openai, anthropic, fetch, python, curl) over TLS against
// the simulator; client ground truth joins the server truth by request id, on the same
// CLOCK_MONOTONIC; faults surface as each client's own error type; load stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startSim } from '../sim/helpers.ts';
import { generateTls } from '../../src/sim/tls.ts';
import { makeRunner } from '../../src/load/runners/index.ts';
import { runLoad } from '../../src/load/driver.ts';
import type { ClientRecord, RequestSpec, RunnerName, ApiName } from '../../src/load/types.ts';

function specFor(url: string, caFile: string | null, api: ApiName) {
  return (seq: number): RequestSpec => ({ seq, api, baseUrl: url, model: 'm', stream: true, includeUsage: true, maxTokens: 12, prompt: `question ${seq}`, timeoutS: 20, maxRetries: 0, traceparent: `00-${'ab'.repeat(16)}-${seq.toString(16).padStart(16, '0')}-01`, caFile });
}

test('all runners over TLS: ids, usage and monotonic timestamps agree with the server truth', async () => {
  const probe = await startSim();
  await probe.stop();
  const tls = generateTls(join(probe.dir, 'ca.pem'));
  const s = await startSim(undefined, tls);
  const caFile = join(probe.dir, 'ca.pem');
  const cases: Array<[RunnerName, ApiName]> = [
    ['openai', 'chat'],
    ['openai', 'responses'],
    ['anthropic', 'messages'],
    ['fetch', 'gemini'],
    ['python', 'chat'],
    ['python', 'ollama'],
    ['curl', 'messages'],
    ['curl', 'chat'],
  ];
  const records: ClientRecord[] = [];
  let base = 0;
  for (const [name, api] of cases) {
    const runner = await makeRunner(name, 4);
    const mk = specFor(s.url, caFile, api);
    const summary = await runLoad({ mode: 'closed', rate: 0, arrivals: 'uniform', concurrency: 3, count: 6, durationS: 60, maxInFlight: 10 }, runner, (i) => mk(base + i), (r) => records.push(r));
    base += 100;
    await runner.close();
    assert.equal(summary.ok, 6, `${name}/${api}: ${JSON.stringify(summary.error_types)} ${records.find((r) => !r.ok)?.error_message}`);
  }
  const truth = await s.stop();
  const byId = new Map(truth.map((r) => [r.request_id, r]));
  for (const c of records) {
    const t = byId.get(c.request_id ?? '');
    assert.ok(t, `${c.runner}/${c.api}: server truth for ${c.request_id}`);
    assert.equal(t.tls, true);
    assert.equal(t.traceparent, c.traceparent);
    assert.equal(c.output_tokens, t.planned_output_tokens, `${c.runner}/${c.api} output tokens`);
    assert.equal(c.content_chunks > 0, true);
    // Same CLOCK_MONOTONIC on both sides: causality must hold.
    assert.ok(c.start.mono_ns < t.received.mono_ns, `${c.runner}: client start before server receipt`);
    assert.ok(c.first_token && t.first_token && c.first_token.mono_ns > t.first_token.mono_ns, `${c.runner}: client sees the first token after the server sent it`);
    assert.ok(c.end.mono_ns >= t.end!.mono_ns - 1e6, `${c.runner}: client ends after the server`);
  }
  assert.deepEqual(new Set(records.map((r) => r.runner)), new Set(['openai', 'anthropic', 'fetch', 'python', 'curl']));
});

test('faults surface as each client library error type', async () => {
  const s = await startSim();
  const expected: Record<string, Partial<Record<RunnerName, string>>> = {
    rate_limited: { openai: 'RateLimitError', python: 'HTTPError', curl: 'HTTPError', fetch: 'HTTPError' },
    stream_error: { openai: 'APIError', python: 'StreamError', curl: 'StreamError', fetch: 'StreamError' },
    stream_interrupted: { openai: 'TypeError', python: 'IncompleteRead', curl: 'CURLE_PARTIAL_FILE', fetch: 'TypeError' },
    connection_reset: { openai: 'TypeError', python: 'ConnectionResetError', curl: 'CURLE_RECV_ERROR', fetch: 'TypeError' },
  };
  const runners = await Promise.all((['openai', 'python', 'curl', 'fetch'] as const).map((n) => makeRunner(n, 2)));
  let seq = 0;
  for (const [fault, byRunner] of Object.entries(expected)) {
    await s.control('DELETE', '/_sim/faults');
    await s.control('POST', '/_sim/faults', { fault, rate: 1, after_tokens: 2 });
    for (const r of runners) {
      const rec = await r.run(specFor(s.url, null, 'chat')(seq++));
      assert.equal(rec.ok, false);
      assert.equal(rec.error_type, byRunner[r.name], `${fault} via ${r.name}`);
      if (fault === 'connection_reset' && (r.name === 'openai' || r.name === 'fetch')) assert.equal(rec.error_code, 'ECONNRESET');
      if (fault === 'rate_limited') assert.equal(rec.status, 429);
      if (fault === 'stream_error') assert.equal(rec.status, 200);
    }
  }
  for (const r of runners) await r.close();
  await s.stop();
});

test('open loop is bounded by count, duration and max in-flight', async () => {
  const s = await startSim();
  const runner = await makeRunner('fetch');
  const mk = specFor(s.url, null, 'chat');
  const a = await runLoad({ mode: 'open', rate: 100, arrivals: 'poisson', concurrency: 1, count: 25, durationS: 30, maxInFlight: 100 }, runner, mk, () => undefined);
  assert.equal(a.sent, 25);
  assert.equal(a.ok, 25);
  // Every request stalls until the client gives up: max in-flight caps outstanding work.
  await s.control('POST', '/_sim/faults', { fault: 'stall', rate: 1, after_tokens: 0, delay_ms: 1500 });
  const b = await runLoad({ mode: 'open', rate: 50, arrivals: 'uniform', concurrency: 1, count: 1000, durationS: 0.6, maxInFlight: 5 }, runner, mk, () => undefined);
  assert.ok(b.sent <= 5, `sent ${b.sent}`);
  assert.ok(b.dropped > 10, `dropped ${b.dropped}`);
  assert.ok(b.sent + b.dropped < 40, 'stopped by duration, not count');
  await s.control('DELETE', '/_sim/faults');
  const c = await runLoad({ mode: 'closed', rate: 0, arrivals: 'uniform', concurrency: 4, count: 10_000, durationS: 0.5, maxInFlight: 5 }, runner, mk, () => undefined);
  assert.ok(c.done < 10_000 && c.done > 0);
  await runner.close();
  await s.stop();
});
