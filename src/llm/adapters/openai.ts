// OpenAI Chat Completions / legacy Completions / Embeddings / Responses, and every server that
// speaks the same wire format (Azure OpenAI, vLLM, TGI's /v1, llama.cpp server, LiteLLM, Ollama's /v1).
import { addFinish, ChunkKind, isObj, num, parseJson, strOrNull, tallyPromptContent } from '../adapter.ts';
import type { Adapter, CallState } from '../adapter.ts';
import { extractProviderError } from '../errors.ts';

function readChatUsage(u: unknown, st: CallState): void {
  if (!isObj(u)) return;
  const input = num(u['prompt_tokens']) ?? num(u['input_tokens']);
  const output = num(u['completion_tokens']) ?? num(u['output_tokens']);
  if (input === null && output === null) return;
  st.usageSeen = true;
  st.usage.input = input;
  st.usage.output = output ?? (st.operation === 'embeddings' ? null : 0);
  const pd = u['prompt_tokens_details'] ?? u['input_tokens_details'];
  if (isObj(pd)) st.usage.cacheRead = num(pd['cached_tokens']);
  const cd = u['completion_tokens_details'] ?? u['output_tokens_details'];
  if (isObj(cd)) st.usage.reasoning = num(cd['reasoning_tokens']);
}

/** Server fingerprints that tell an OpenAI-compatible server apart. */
function refineProvider(o: Record<string, unknown>, st: CallState): void {
  if (st.provider !== 'openai_compatible') return;
  const fp = o['system_fingerprint'];
  if (fp === 'fp_ollama') st.provider = 'ollama';
  else if ('timings' in o) st.provider = 'llama_cpp';
  else if ('prompt_logprobs' in o || 'kv_transfer_params' in o) st.provider = 'vllm';
  else {
    const choices = o['choices'];
    if (Array.isArray(choices) && isObj(choices[0]) && 'stop_reason' in choices[0]) st.provider = 'vllm';
  }
}

function readCommonRequest(body: unknown, st: CallState): void {
  if (!isObj(body)) return;
  st.requestModel = strOrNull(body['model']) ?? st.requestModel;
  if (body['stream'] === true) st.requestedStream = true;
}

const DELTA_TEXT_KEYS = ['content', 'reasoning_content', 'reasoning', 'refusal'];

export const openaiChat: Adapter = {
  // `obfuscation`: random padding against size side channels; `created`: seconds, may tick mid-stream;
  // `id` and `model` are read only until known (the first chunk, usually role-only, sets them):
  // hence templatesReady.
  skipKeys: new Set(['obfuscation', 'created', 'id', 'model']),
  templatesReady: (st) => st.responseModel !== null && st.responseId !== null,
  onRequest(body, st) {
    readCommonRequest(body, st);
    // Streams carry usage only when asked for; non-stream bodies always do.
    if (isObj(body)) {
      const so = body['stream_options'];
      st.usageExpected = !st.requestedStream || (isObj(so) && so['include_usage'] === true);
    }
    if (isObj(body)) tallyPromptContent(body['messages'] ?? body['prompt'], st.prompt);
  },
  onStreamPayload(event, data, st) {
    if (data === '[DONE]') {
      st.terminal = true;
      return ChunkKind.Ignore;
    }
    const o = parseJson(data);
    if (!isObj(o)) return ChunkKind.Ignore;
    if (event === 'error' || 'error' in o) {
      st.streamError = extractProviderError(o) ?? { code: 'error', tokens: [], message: '' };
      return ChunkKind.Chunk;
    }
    if (st.responseModel === null) st.responseModel = strOrNull(o['model']);
    if (st.responseId === null) st.responseId = strOrNull(o['id']);
    refineProvider(o, st);
    if (o['usage'] !== null && o['usage'] !== undefined) readChatUsage(o['usage'], st);
    let content = false;
    // A plain content chunk: one choice, one text, no finish reason, usage or tool call.
    let shapeKey: string | null = null;
    let shapeText = '';
    let texts = 0;
    const choices = o['choices'];
    if (Array.isArray(choices)) {
      for (const c of choices) {
        if (!isObj(c)) continue;
        addFinish(st, c['finish_reason']);
        const d = c['delta'];
        if (isObj(d)) {
          for (const k of DELTA_TEXT_KEYS) {
            const t = d[k];
            if (typeof t === 'string' && t.length > 0) {
              content = true;
              texts++;
              shapeKey = k;
              shapeText = t;
              if (k === 'content' || k === 'refusal') st.completion.add(t);
            }
          }
          const tc = d['tool_calls'];
          if (Array.isArray(tc) && tc.length > 0) {
            content = true;
            texts += 2; // tool calls are never template-matched
            for (const call of tc) {
              if (isObj(call) && isObj(call['function'])) {
                const args = call['function']['arguments'];
                if (typeof args === 'string') st.completion.add(args);
              }
            }
          }
        } else if (typeof c['text'] === 'string' && c['text'].length > 0) {
          // legacy /v1/completions
          content = true;
          texts++;
          shapeKey = 'text';
          shapeText = c['text'];
          st.completion.add(c['text']);
        }
      }
      // `id`/`model` are template holes only once known: until then the full path still reads them
      const idsKnown = (st.responseModel !== null || !('model' in o)) && (st.responseId !== null || !('id' in o));
      if (idsKnown && texts === 1 && choices.length === 1 && shapeKey !== null && (o['usage'] === null || o['usage'] === undefined) && isObj(choices[0]) && (choices[0]['finish_reason'] ?? null) === null)
        st.contentShape = { key: shapeKey, text: shapeText, keep: shapeKey === 'content' || shapeKey === 'refusal' || shapeKey === 'text' };
    }
    return content ? ChunkKind.Content : ChunkKind.Chunk;
  },
  onBody(body, st) {
    if (!isObj(body)) return;
    if ('error' in body && body['error'] !== null) {
      st.streamError = extractProviderError(body);
      return;
    }
    st.responseModel = strOrNull(body['model']);
    st.responseId = strOrNull(body['id']);
    refineProvider(body, st);
    readChatUsage(body['usage'], st);
    const choices = body['choices'];
    if (Array.isArray(choices)) {
      for (const c of choices) {
        if (!isObj(c)) continue;
        addFinish(st, c['finish_reason']);
        const m = c['message'];
        if (isObj(m) && typeof m['content'] === 'string') st.completion.add(m['content']);
        if (typeof c['text'] === 'string') st.completion.add(c['text']);
      }
    }
    st.terminal = true;
  },
};

export const openaiEmbeddings: Adapter = {
  onRequest(body, st) {
    readCommonRequest(body, st);
    if (isObj(body)) tallyPromptContent(body['input'], st.prompt);
  },
  onStreamPayload() {
    return ChunkKind.Ignore;
  },
  onBody(body, st) {
    if (!isObj(body)) return;
    if ('error' in body && body['error'] !== null) {
      st.streamError = extractProviderError(body);
      return;
    }
    st.responseModel = strOrNull(body['model']);
    readChatUsage(body['usage'], st);
    const data = body['data'];
    if (Array.isArray(data)) st.vectors = data.length;
    st.terminal = true;
  },
};

function readResponse(r: Record<string, unknown>, st: CallState): void {
  st.responseModel = strOrNull(r['model']) ?? st.responseModel;
  st.responseId = strOrNull(r['id']) ?? st.responseId;
  if (r['usage'] !== null && r['usage'] !== undefined) readChatUsage(r['usage'], st);
  const status = r['status'];
  if (status === 'completed') addFinish(st, 'stop');
  const inc = r['incomplete_details'];
  if (isObj(inc)) addFinish(st, inc['reason']);
  const out = r['output'];
  if (Array.isArray(out)) {
    for (const item of out) {
      if (isObj(item) && item['type'] === 'function_call') addFinish(st, 'tool_calls');
    }
  }
}

const RESPONSES_CONTENT_DELTAS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
  'response.audio.delta',
  'response.audio.transcript.delta',
  'response.code_interpreter_call_code.delta',
  'response.custom_tool_call_input.delta',
  'response.mcp_call_arguments.delta',
]);

export const openaiResponses: Adapter = {
  skipKeys: new Set(['obfuscation', 'sequence_number', 'item_id']),
  // a text delta event changes nothing but the completion text, in any state
  templatesReady: () => true,
  onRequest(body, st) {
    readCommonRequest(body, st);
    st.usageExpected = true;
    if (isObj(body)) {
      tallyPromptContent(body['input'], st.prompt);
      tallyPromptContent(body['instructions'], st.prompt);
    }
  },
  onStreamPayload(event, data, st) {
    if (data === '[DONE]') return ChunkKind.Ignore;
    const o = parseJson(data);
    if (!isObj(o)) return ChunkKind.Ignore;
    const type = typeof o['type'] === 'string' ? (o['type'] as string) : event;
    if (type === null) return ChunkKind.Chunk;
    if (RESPONSES_CONTENT_DELTAS.has(type)) {
      const d = o['delta'];
      if (typeof d === 'string' && d.length > 0) {
        const keep = type !== 'response.reasoning_summary_text.delta' && type !== 'response.reasoning_text.delta';
        if (keep) st.completion.add(d);
        if (!('error' in o)) st.contentShape = { key: 'delta', text: d, keep };
        return ChunkKind.Content;
      }
      return ChunkKind.Chunk;
    }
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
      case 'response.queued':
        if (isObj(o['response'])) readResponse(o['response'], st);
        return ChunkKind.Chunk;
      case 'response.completed':
      case 'response.incomplete':
        if (isObj(o['response'])) readResponse(o['response'], st);
        st.terminal = true;
        return ChunkKind.Chunk;
      case 'response.failed':
        if (isObj(o['response'])) readResponse(o['response'], st);
        st.terminal = true;
        if (st.streamError === null) st.streamError = extractProviderError(o) ?? { code: 'response.failed', tokens: [], message: '' };
        return ChunkKind.Chunk;
      case 'error':
        st.streamError = extractProviderError(o) ?? extractProviderError({ error: o }) ?? { code: 'error', tokens: [], message: '' };
        return ChunkKind.Chunk;
      default:
        return ChunkKind.Chunk;
    }
  },
  onBody(body, st) {
    if (!isObj(body)) return;
    if (isObj(body['error'])) {
      st.streamError = extractProviderError(body);
      return;
    }
    readResponse(body, st);
    if (body['status'] === 'failed') st.streamError = extractProviderError({ error: body['error'] ?? { code: 'failed' } });
    const out = body['output'];
    if (Array.isArray(out)) {
      for (const item of out) {
        if (!isObj(item) || !Array.isArray(item['content'])) continue;
        for (const part of item['content']) if (isObj(part) && typeof part['text'] === 'string') st.completion.add(part['text']);
      }
    }
    st.terminal = true;
  },
};
