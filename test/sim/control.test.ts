// Bad control requests, profiles and API bodies get clear 400s; the simulator keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim } from './helpers.ts';
import { parseProfile, loadProfileFile } from '../../src/sim/profile.ts';
import { SimInputError } from '../../src/sim/errors.ts';

test('control API rejects bad fault requests with one-line 400 messages', async () => {
  const s = await startSim();
  const cases: Array<[unknown, RegExp]> = [
    ['{nope', /not valid JSON/],
    [{ fault: 'meteor', rate: 0.5 }, /unknown fault "meteor"/],
    [{ fault: 'rate_limited', rate: 1.5 }, /rate: must be a number in \[0, 1\]/],
    [{ fault: 'rate_limited', rate: '0.5' }, /rate: must be a number/],
    [{ fault: 'stall', for_s: -1 }, /for_s: must be a number >= 0/],
    [{ fault: 'stall', colour: 'red' }, /unknown field 'colour'/],
    [{ fault: 'overloaded', status: 503 }, /only server_error takes a status/],
    [{ fault: 'stream_error', error: 'boom' }, /only stream_error takes an error, one of/],
    [[1, 2], /must be a JSON object/],
    [42, /must be a JSON object/],
  ];
  for (const [body, re] of cases) {
    const r = await s.control('POST', '/_sim/faults', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(String(r.body.error), re);
    assert.ok(!String(r.body.error).includes('\n'), 'one line');
  }
  assert.equal((await s.control('PUT', '/_sim/faults', {})).status, 405);
  assert.equal((await s.control('GET', '/_sim/nothing')).status, 404);
  assert.equal((await s.control('PATCH', '/_sim/profile', { defaults: { ttft_ms: { dist: 'gamma' } } })).status, 400);
  assert.match(String((await s.control('PATCH', '/_sim/profile', { defaults: { slots: 0 } })).body.error), /defaults.slots: must be an integer >= 1/);
  assert.match(String((await s.control('PATCH', '/_sim/profile', { speed: 1 })).body.error), /unknown field 'speed'/);
  // Nothing was added by the failures.
  assert.deepEqual((await s.control('GET', '/_sim/faults')).body.faults, []);
  const stats = await s.control('GET', '/_sim/stats');
  assert.ok((stats.body.control_errors as number) >= cases.length);
  await s.stop();
});

test('faults can be listed, expire after for_s, and be cleared', async () => {
  const s = await startSim();
  const added = await s.control('POST', '/_sim/faults', [{ fault: 'slow_ttft', rate: 1, delay_ms: 10, for_s: 0.2 }, { fault: 'stall', rate: 0.1, model: 'x' }]);
  assert.equal(added.status, 201);
  let list = (await s.control('GET', '/_sim/faults')).body.faults as Array<{ fault: string; active: boolean }>;
  assert.deepEqual(list.map((f) => [f.fault, f.active]), [['slow_ttft', true], ['stall', true]]);
  await new Promise((r) => setTimeout(r, 400));
  list = (await s.control('GET', '/_sim/faults')).body.faults as Array<{ fault: string; active: boolean }>;
  assert.deepEqual(list.map((f) => f.fault), ['stall'], 'the windowed fault expired');
  assert.equal((await s.control('DELETE', '/_sim/faults')).body.cleared, 1);
  await s.stop();
});

test('profile patches change behaviour at run time', async () => {
  const s = await startSim();
  await s.control('PATCH', '/_sim/profile', { models: { tiny: { output_tokens: 3 } } });
  const r = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'x' }] }) });
  const body = (await r.json()) as { usage: { completion_tokens: number } };
  assert.equal(body.usage.completion_tokens, 3);
  await s.control('PATCH', '/_sim/profile', { unknown_models: 'reject' });
  const nf = await fetch(`${s.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'who', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) });
  assert.equal(nf.status, 404);
  assert.equal(((await nf.json()) as { error: { type: string } }).error.type, 'not_found_error');
  await s.stop();
});

test('bad API bodies get provider-shaped 400s and garbage never kills the server', async () => {
  const s = await startSim();
  const post = (path: string, body: string) => fetch(`${s.url}${path}`, { method: 'POST', body });
  const a = await post('/v1/chat/completions', '{"model":"m"}');
  assert.equal(a.status, 400);
  assert.match(((await a.json()) as { error: { message: string } }).error.message, /'messages' must be a non-empty array/);
  const b = await post('/v1/messages', '{"model":"c","messages":[{"role":"user","content":"x"}]}');
  assert.equal(b.status, 400);
  assert.equal(((await b.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
  const g = await post('/v1beta/models/gem:generateContent', '[]');
  assert.equal(g.status, 400);
  assert.equal(((await g.json()) as { error: { status: string } }).error.status, 'INVALID_ARGUMENT');
  for (const path of ['/v1/chat/completions', '/v1/embeddings', '/v1beta/models/g:streamGenerateContent?alt=sse']) {
    const n = await post(path, 'null');
    assert.equal(n.status, 400, `JSON null at ${path}`);
    await n.arrayBuffer();
  }
  const o = await post('/api/chat', 'not json');
  assert.equal(o.status, 400);
  assert.match(((await o.json()) as { error: string }).error, /not valid JSON/);
  const big = await post('/v1/embeddings', JSON.stringify({ model: 'e', input: 'x'.repeat(9 * 1024 * 1024) }));
  assert.equal(big.status, 413);
  assert.equal((await post('/v1/nothing', '{}')).status, 404);
  // Raw protocol garbage on a socket.
  await new Promise<void>((resolve) => {
    const sock = connect(Number(new URL(s.url).port), '127.0.0.1', () => sock.end('\x00\x01GARBAGE / HTTP/9\r\n\r\n'));
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
    sock.resume();
  });
  const ok = await post('/v1/chat/completions', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'still alive?' }] }));
  assert.equal(ok.status, 200);
  const truth = await s.stop();
  assert.ok(truth.filter((r) => r.expected_error_type === 'bad_request').length >= 4);
  assert.equal(truth.filter((r) => r.expected_error_type === 'request_too_large').length, 1);
});

test('profile files: clear errors naming the path', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ defaults: { ttft_ms: { dist: 'lognormal', median: 100 } } }, /defaults.ttft_ms.sigma: must be a number >= 0/],
    [{ models: { m: { itl_ms: -3 } } }, /models.m.itl_ms: must be a number >= 0/],
    [{ defaults: { output_tokens: { dist: 'uniform', min: 9, max: 3 } } }, /min must be <= max/],
    [{ faults: [{ fault: 'nope' }] }, /faults\[0\].fault: unknown fault/],
    [{ unknown_models: 'maybe' }, /unknown_models: must be 'allow' or 'reject'/],
    [{ color: 1 }, /unknown field 'color'/],
    [[], /must be an object/],
  ];
  for (const [raw, re] of bad) assert.throws(() => parseProfile(raw), (e: unknown) => e instanceof SimInputError && re.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-prof-'));
  writeFileSync(join(dir, 'p.yaml'), 'defaults:\n  ttft_ms: [1, 2\n');
  assert.throws(() => loadProfileFile(join(dir, 'p.yaml')), /is not valid YAML/);
  assert.throws(() => loadProfileFile(join(dir, 'missing.yaml')), /cannot read profile .*ENOENT/);
  writeFileSync(join(dir, 'ok.yaml'), 'seed: 4\nmodels:\n  gpt-4o:\n    ttft_ms: {dist: lognormal, median: 300, sigma: 0.4}\n    slots: 8\nfaults:\n  - {fault: rate_limited, rate: 0.05, start_s: 10, for_s: 30}\n');
  const p = loadProfileFile(join(dir, 'ok.yaml'));
  assert.equal(p.models['gpt-4o'].slots, 8);
  assert.equal(p.faults[0].for_s, 30);
});

test('clients that leave mid-stream or during a stall are recorded, and the server carries on', async () => {
  const s = await startSim({ defaults: { ttft_ms: 5, itl_ms: 20, output_tokens: 200, headers_ms: 0 } });
  const ac = new AbortController();
  const res = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', signal: ac.signal, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }) });
  const reader = res.body!.getReader();
  await reader.read();
  ac.abort();
  await s.control('POST', '/_sim/faults', { fault: 'stall', rate: 1, after_tokens: 1 });
  const ac2 = new AbortController();
  const stalled = await fetch(`${s.url}/v1/messages`, { method: 'POST', signal: ac2.signal, body: JSON.stringify({ model: 'c', max_tokens: 50, messages: [{ role: 'user', content: 'x' }], stream: true }) });
  const r2 = stalled.body!.getReader();
  await r2.read();
  setTimeout(() => ac2.abort(), 150);
  await assert.rejects(async () => {
    for (;;) if ((await r2.read()).done) break;
  });
  await s.control('DELETE', '/_sim/faults');
  await new Promise((r) => setTimeout(r, 100));
  const ok = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 2 }) });
  assert.equal(ok.status, 200);
  const stats = await s.control('GET', '/_sim/stats');
  assert.equal(stats.body.in_flight, 0);
  const truth = await s.stop();
  const closed = truth.filter((r) => r.outcome === 'client_closed');
  assert.equal(closed.length, 2);
  assert.ok(closed.every((r) => r.expected_error_type === 'client_cancelled' || r.fault === 'stall'));
  assert.equal(truth.filter((r) => r.outcome === 'ok').length, 1);
});
