// Real SDK clients against a local streaming server, through a recording TCP proxy that plays
// the capture plane (client-side view: egress = bytes the client wrote, ingress = bytes it read,
// each with a CLOCK_MONOTONIC timestamp). The records must match what the clients saw.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { StreamEvent } from '../../src/capture/stream.ts';
import { createCallPipeline } from '../../src/llm/pipeline.ts';
import type { CallRecord, LlmCallRecord } from '../../src/llm/records.ts';
import { now, startTap } from './tap.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A local server that streams like OpenAI and Anthropic, with small delays between events. */
function startServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      void (async () => {
        const json = JSON.parse(body || '{}') as { model?: string; stream?: boolean };
        if (req.url === '/v1/chat/completions' && json.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_local_1', 'x-ratelimit-remaining-requests': '99' });
          const base = { id: 'chatcmpl-local', object: 'chat.completion.chunk', created: 1, model: 'local-model-1' };
          res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`);
          for (const w of ['Hello', ',', ' world', '!']) {
            await sleep(15);
            res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }], obfuscation: 'xx' })}\n\n`);
          }
          res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
          res.write(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 } })}\n\n`);
          res.end('data: [DONE]\n\n');
        } else if (req.url === '/v1/messages' && json.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_local_2' });
          const ev = (name: string, o: unknown): string => `event: ${name}\ndata: ${JSON.stringify(o)}\n\n`;
          res.write(ev('message_start', { type: 'message_start', message: { id: 'msg_local', type: 'message', role: 'assistant', model: 'claude-local', content: [], usage: { input_tokens: 9, cache_read_input_tokens: 3, output_tokens: 1 } } }));
          res.write(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
          for (const w of ['Hi', ' there', '.']) {
            await sleep(15);
            res.write(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } }));
          }
          res.write(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
          res.write(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }));
          res.end(ev('message_stop', { type: 'message_stop' }));
        } else if (req.url === '/v1/chat/completions') {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
          res.end(JSON.stringify({ error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }));
        } else {
          res.writeHead(404);
          res.end();
        }
      })();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('real SDK clients through a recording proxy', () => {
  let server: http.Server;
  let tap: net.Server;
  const events: StreamEvent[] = [];
  let base = '';
  before(async () => {
    server = await startServer();
    tap = await startTap((server.address() as net.AddressInfo).port, events);
    base = `http://127.0.0.1:${(tap.address() as net.AddressInfo).port}`;
  });
  after(() => {
    tap.close();
    server.close();
  });

  const records = (): CallRecord[] => {
    const out: CallRecord[] = [];
    const p = createCallPipeline({}, (r) => out.push(r));
    for (const e of events) p.onEvent(e);
    p.flush(now());
    assert.equal(p.stats().calls.internalErrors, 0);
    return out;
  };

  test('openai SDK stream + anthropic SDK stream + a 429 with retries disabled', async () => {
    const oai = new OpenAI({ apiKey: 'sk-test', baseURL: `${base}/v1`, maxRetries: 0 });
    const t0 = now();
    const stream = await oai.chat.completions.create({ model: 'gpt-local', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    let firstContentAt = 0;
    let contentChunks = 0;
    let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0]?.delta?.content;
      if (c) {
        contentChunks++;
        if (firstContentAt === 0) firstContentAt = now();
      }
      if (chunk.usage) usage = chunk.usage;
    }
    const t1 = now();

    const ant = new Anthropic({ apiKey: 'sk-ant-test', baseURL: base, maxRetries: 0 });
    const astream = await ant.messages.create({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], stream: true });
    let aContent = 0;
    for await (const ev of astream) if (ev.type === 'content_block_delta') aContent++;

    await assert.rejects(oai.chat.completions.create({ model: 'gpt-local', messages: [{ role: 'user', content: 'hi' }] }), /quota/);
    await sleep(50);

    const rs = records() as LlmCallRecord[];
    const chat = rs.find((r) => r['gen_ai.request.model'] === 'gpt-local' && r.stream)!;
    assert.ok(chat, JSON.stringify(rs.map((r) => r['gen_ai.request.model'])));
    assert.equal(chat['gen_ai.provider.name'], 'openai_compatible');
    assert.equal(chat['gen_ai.response.model'], 'local-model-1');
    assert.equal(chat.content_chunks, contentChunks);
    assert.equal(chat['gen_ai.usage.input_tokens'], usage!.prompt_tokens);
    assert.equal(chat['gen_ai.usage.output_tokens'], usage!.completion_tokens);
    assert.equal(chat['error.type'], null);
    assert.equal(chat.provider_request_id, 'req_local_1');
    assert.equal(chat.rate_limit.remaining_requests, 99);
    assert.deepEqual(chat['gen_ai.response.finish_reasons'], ['stop']);
    // Timing: the proxy saw bytes before the SDK surfaced them, and within the call's bounds.
    const ts = chat.timestamps_ns;
    assert.ok(ts.request_start >= t0 && ts.response_end! <= t1, 'inside the client-observed call');
    assert.ok(ts.first_token! <= firstContentAt, 'first token captured before the SDK yielded it');
    assert.ok(ts.first_chunk! <= ts.first_token!);
    // the server sleeps 15 ms before each content event: 3 gaps of >= ~15 ms
    assert.equal(chat.inter_chunk_gap_s!.count, 3);
    assert.ok(chat.inter_chunk_gap_s!.p50 >= 0.01, String(chat.inter_chunk_gap_s!.p50));
    assert.ok(chat.ttft_s! >= 0.01);

    const msg = rs.find((r) => r['gen_ai.provider.name'] === 'anthropic')!;
    assert.equal(msg.content_chunks, aContent);
    assert.equal(msg['gen_ai.usage.input_tokens'], 12);
    assert.equal(msg['gen_ai.usage.output_tokens'], 3);
    assert.equal(msg['error.type'], null);

    const failed = rs.find((r) => r['http.response.status_code'] === 429)!;
    assert.equal(failed['error.type'], 'quota_exhausted');
    assert.equal(failed.stream, false);
  });
});
