// Every wire transcript in test/fixtures/wire/ must produce exactly one record matching its
// `expect` block — seen from the client side, and (for the timing-independent fields) from the
// server side of the same connection.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asServerSide, fixtureEvents, loadFixtures, run, subsetMismatches } from './wire.ts';

const fixtures = loadFixtures();

describe('wire transcripts', () => {
  test('there are transcripts for every adapter family', () => {
    const names = fixtures.map((f) => f.name).join(' ');
    for (const fam of ['openai_chat', 'openai_responses', 'openai_embeddings', 'azure', 'anthropic', 'gemini', 'ollama', 'tgi', 'vllm', 'llamacpp', 'litellm', 'qdrant', 'chroma', 'pinecone', 'milvus', 'weaviate', 'elasticsearch', 'opensearch'])
      assert.ok(names.includes(fam), `no fixture for ${fam}`);
  });
  for (const fx of fixtures) {
    test(`${fx.name}: ${fx.description ?? ''}`, () => {
      const { records, stats } = run(fixtureEvents(fx));
      assert.equal(stats.calls.internalErrors, 0, String(stats.calls.lastInternalError));
      assert.equal(records.length, 1, `expected one record, got ${records.length}`);
      const bad = subsetMismatches(records[0], fx.expect);
      assert.deepEqual(bad, [], JSON.stringify(records[0], null, 1));
    });
    test(`${fx.name}: same call seen from the server process`, () => {
      const { records } = run(asServerSide(fixtureEvents(fx)));
      assert.equal(records.length, 1);
      const r = records[0]!;
      assert.equal(r.observed_side, 'server');
      for (const k of ['error.type', 'http.response.status_code', 'gen_ai.usage.output_tokens', 'chunks', 'ttft_s', 'gen_ai.provider.name'] as const) {
        if (k in fx.expect) assert.deepEqual((r as unknown as Record<string, unknown>)[k], fx.expect[k], k);
      }
    });
  }
});
