// The RAG app: embeddings -> vector search -> streamed chat, with a W3C traceparent of its
// own client span on every outbound call, with and without the OpenTelemetry SDK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim } from './helpers.ts';
import { SimVectorDb } from '../../src/sim/vectordb.ts';
import { SimRag } from '../../src/sim/rag.ts';
import { parseTraceparent } from '../../src/sim/traceparent.ts';

async function stack(otel: boolean, otlpEndpoint: string | null = null) {
  const provider = await startSim();
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-rag-'));
  const vdb = new SimVectorDb({ port: 0, latencyMs: 1, truthPath: join(dir, 'vdb.jsonl') });
  const vdbUrl = await vdb.start();
  const rag = new SimRag({ port: 0, llmUrl: provider.url, vectordbUrl: vdbUrl, model: 'gpt-4o-mini', embedModel: 'text-embedding-3-small', collection: 'docs', topK: 3, maxTokens: 16, caFile: null, otel, otlpEndpoint, truthPath: join(dir, 'rag.jsonl') });
  const url = await rag.start();
  return {
    url,
    vdbUrl,
    async stop() {
      await rag.stop();
      await vdb.stop();
      const read = (f: string) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      return { provider: await provider.stop(), vdb: read('vdb.jsonl'), rag: read('rag.jsonl') };
    },
  };
}

for (const otel of [false, true]) {
  test(`RAG request propagates traceparent to every call (OTel SDK ${otel ? 'on' : 'off'})`, async () => {
    let otlpPosts = 0;
    let otlpType = '';
    const collector = createServer((req, res) => {
      otlpType = req.headers['content-type'] ?? '';
      req.resume();
      req.on('end', () => {
        if (req.url === '/v1/traces') otlpPosts++;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const endpoint = otel ? `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces` : null;
    const s = await stack(otel, endpoint);
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await fetch(`${s.url}/ask`, { method: 'POST', headers: { traceparent: incoming }, body: JSON.stringify({ question: 'What is the availability SLO of the payments service?' }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')));
    const last = events.at(-1);
    assert.equal(last.done, true);
    assert.equal(last.output_tokens, events.filter((e) => e.delta).length);
    assert.equal(last.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
    // A bad request is a clear 400.
    const bad = await fetch(`${s.url}/ask`, { method: 'POST', body: '{"q":1}' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /non-empty string 'question'/);
    // Retrieval is real: the best hit for this question is the payments availability fact.
    const t = await s.stop();
    collector.close();
    const ragRec = t.rag.find((r) => r.status === 200);
    assert.ok(ragRec);
    const spanIds = new Map<string, { name: string; parent_span_id: string }>(ragRec.spans.map((sp: { span_id: string; name: string; parent_span_id: string }) => [sp.span_id, sp]));
    const server = ragRec.spans[0];
    assert.equal(server.parent_span_id, '00f067aa0ba902b7');
    const outbound = t.provider.filter((r) => r.traceparent).concat(t.vdb.filter((r: { traceparent: string | null; op: string }) => r.traceparent && r.op === 'query'));
    assert.equal(outbound.length, 3, 'embeddings, retrieval and chat each carried a traceparent');
    for (const r of outbound) {
      const tp = parseTraceparent(r.traceparent!);
      assert.ok(tp);
      assert.equal(tp.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      const span = spanIds.get(tp.spanId);
      assert.ok(span, 'the outbound span id is one of the app spans');
      assert.equal(span.parent_span_id, server.span_id);
    }
    assert.deepEqual(
      ragRec.spans.map((sp: { name: string }) => sp.name),
      ['POST /ask', 'embeddings text-embedding-3-small', 'retrieval docs', 'chat gpt-4o-mini'],
    );
    const chat = t.provider.find((r) => r.api === 'openai.chat_completions' && r.traceparent);
    assert.equal(ragRec.upstream.chat, chat?.request_id);
    if (otel) {
      assert.ok(otlpPosts >= 1, 'spans exported over OTLP');
      assert.equal(otlpType, 'application/x-protobuf');
    }
  });
}

test('retrieval finds the relevant passage', async () => {
  const s = await stack(false);
  const { embed } = await import('../../src/sim/text.ts');
  const r = await fetch(`${s.vdbUrl}/collections/docs/points/query`, { method: 'POST', body: JSON.stringify({ query: embed('availability SLO of the payments service', 256), limit: 1, with_payload: true }) });
  const body = (await r.json()) as { result: { points: Array<{ payload: { text: string } }> } };
  assert.match(body.result.points[0].payload.text, /payments service has an availability SLO/);
  await s.stop();
});
