// Content templates may only skip work: whenever a template matches a chunk, the adapter's full
// JSON path would have concluded exactly "one more content chunk with this text" and changed
// nothing else. Checked on hand-written shapes of every provider and on random mutations.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkKind, newCallState, TextTally } from '../../src/llm/adapter.ts';
import type { Adapter, CallState } from '../../src/llm/adapter.ts';
import { anthropicMessages } from '../../src/llm/adapters/anthropic.ts';
import { geminiGenerate } from '../../src/llm/adapters/gemini.ts';
import { ollamaGenerate } from '../../src/llm/adapters/ollama.ts';
import { openaiChat, openaiResponses } from '../../src/llm/adapters/openai.ts';
import { ContentTemplate } from '../../src/llm/template.ts';
import { fixtureEvents, loadFixtures, run } from './wire.ts';

function newState(): CallState {
  return newCallState({ operation: 'chat', provider: 'openai', requestModel: null, requestedStream: true, completion: new TextTally(1 << 20, (s) => s.length), prompt: new TextTally(1 << 20, (s) => s.length) });
}

/** Everything in the state except the text tallies (which the template replays itself). */
function snapshot(st: CallState): string {
  const { completion, prompt, contentShape, ...rest } = st;
  void prompt;
  void contentShape;
  return JSON.stringify({ ...rest, texts: completion.head(1 << 20) });
}

interface Learned {
  tpl: ContentTemplate;
  /** State right after the adapter read the learning chunk. */
  st: CallState;
}

function learn(adapter: Adapter, event: string | null, data: string): Learned {
  const st = newState();
  const kind = adapter.onStreamPayload(event, data, st);
  assert.equal(kind, ChunkKind.Content, `not a content chunk: ${data}`);
  assert.ok(st.contentShape, `no content shape for ${data}`);
  const tpl = ContentTemplate.learn(data, event, st.contentShape, adapter.skipKeys ?? new Set(), st.provider);
  assert.ok(tpl, `no template for ${data}`);
  return { tpl, st };
}

/**
 * The soundness check: if the template matches `data`, the full path from the learned state
 * must give Content, add exactly the matched text (when kept), and change nothing else.
 */
function assertSound(adapter: Adapter, l: Learned, event: string | null, data: string): string | null {
  const text = event === l.tpl.event ? l.tpl.match(data) : null;
  if (text === null) return null;
  const copy = (): CallState => {
    const st = { ...structuredClone({ ...l.st, completion: null, prompt: null }), completion: new TextTally(1 << 20, (s) => s.length), prompt: l.st.prompt } as CallState;
    st.completion.add(l.st.completion.head(1 << 20));
    return st;
  };
  // what the call does with a matched chunk: the text, and the numbers the adapter reads
  const viaTemplate = copy();
  if (l.tpl.keep) viaTemplate.completion.add(text);
  if (l.tpl.readKeys !== null) adapter.onTemplateNumbers!(l.tpl.readKeys, l.tpl.numbers, viaTemplate);
  const viaJson = copy();
  const kind = adapter.onStreamPayload(event, data, viaJson);
  assert.equal(kind, ChunkKind.Content, `template matched a non-content chunk: ${data}`);
  assert.equal(snapshot(viaJson), snapshot(viaTemplate), `template matched but the full path did something else: ${data}`);
  return text;
}

/** Runs `fn` while counting the adapter's full JSON path (onStreamPayload calls). */
function withParseCount(adapter: Adapter, fn: (parses: { n: number }) => void): void {
  const parses = { n: 0 };
  const original = adapter.onStreamPayload;
  adapter.onStreamPayload = (event, data, st) => {
    parses.n++;
    return original.call(adapter, event, data, st);
  };
  try {
    fn(parses);
  } finally {
    adapter.onStreamPayload = original;
  }
}

const oai = (o: Record<string, unknown>): string =>
  JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1741569952, model: 'gpt-4o', system_fingerprint: 'fp_1', choices: [{ index: 0, delta: { content: 'x' }, logprobs: null, finish_reason: null }], usage: null, obfuscation: 'abc', ...o });
const choice = (c: Record<string, unknown>): Record<string, unknown> => ({ choices: [{ index: 0, delta: { content: 'x' }, logprobs: null, finish_reason: null, ...c }] });
const anth = (text: string, pad = ''): string => `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(text)}}${pad}}`;
const resp = (delta: string, seq: number, extra = ''): string => `{"type":"response.output_text.delta","sequence_number":${seq},"item_id":"msg_1","output_index":0,"content_index":0,"delta":${JSON.stringify(delta)},"logprobs":[],"obfuscation":"q${seq}"${extra}}`;
const olla = (text: string, at: string, done = false): string => JSON.stringify({ model: 'llama3.2', created_at: at, message: { role: 'assistant', content: text }, done });
const gem = (text: string, cand: number, extra: Record<string, unknown> = {}, part: Record<string, unknown> = {}): string =>
  JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text, ...part }] }, index: 0, ...extra }], usageMetadata: { promptTokenCount: 8, candidatesTokenCount: cand, totalTokenCount: 8 + cand, candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: cand }] }, modelVersion: 'gemini-2.5-flash', responseId: 'r1' });

describe('content templates', () => {
  test('OpenAI chat: text (with escapes), new ids/created/obfuscation match; anything else does not', () => {
    const l = learn(openaiChat, null, oai({}));
    assert.equal(assertSound(openaiChat, l, null, oai({ ...choice({ delta: { content: ' world' } }), obfuscation: 'zzzzzzzz', created: 1741569953 })), ' world');
    assert.equal(assertSound(openaiChat, l, null, oai(choice({ delta: { content: 'a "quoted"\nline \\ é 😀' } }))), 'a "quoted"\nline \\ é 😀');
    for (const d of [
      oai(choice({ delta: { content: '' } })),
      oai(choice({ delta: { content: 'x' }, finish_reason: 'stop' })),
      oai(choice({ delta: { role: 'assistant', content: 'x' } })),
      oai(choice({ delta: { tool_calls: [{ index: 0, id: 'c', function: { arguments: '{}' } }] } })),
      oai({ usage: { prompt_tokens: 1, completion_tokens: 2 } }),
      oai({ choices: [{ index: 0, delta: { content: 'x' }, logprobs: null, finish_reason: null }, { index: 1, delta: { content: 'y' }, logprobs: null, finish_reason: null }] }),
      oai({ error: { message: 'boom' } }),
      '[DONE]',
      '{"id":"chatcmpl-1"',
    ])
      assert.equal(assertSound(openaiChat, l, null, d), null, d);
    assert.equal(assertSound(openaiChat, l, 'error', oai({})), null, 'a different SSE event name');
    // skipped numbers must still be JSON numbers (the full path would reject the chunk)
    assert.equal(l.tpl.match(oai({}).replace('"created":1741569952', '"created":17-4')), null);
    assert.equal(l.tpl.match(oai({}).replace('"created":1741569952', '"created":1.5e3')), 'x');
    // a model or id the full path could not record yet (empty) keeps the chunk off templates
    const st = newState();
    assert.equal(openaiChat.onStreamPayload(null, oai({ model: '' }), st), ChunkKind.Content);
    assert.equal(st.contentShape, null, 'model still unknown: no template');
  });

  test('Anthropic: whitespace padding before the closing brace varies; other deltas do not match', () => {
    const l = learn(anthropicMessages, 'content_block_delta', anth('Hello'));
    assert.equal(assertSound(anthropicMessages, l, 'content_block_delta', anth(' there', '      ')), ' there');
    assert.equal(assertSound(anthropicMessages, l, 'content_block_delta', anth('', '')), null);
    assert.equal(assertSound(anthropicMessages, l, 'content_block_delta', '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x"}}'), null);
    assert.equal(assertSound(anthropicMessages, l, 'content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"x"}}'), null);
    const think = learn(anthropicMessages, 'content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}');
    assert.equal(think.tpl.keep, false, 'thinking is not completion text');
  });

  test('Responses and Ollama: per-chunk sequence numbers and timestamps are skipped', () => {
    const r = learn(openaiResponses, 'response.output_text.delta', resp('a', 1));
    assert.equal(assertSound(openaiResponses, r, 'response.output_text.delta', resp('b', 2)), 'b');
    assert.equal(assertSound(openaiResponses, r, 'response.output_text.delta', resp('b', 3, ',"error":{"code":"x"}')), null);
    const o = learn(ollamaGenerate, null, olla('a', '2025-05-19T09:26:59.678947Z'));
    assert.equal(assertSound(ollamaGenerate, o, null, olla('b', '2025-05-19T09:27:00.1Z')), 'b');
    assert.equal(assertSound(ollamaGenerate, o, null, olla('b', 't', true)), null);
  });

  test('Gemini: cumulative usage numbers are captured and read; totals are skipped; anything else does not match', () => {
    const l = learn(geminiGenerate, null, gem('Hello', 2));
    assert.deepEqual(l.tpl.readKeys, ['promptTokenCount', 'candidatesTokenCount']);
    assert.equal(assertSound(geminiGenerate, l, null, gem(' world "x" é', 17)), ' world "x" é');
    assert.deepEqual(l.tpl.numbers, [8, 17]);
    const st = structuredClone({ ...l.st, completion: null, prompt: null }) as unknown as CallState;
    geminiGenerate.onTemplateNumbers!(l.tpl.readKeys!, l.tpl.numbers, st);
    assert.equal(st.usage.output, 17, 'output tokens from the matched chunk');
    for (const d of [
      gem('x', 3, { finishReason: 'STOP' }),
      gem('', 3),
      gem('x', 3, {}, { thought: true }),
      gem('x', 3, {}, { functionCall: { name: 'f', args: {} } }),
      JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'a' }, { text: 'b' }] }, index: 0 }], usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 3, totalTokenCount: 11 }, modelVersion: 'gemini-2.5-flash', responseId: 'r1' }),
      gem('x', 3).replace('"promptTokenCount":8', '"promptTokenCount":8,"thoughtsTokenCount":4'),
      gem('x', 3).replace('"responseId":"r1"', '"responseId":"r2"'),
      gem('x', 3).replace('"candidatesTokenCount":3', '"candidatesTokenCount":"3"'),
      JSON.stringify({ error: { code: 429, message: 'x', status: 'RESOURCE_EXHAUSTED' } }),
    ])
      assert.equal(assertSound(geminiGenerate, l, null, d), null, d);
    // a shape whose numbers are not where the adapter read them gets no template
    assert.equal(ContentTemplate.learn(gem('x', 8), null, { key: 'text', text: 'x', keep: true, numbers: { promptTokenCount: 9 } }, geminiGenerate.skipKeys!, 'gcp.gemini'), null);
    assert.equal(ContentTemplate.learn(gem('x', 8), null, { key: 'text', text: 'x', keep: true, numbers: { nowhere: 1 } }, geminiGenerate.skipKeys!, 'gcp.gemini'), null);
  });

  test('SSE events: the fused match agrees with data extraction and refuses anything but one data line', () => {
    const l = learn(openaiChat, null, oai({}));
    const data = oai(choice({ delta: { content: 'hi' } }));
    const piece = `data: ${data}\n\ndata: ${data}\n\n`;
    assert.equal(l.tpl.matchSseEvent(piece, 0), 'hi');
    assert.equal(l.tpl.sseEventEnd, data.length + 8);
    assert.equal(l.tpl.matchSseEvent(piece, data.length + 8), 'hi');
    assert.equal(l.tpl.sseEventEnd, piece.length);
    assert.equal(l.tpl.matchSseEvent(`data:${data}\n\n`, 0), 'hi', 'no space after the colon');
    // the length bound that lets cut events skip the match: the shortest event of the shape meets it
    const shortest = `data:${oai({ ...choice({ delta: { content: 'x' } }), id: '', model: '', created: 0, obfuscation: '' })}\n\n`;
    assert.equal(l.tpl.matchSseEvent(shortest, 0), 'x');
    assert.ok(shortest.length >= l.tpl.minSseEventLength && shortest.length - 8 < l.tpl.minSseEventLength, `${shortest.length} vs ${l.tpl.minSseEventLength}`);
    // CRLF line ends (Gemini) whole within the piece; a bare CR or a CRLF cut at the end is not taken
    assert.equal(l.tpl.matchSseEvent(`data: ${data}\r\n\r\n`, 0), 'hi');
    assert.equal(l.tpl.sseEventEnd, data.length + 10);
    assert.equal(l.tpl.matchSseEvent(`data: ${data}\n\r\n`, 0), 'hi');
    for (const p of [`data: ${data}\r\r`, `data: ${data}\r\n\r`, `data: ${data}\r\n`, `data: ${data}\r\ndata: x\r\n\r\n`]) assert.equal(l.tpl.matchSseEvent(p, 0), null, JSON.stringify(p));
    for (const p of [`data: ${data}\n`, `data: ${data}\nid: 7\n\n`, `data: ${data}\ndata: x\n\n`, `event: x\ndata: ${data}\n\n`, `data:  ${data}\n\n`, `: c\ndata: ${data}\n\n`])
      assert.equal(l.tpl.matchSseEvent(p, 0), null, JSON.stringify(p));
    // the allocation-free form agrees: same end for a non-empty text, -1 otherwise
    for (const p of [piece, `data:${data}\n\n`, `data: ${oai(choice({ delta: { content: '' } }))}\n\n`, `data: ${data}\nid: 7\n\n`]) {
      const text = l.tpl.matchSseEvent(p, 0);
      assert.equal(l.tpl.testSseEvent(p, 0), text === null ? -1 : l.tpl.sseEventEnd, JSON.stringify(p));
    }
    // only JSON's own escapes match (the full path would reject the chunk as invalid JSON)
    const bad = `data: ${data.replace('"hi"', '"h\\xi"')}\n\n`;
    assert.equal(l.tpl.matchSseEvent(bad, 0), null);
    assert.equal(l.tpl.testSseEvent(bad, 0), -1);
    assert.equal(l.tpl.matchSseEvent(`data: ${oai(choice({ delta: { content: 'é\u2028"' } }))}\n\n`, 0), 'é\u2028"');
    const a = learn(anthropicMessages, 'content_block_delta', anth('Hello'));
    assert.equal(a.tpl.matchSseEvent(`event: content_block_delta\ndata: ${anth('x', '  ')}\n\n`, 0), 'x');
    assert.equal(a.tpl.matchSseEvent(`event: message_delta\ndata: ${anth('x')}\n\n`, 0), null);
  });

  test('streams of one shape share a compiled template; a different shape or key set does not', () => {
    const skip = openaiChat.skipKeys!;
    const a = ContentTemplate.forChunk(oai({ id: 'chatcmpl-a' }), null, { key: 'content', text: 'x', keep: true }, skip, 'openai');
    const b = ContentTemplate.forChunk(oai({ id: 'chatcmpl-b', ...choice({ delta: { content: 'y' } }) }), null, { key: 'content', text: 'y', keep: true }, skip, 'openai');
    assert.ok(a && a === b, 'same shape, other id: reused');
    const c = ContentTemplate.forChunk(oai({ service_tier: 'flex' }), null, { key: 'content', text: 'x', keep: true }, skip, 'openai');
    assert.ok(c && c !== a, 'a different literal: a new template');
    const d = ContentTemplate.forChunk(oai({}), null, { key: 'content', text: 'x', keep: true }, new Set(), 'openai');
    assert.ok(d && d !== a, 'other skip keys: a new template');
    assert.equal(d.match(oai({ id: 'other' })), null, 'without skip keys the id is a literal');
  });

  test('property: random mutations of a content chunk are matched only when the full path agrees', () => {
    const l = learn(openaiChat, null, oai({}));
    const a = learn(anthropicMessages, 'content_block_delta', anth('Hello'));
    const g = learn(geminiGenerate, null, gem('Hello', 2));
    const value = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.dictionary(fc.string({ maxLength: 4 }), fc.string(), { maxKeys: 2 }));
    const mutation = fc.oneof(
      fc.record({ text: fc.string({ unit: 'grapheme' }) }),
      fc.record({ key: fc.constantFrom('id', 'object', 'created', 'model', 'system_fingerprint', 'usage', 'obfuscation', 'error', 'service_tier', 'x'), value }),
      fc.record({ choiceKey: fc.constantFrom('index', 'finish_reason', 'logprobs', 'delta', 'text', 'stop_reason'), value }),
      fc.record({ deltaKey: fc.constantFrom('content', 'role', 'refusal', 'reasoning_content', 'tool_calls'), value }),
    );
    let matched = 0;
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 4 }), fc.string({ unit: 'grapheme' }), fc.nat({ max: 6 }), (muts, atext, pad) => {
        const o = JSON.parse(oai({})) as Record<string, unknown> & { choices: Array<Record<string, unknown> & { delta: Record<string, unknown> }> };
        for (const m of muts) {
          const delta = o.choices[0]!.delta;
          const deltaIsObject = typeof delta === 'object' && delta !== null;
          if ('text' in m) {
            if (deltaIsObject) delta['content'] = m.text;
          } else if ('key' in m) o[m.key] = m.value;
          else if ('choiceKey' in m) (o.choices[0] as Record<string, unknown>)[m.choiceKey] = m.value;
          else if (deltaIsObject) delta[m.deltaKey] = m.value;
        }
        if (assertSound(openaiChat, l, null, JSON.stringify(o)) !== null) matched++;
        if (assertSound(anthropicMessages, a, 'content_block_delta', anth(atext, ' '.repeat(pad))) !== null) matched++;
        // Gemini: the same text and usage mutations through its shape
        const go = JSON.parse(gem('Hello', 2)) as { candidates: Array<Record<string, unknown>>; usageMetadata: Record<string, unknown> } & Record<string, unknown>;
        for (const m of muts) {
          if ('text' in m) (go.candidates[0]!['content'] as { parts: Array<Record<string, unknown>> }).parts[0]!['text'] = m.text;
          else if ('key' in m) go.usageMetadata[m.key === 'usage' ? 'candidatesTokenCount' : m.key === 'created' ? 'totalTokenCount' : m.key] = m.value;
          else if ('choiceKey' in m) go.candidates[0]![m.choiceKey] = m.value;
          else go[m.deltaKey] = m.value;
        }
        if (assertSound(geminiGenerate, g, null, JSON.stringify(go)) !== null) matched++;
      }),
      { numRuns: 2000 },
    );
    assert.ok(matched > 1000, `the property must exercise matches too (${matched})`);
  });
  test('property: a template learned in one call is sound for another call once its ids are known', () => {
    // learned in call A (chatcmpl-1 / gpt-4o); used in call B whose first chunk set other ids
    const l = learn(openaiChat, null, oai({}));
    const other = newState();
    openaiChat.onStreamPayload(null, oai({ id: 'chatcmpl-zz', model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }), other);
    assert.ok(openaiChat.templatesReady!(other), 'ids known after the role chunk');
    assert.equal(other.provider, l.tpl.provider);
    assert.equal(openaiChat.templatesReady!(newState()), false, 'not before');
    let matched = 0;
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string(), fc.nat(), fc.string(), fc.constantFrom('gpt-4o', 'gpt-4o-mini', ''), (text, id, created, obf, model) => {
        const data = oai({ id, created, obfuscation: obf, model, ...choice({ delta: { content: text } }) });
        if (!ContentTemplate.recentFor(data, null, openaiChat.skipKeys!, other.provider)) return;
        if (assertSound(openaiChat, { tpl: l.tpl, st: other }, null, data) !== null) matched++;
      }),
      { numRuns: 500 },
    );
    assert.ok(matched > 300, `the property must exercise matches (${matched})`);
  });

  test('pipeline: a stream that borrows another call\'s template gives the same record as on its own, with one JSON parse less', () => {
    // Anthropic and Responses streams open with events no template is for (message_start,
    // content_block_start, ping, response.created, ...): the first text delta still borrows
    for (const [name, adapter] of [
      ['openai_chat_stream_usage', openaiChat],
      ['anthropic_stream', anthropicMessages],
      ['openai_responses_stream', openaiResponses],
    ] as const) {
      const fx = loadFixtures().find((f) => f.name === name);
      assert.ok(fx, `fixture ${name}`);
      withParseCount(adapter, (parses) => {
        ContentTemplate.forgetRecent();
        const alone = run(fixtureEvents(fx, 2)).records;
        const aloneParses = parses.n;
        ContentTemplate.forgetRecent();
        run(fixtureEvents(fx, 1));
        parses.n = 0;
        const borrowed = run(fixtureEvents(fx, 2)).records;
        assert.equal(alone.length, 1, name);
        assert.deepEqual(borrowed, alone, name);
        assert.equal(parses.n, aloneParses - 1, `${name}: the first content chunk took the template`);
      });
    }
  });

  test('pipeline: Gemini chunks after the first take the template and still carry their cumulative usage', () => {
    const fx = structuredClone(loadFixtures().find((f) => f.name === 'gemini_stream_ai_studio'));
    assert.ok(fx?.response, 'fixture');
    const piece = (text: string, cand: number, at: number) => ({
      at_ms: at,
      data: `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text }] } }], usageMetadata: { promptTokenCount: 2, candidatesTokenCount: cand, totalTokenCount: 2 + cand }, modelVersion: 'gemini-2.0-flash' })}\r\n\r\n`,
    });
    // no finishReason chunk at the end: the last usage the record has came through the template
    fx.response!.pieces = [piece('Hello', 1, 400), piece(' there', 2, 450), piece(' you', 5, 500), piece('!', 7, 550)];
    withParseCount(geminiGenerate, (parses) => {
      const [rec] = run(fixtureEvents(fx!, 1)).records;
      assert.ok(rec && rec.schema === 'llmslo.llm_call/v1');
      assert.equal(rec['gen_ai.usage.output_tokens'], 7);
      assert.equal(rec['gen_ai.usage.input_tokens'], 2);
      assert.equal(rec.content_chunks, 4);
      assert.equal(parses.n, 1, 'one JSON parse: the chunk the template was learned from');
    });
  });

  test('Anthropic and Responses text deltas are stateless: a template from another call is sound in a fresh state', () => {
    for (const [adapter, event, make] of [
      [anthropicMessages, 'content_block_delta', (t: string, pad: number) => anth(t, ' '.repeat(pad))],
      [openaiResponses, 'response.output_text.delta', (t: string, pad: number) => resp(t, pad + 1)],
    ] as const) {
      const l = learn(adapter, event, make('Hello', 0));
      assert.ok(adapter.templatesReady!(newState()));
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme' }), fc.nat({ max: 9 }), (t, pad) => {
          assertSound(adapter, { tpl: l.tpl, st: newState() }, event, make(t, pad));
        }),
        { numRuns: 300 },
      );
    }
  });
});
