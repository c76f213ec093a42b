// The Qdrant-compatible vector DB: real exact similarity search, Qdrant's response shapes,
// clear errors, faults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimVectorDb } from '../../src/sim/vectordb.ts';
import { Rng } from '../../src/sim/random.ts';

async function start() {
  const db = new SimVectorDb({ port: 0, latencyMs: 0 });
  const url = await db.start();
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as { result: unknown; status: unknown } & Record<string, unknown> };
  };
  return { db, url, call };
}

test('search returns the exact top-k by cosine, dot and euclid', async () => {
  const { db, call } = await start();
  const rng = new Rng(5);
  const dim = 16;
  const points = Array.from({ length: 300 }, (_, i) => ({ id: i + 1, vector: Array.from({ length: dim }, () => rng.next() * 2 - 1), payload: { n: i + 1 } }));
  for (const distance of ['Cosine', 'Dot', 'Euclid'] as const) {
    const name = `c_${distance}`;
    assert.equal((await call('PUT', `/collections/${name}`, { vectors: { size: dim, distance } })).status, 200);
    assert.equal((await call('PUT', `/collections/${name}/points?wait=true`, { points })).body.status, 'ok');
    const q = Array.from({ length: dim }, () => rng.next() * 2 - 1);
    const norm = (v: number[]) => Math.hypot(...v);
    const ref = points
      .map((p) => {
        const dot = p.vector.reduce((s, x, i) => s + x * q[i], 0);
        const s = distance === 'Cosine' ? dot / (norm(p.vector) * norm(q)) : distance === 'Dot' ? dot : Math.hypot(...p.vector.map((x, i) => x - q[i]));
        return { id: p.id, s };
      })
      .sort((a, b) => (distance === 'Euclid' ? a.s - b.s : b.s - a.s))
      .slice(0, 5);
    const legacy = await call('POST', `/collections/${name}/points/search`, { vector: q, limit: 5, with_payload: true });
    const hits = legacy.body.result as Array<{ id: number; score: number; payload: { n: number } }>;
    assert.deepEqual(hits.map((h) => h.id), ref.map((r) => r.id), distance);
    hits.forEach((h, i) => assert.ok(Math.abs(h.score - ref[i].s) < 1e-4));
    assert.equal(hits[0].payload.n, ref[0].id);
    const query = await call('POST', `/collections/${name}/points/query`, { query: q, limit: 5 });
    assert.deepEqual((query.body.result as { points: Array<{ id: number }> }).points.map((p) => p.id), ref.map((r) => r.id));
  }
  const info = await call('GET', '/collections/c_Cosine');
  assert.equal((info.body.result as { points_count: number }).points_count, 300);
  await db.stop();
});

test('clear Qdrant-style errors and faults', async () => {
  const { db, call } = await start();
  assert.equal((await call('PUT', '/collections/a', { vectors: { size: 3, distance: 'Cosine' } })).status, 200);
  const dup = await call('PUT', '/collections/a', { vectors: { size: 3, distance: 'Cosine' } });
  assert.equal(dup.status, 409);
  const bad = await call('PUT', '/collections/a/points', { points: [{ id: 1, vector: [1, 2] }] });
  assert.equal(bad.status, 400);
  assert.match((bad.body.status as { error: string }).error, /Vector dimension error: expected dim: 3, got 2/);
  assert.equal((await call('PUT', '/collections/a/points', { points: [{ id: 'nope', vector: [1, 2, 3] }] })).status, 400);
  assert.equal((await call('POST', '/collections/missing/points/search', { vector: [1, 2, 3] })).status, 404);
  assert.equal((await call('PUT', '/collections/b', { vectors: { size: 3, distance: 'Hamming' } })).status, 400);
  assert.equal((await call('PUT', '/collections/a/points', { points: [{ id: 7, vector: [1, 0, 0] }] })).status, 200);
  assert.equal((await call('POST', '/_sim/faults', { fault: 'server_error', rate: 1, model: 'a' })).status, 201);
  assert.equal((await call('POST', '/collections/a/points/search', { vector: [1, 0, 0], limit: 1 })).status, 500);
  assert.equal((await call('DELETE', '/_sim/faults')).status, 200);
  const ok = await call('POST', '/collections/a/points/search', { vector: [1, 0, 0], limit: 1 });
  assert.equal((ok.body.result as Array<{ id: number }>)[0].id, 7);
  assert.equal((await call('POST', '/_sim/faults', { fault: 'rate_limited', rate: 7 })).status, 400);
  assert.equal((await call('PATCH', '/_sim/config', { latency_ms: { dist: 'gamma' } })).status, 400);
  await db.stop();
});

test('fuzzed vector DB requests never produce a 5xx', async () => {
  const fc = (await import('fast-check')).default;
  const { db, url, call } = await start();
  await call('PUT', '/collections/f', { vectors: { size: 3, distance: 'Dot' } });
  const paths = ['/collections/f', '/collections/f/points', '/collections/f/points/search', '/collections/f/points/query', '/collections/f/points/search/batch', '/collections/f/points/delete', '/collections/f/points/count', '/collections/zz/points/search', '/_sim/faults', '/_sim/config'];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...paths), fc.constantFrom('POST', 'PUT', 'GET', 'PATCH'), fc.oneof(fc.json(), fc.record({ vector: fc.array(fc.double(), { maxLength: 4 }), limit: fc.anything(), points: fc.anything(), query: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o))), async (path, method, text) => {
      const r = await fetch(url + path, { method, body: method === 'GET' ? undefined : text, signal: AbortSignal.timeout(5000) });
      await r.arrayBuffer();
      assert.ok(r.status < 500 || r.status === 507, `${method} ${path} ${text.slice(0, 200)} -> ${r.status}`);
      if (path === '/_sim/faults' && r.status === 201) await fetch(url + '/_sim/faults', { method: 'DELETE' });
    }),
    { numRuns: 200, seed: 3 },
  );
  await db.stop();
});
