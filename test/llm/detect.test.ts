// Request routing: which adapter, provider and URL model a request gets — and that no path
// taken from captured bytes, however malformed, throws out of the router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { routeLlmRequest } from '../../src/llm/detect.ts';
import { decodeSegment } from '../../src/util/uri.ts';

test('models named in the URL are percent-decoded (Gemini, Vertex Anthropic, Azure deployment)', () => {
  const g = routeLlmRequest('POST', 'generativelanguage.googleapis.com', '/v1beta/models/gemini%2D2.0-flash:streamGenerateContent', 'alt=sse', false);
  assert.equal(g?.provider, 'gcp.gemini');
  assert.equal(g?.pathModel, 'gemini-2.0-flash');
  assert.equal(g?.pathStream, true);
  const v = routeLlmRequest('POST', 'us-east5-aiplatform.googleapis.com', '/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude%40x:rawPredict', '', false);
  assert.equal(v?.provider, 'gcp.vertex_ai');
  assert.equal(v?.pathModel, 'claude@x');
  const a = routeLlmRequest('POST', 'r.openai.azure.com', '/openai/deployments/my%20gpt/chat/completions', 'api-version=2024-10-21', false);
  assert.equal(a?.provider, 'azure.ai.openai');
  assert.equal(a?.pathModel, 'my gpt');
});

test('malformed percent escapes in a URL model keep the raw text instead of throwing', () => {
  for (const bad of ['%', '%zz', '%E0%A4', 'a%']) {
    const g = routeLlmRequest('POST', null, `/v1/models/${bad}:generateContent`, '', false);
    assert.equal(g?.pathModel, bad, `gemini ${bad}`);
    const v = routeLlmRequest('POST', null, `/publishers/anthropic/models/${bad}:streamRawPredict`, '', false);
    assert.equal(v?.pathModel, bad, `vertex ${bad}`);
    const a = routeLlmRequest('POST', null, `/openai/deployments/${bad}/embeddings`, '', false);
    assert.equal(a?.pathModel, bad, `azure ${bad}`);
  }
  assert.equal(decodeSegment('plain'), 'plain');
  assert.equal(decodeSegment('%41'), 'A');
});

test('no method, host, path or query string throws', () => {
  const seg = fc.oneof(fc.string(), fc.constantFrom('%', '%zz', '%E0', 'models', 'deployments', 'openai', 'publishers', 'anthropic'));
  const path = fc.array(seg, { maxLength: 6 }).chain((parts) =>
    fc.constantFrom(':generateContent', ':streamRawPredict', '/chat/completions', '/embeddings', '/v1/messages', '').map((tail) => `/${parts.join('/')}${tail}`),
  );
  fc.assert(
    fc.property(fc.constantFrom('POST', 'GET', 'X'), fc.option(fc.string()), path, fc.string(), fc.boolean(), (method, host, p, q, av) => {
      routeLlmRequest(method, host, p, q, av);
    }),
    { numRuns: 2000 },
  );
});
