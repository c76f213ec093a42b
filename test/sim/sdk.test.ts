// The official SDKs consume every simulated stream, report the usage the simulator recorded,
// and raise their documented error classes for each fault.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startSim } from './helpers.ts';
import { embed } from '../../src/sim/text.ts';
import type { TruthRecord } from '../../src/sim/truth.ts';

type Sim = Awaited<ReturnType<typeof startSim>>;

describe('official SDKs against the simulator', () => {
  let s: Sim;
  let oa: OpenAI;
  let an: Anthropic;
  let truth: TruthRecord[] = [];
  const seen: Array<{ id: string | null | undefined; input: number; output: number; text: string }> = [];

  before(async () => {
    s = await startSim();
    oa = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    an = new Anthropic({ baseURL: s.url, apiKey: 'sk-ant-test', maxRetries: 0 });
  });
  after(async () => {
    if (s) truth = await s.stop();
  });

  test('openai chat stream with include_usage: content, usage, [DONE]', async () => {
    const { data, request_id } = await oa.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there model' }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const c of data) {
      chunks++;
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
    assert.ok(usage, 'usage chunk present');
    assert.ok(chunks >= usage.completion_tokens + 2, 'role chunk + one chunk per token + finish');
    assert.equal(text.split(' ').length - 1, usage.completion_tokens, 'one vocabulary word per token');
    seen.push({ id: request_id, input: usage.prompt_tokens, output: usage.completion_tokens, text });
  });

  test('openai chat stream without include_usage has no usage chunk', async () => {
    const stream = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let withUsage = 0;
    let finish: string | null = null;
    for await (const c of stream) {
      if (c.usage) withUsage++;
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(withUsage, 0);
    assert.equal(finish, 'stop');
  });

  test('openai chat non-stream and max_tokens -> finish_reason length', async () => {
    const r = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage?.completion_tokens, 3);
    assert.equal(r.choices[0].message.content?.split(' ').length, 4);
  });

  test('openai responses stream ends in response.completed with usage', async () => {
    const { data, request_id } = await oa.responses.create({ model: 'gpt-4o', input: 'tell me about latency', stream: true }).withResponse();
    let deltas = '';
    let done: OpenAI.Responses.Response | null = null;
    const seqs: number[] = [];
    for await (const ev of data) {
      seqs.push(ev.sequence_number);
      if (ev.type === 'response.output_text.delta') deltas += ev.delta;
      if (ev.type === 'response.completed') done = ev.response;
    }
    assert.ok(done?.usage);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'sequence numbers count up from 0');
    const item = done.output[0];
    assert.equal(item.type === 'message' && item.content[0].type === 'output_text' ? item.content[0].text : null, deltas);
    seen.push({ id: request_id, input: done.usage.input_tokens, output: done.usage.output_tokens, text: deltas });
  });

  test('openai embeddings (SDK default base64 encoding) decode to the simulator vectors', async () => {
    const r = await oa.embeddings.create({ model: 'text-embedding-3-small', input: ['vector search latency', 'error budget'] });
    assert.equal(r.data.length, 2);
    const expected = embed('vector search latency', 256);
    r.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6));
    assert.ok(r.usage.prompt_tokens >= 4);
  });

  test('anthropic messages stream: finalMessage usage and text', async () => {
    const stream = an.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] });
    const msg = await stream.finalMessage();
    const block = msg.content[0];
    assert.equal(block.type, 'text');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(block.type === 'text' ? block.text.split(' ').length - 1 : -1, msg.usage.output_tokens);
    seen.push({ id: stream.request_id, input: msg.usage.input_tokens, output: msg.usage.output_tokens, text: block.type === 'text' ? block.text : '' });
  });

  test('anthropic non-stream with max_tokens cap', async () => {
    const msg = await an.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 2, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.equal(msg.usage.output_tokens, 2);
  });

  const FAULTS: Array<[string, string, string, string]> = [
    // fault, openai chat error class, anthropic error class, openai responses error class
    ['rate_limited', 'RateLimitError', 'RateLimitError', 'RateLimitError'],
    ['quota_exhausted', 'RateLimitError', 'BadRequestError', 'RateLimitError'],
    ['overloaded', 'InternalServerError', 'OverloadedError', 'InternalServerError'],
    ['server_error', 'InternalServerError', 'InternalServerError', 'InternalServerError'],
    ['context_length_exceeded', 'BadRequestError', 'BadRequestError', 'BadRequestError'],
    ['model_not_found', 'NotFoundError', 'NotFoundError', 'NotFoundError'],
    ['auth', 'AuthenticationError', 'AuthenticationError', 'AuthenticationError'],
    ['stream_error', 'APIError', 'APIError', 'APIError'],
    ['stream_interrupted', 'TypeError', 'APIConnectionError', 'TypeError'],
    ['connection_reset', 'TypeError', 'APIConnectionError', 'TypeError'],
  ];
  for (const [fault, oaClass, anClass, respClass] of FAULTS) {
    test(`fault ${fault}: SDKs raise ${oaClass} / ${anClass}`, async () => {
      await s.control('DELETE', '/_sim/faults');
      const added = await s.control('POST', '/_sim/faults', { fault, rate: 1, after_tokens: 2 });
      assert.equal(added.status, 201);
      const errName = async (fn: () => Promise<unknown>) => {
        try {
          await fn();
          return 'no error';
        } catch (err) {
          return (err as Error).constructor.name;
        }
      };
      const oaErr = await errName(async () => {
        for await (const _ of await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }));
      });
      const anErr = await errName(async () => {
        for await (const _ of await an.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], stream: true }));
      });
      const rsErr = await errName(async () => {
        for await (const _ of await oa.responses.create({ model: 'gpt-4o', input: 'hi', stream: true }));
      });
      await s.control('DELETE', '/_sim/faults');
      assert.deepEqual([oaErr, anErr, rsErr], [oaClass, anClass, respClass]);
      if (fault === 'rate_limited') {
        const res = await fetch(`${s.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ fault, rate: 1, retry_after_s: 7 }) });
        assert.equal(res.status, 201);
        const r = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }) });
        assert.equal(r.status, 429);
        assert.equal(r.headers.get('retry-after'), '7');
        assert.equal(r.headers.get('retry-after-ms'), '7000');
        assert.match(r.headers.get('x-request-id') ?? '', /^req_[0-9a-f]{24}$/);
        await r.text();
        await s.control('DELETE', '/_sim/faults');
      }
    });
  }

  test('ground truth joins the SDK-visible request ids and matches their usage', async () => {
    const t = await s.stop();
    truth = t;
    // restart so after() has something to stop
    s = await startSim();
    const byId = new Map(t.map((r) => [r.request_id, r]));
    assert.ok(seen.length >= 3);
    for (const v of seen) {
      const r = byId.get(v.id ?? '');
      assert.ok(r, `truth has ${v.id}`);
      assert.equal(r.usage?.output_tokens, v.output);
      assert.equal(r.usage?.input_tokens, v.input);
      assert.equal(r.content_chunks, v.output, 'one content chunk per token');
      assert.ok(r.first_token && r.headers && r.end);
      assert.ok(r.headers.mono_ns <= r.first_token.mono_ns && r.first_token.mono_ns <= r.end.mono_ns);
      assert.equal(r.outcome, 'ok');
    }
    const faulted = t.filter((r) => r.fault);
    const classes = new Set(faulted.map((r) => r.expected_error_type));
    for (const c of ['rate_limited', 'quota_exhausted', 'overloaded', 'server_error', 'stream_error', 'stream_interrupted', 'connection_reset']) assert.ok(classes.has(c), `truth records ${c}`);
    const midStream = faulted.find((r) => r.fault === 'stream_error');
    assert.equal(midStream?.status, 200, 'a stream error comes after a 200');
    assert.equal(midStream?.chunks.filter((c) => c.kind === 'content').length, 2, 'after_tokens honoured');
  });
});
