// Arbitrary JSON at every endpoint: answered with a 2xx/4xx, never a 5xx, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startSim } from './helpers.ts';

const PATHS = ['/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/messages', '/v1beta/models/g:generateContent', '/v1beta/models/g:streamGenerateContent?alt=sse', '/api/chat', '/api/generate', '/api/embed', '/_sim/faults', '/_sim/profile'];

test('fuzzed request bodies never produce a 5xx or kill the simulator', async () => {
  const s = await startSim({ defaults: { ttft_ms: 0, itl_ms: 0, output_tokens: 2, headers_ms: 0, embed_ms: 0 } });
  const body = fc.oneof(
    fc.json(),
    fc.record({ model: fc.string(), messages: fc.anything(), stream: fc.boolean(), max_tokens: fc.anything(), input: fc.anything(), contents: fc.anything(), prompt: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.record({ fault: fc.constantFrom('rate_limited', 'stall', 'bogus'), rate: fc.double(), for_s: fc.anything(), delay_ms: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...PATHS), body, async (path, text) => {
      const method = path === '/_sim/profile' ? 'PATCH' : 'POST';
      const r = await fetch(`${s.url}${path}`, { method, body: text, signal: AbortSignal.timeout(5000) });
      await r.arrayBuffer();
      assert.ok(r.status < 500, `${path} ${text.slice(0, 200)} -> ${r.status}`);
      // Keep faults from piling up and stalling later requests.
      if (path === '/_sim/faults' && r.status === 201) await fetch(`${s.url}/_sim/faults`, { method: 'DELETE' });
    }),
    { numRuns: 300, seed: 7 },
  );
  const ok = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'alive' }] }) });
  assert.equal(ok.status, 200);
  await s.stop();
});
