// The JSON-free shortcuts must agree with the full JSON path: they may only skip work.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fastAnthropicDelta, fastOllamaContent, fastOpenAiContent, fastResponsesDelta, readJsonString } from '../../src/llm/fastpath.ts';

const az = (delta: unknown, finish: string | null = null, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ choices: [{ content_filter_results: { hate: { filtered: false, severity: 'safe' } }, delta, finish_reason: finish, index: 0, logprobs: null }], created: 1, id: 'chatcmpl-x', model: 'gpt-5-nano', obfuscation: 'abc', object: 'chat.completion.chunk', system_fingerprint: null, usage: null, ...extra });
const oa = (delta: unknown, finish: string | null = null, extra: Record<string, unknown> = {}, index = 0): string =>
  JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index, delta, logprobs: null, finish_reason: finish }], usage: null, ...extra });

describe('fast paths', () => {
  test('OpenAI and Azure content deltas are recognised, with escapes decoded', () => {
    assert.equal(fastOpenAiContent(oa({ content: 'Hi "there"\n' })), 'Hi "there"\n');
    assert.equal(fastOpenAiContent(az({ content: 'Capital' })), 'Capital');
  });
  test('anything the full path must see falls back (null)', () => {
    for (const d of [
      oa({ content: '' }),
      oa({ role: 'assistant', content: 'x' }),
      oa({ content: 'x' }, 'stop'),
      oa({ content: 'x' }, null, { usage: { prompt_tokens: 1 } }),
      oa({ content: 'x' }, null, {}, 1),
      oa({ tool_calls: [{ index: 0 }] }),
      az({ content: '' }),
      az({ content: 'x' }, 'stop'),
      az({ content: 'x' }, null, { usage: { prompt_tokens: 1 } }),
      JSON.stringify({ error: { message: 'x' } }),
    ])
      assert.equal(fastOpenAiContent(d), null, d);
  });
  test('Anthropic, Responses and Ollama shapes', () => {
    assert.deepEqual(fastAnthropicDelta('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\\u00e9"}}'), { text: 'aé', keep: true });
    assert.deepEqual(fastAnthropicDelta('{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}'), { text: 'hm', keep: false });
    assert.equal(fastAnthropicDelta('{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}'), null);
    assert.equal(fastResponsesDelta('{"type":"response.output_text.delta","delta":"x\\\\y"}'), 'x\\y');
    assert.equal(fastOllamaContent('{"model":"m","created_at":"t","message":{"role":"assistant","content":"ok"},"done":false}'), 'ok');
    assert.equal(fastOllamaContent('{"model":"m","created_at":"t","message":{"role":"assistant","content":"","tool_calls":[{}]},"done":false}'), null);
    assert.equal(fastOllamaContent('{"model":"m","response":"x","done":true}'), null);
  });
  test('readJsonString handles escaped quotes and backslashes', () => {
    const s = '"a\\"b\\\\"rest';
    assert.deepEqual(readJsonString(s, 1), { text: 'a"b\\', end: 8 });
  });
});
