// Wire details per format: Gemini multi-token chunks with \r\n\r\n framing and cumulative
// usage, Ollama NDJSON, Anthropic padding, OpenAI obfuscation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim } from './helpers.ts';

test('Gemini SSE: CRLF framing, tokens_per_chunk, cumulative usageMetadata, finishReason last', async () => {
  const s = await startSim({ defaults: { ttft_ms: 2, itl_ms: 1, output_tokens: 10, tokens_per_chunk: 4, headers_ms: 0 } });
  const r = await fetch(`${s.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { method: 'POST', body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] }) });
  assert.equal(r.headers.get('content-type'), 'text/event-stream');
  const body = await r.text();
  assert.ok(body.endsWith('\r\n\r\n'));
  const events = body.split('\r\n\r\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')));
  assert.equal(events.length, 3);
  assert.deepEqual(events.map((e) => e.usageMetadata.candidatesTokenCount), [4, 8, 10]);
  assert.deepEqual(events.map((e) => e.candidates[0].finishReason ?? null), [null, null, 'STOP']);
  assert.equal(events.map((e) => e.candidates[0].content.parts[0].text).join('').split(' ').length - 1, 10);
  const truth = await s.stop();
  assert.equal(truth[0].content_chunks, 3);
  assert.deepEqual(truth[0].chunks.map((c) => c.tokens), [4, 4, 2]);
});

test('Ollama NDJSON ends with done:true and counts; Anthropic pads; OpenAI obfuscates', async () => {
  const s = await startSim({ defaults: { ttft_ms: 2, itl_ms: 1, output_tokens: 6, headers_ms: 0 } });
  const o = await fetch(`${s.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }) });
  assert.equal(o.headers.get('content-type'), 'application/x-ndjson');
  const lines = (await o.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 7);
  const last = lines.at(-1);
  assert.equal(last.done, true);
  assert.equal(last.eval_count, 6);
  assert.ok(last.total_duration >= last.eval_duration && last.eval_duration > 0);
  const a = await (await fetch(`${s.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'c', max_tokens: 9, stream: true, messages: [{ role: 'user', content: 'hi' }] }) })).text();
  assert.match(a, /"content_block_stop","index":0 +}/);
  assert.deepEqual([...a.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]).filter((e, i, all) => all.indexOf(e) === i), ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  const c = await (await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }) })).text();
  const obf = [...c.matchAll(/"obfuscation":"([^"]*)"/g)].map((m) => m[1].length);
  assert.ok(new Set(obf).size > 1, 'obfuscation lengths vary');
  assert.ok(c.endsWith('data: [DONE]\n\n'));
  await s.stop();
});
