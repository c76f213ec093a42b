// Ollama native API: /api/chat and /api/generate (NDJSON stream by default, one object when
// "stream":false) and /api/embed, /api/embeddings. Usage: prompt_eval_count / eval_count.
import { addFinish, ChunkKind, isObj, num, parseJson, strOrNull, tallyPromptContent } from '../adapter.ts';
import type { Adapter, CallState } from '../adapter.ts';
import { extractProviderError } from '../errors.ts';

function readLine(o: Record<string, unknown>, st: CallState): boolean {
  if (typeof o['error'] === 'string' || isObj(o['error'])) {
    st.streamError = extractProviderError(o) ?? { code: 'error', tokens: [], message: '' };
    return false;
  }
  if (st.responseModel === null) st.responseModel = strOrNull(o['model']);
  let content = false;
  // A plain content line: one text (chat message content or generate response), nothing else.
  let texts = 0;
  let shapeKey = '';
  let shapeText = '';
  const m = o['message'];
  if (isObj(m)) {
    const c = m['content'];
    if (typeof c === 'string' && c.length > 0) {
      content = true;
      texts++;
      shapeKey = 'content';
      shapeText = c;
      st.completion.add(c);
    }
    if ((typeof m['thinking'] === 'string' && m['thinking'].length > 0) || (Array.isArray(m['tool_calls']) && m['tool_calls'].length > 0)) {
      content = true;
      texts += 2; // never template-matched
    }
  }
  const r = o['response'];
  if (typeof r === 'string' && r.length > 0) {
    content = true;
    texts++;
    shapeKey = 'response';
    shapeText = r;
    st.completion.add(r);
  }
  if (typeof o['thinking'] === 'string' && o['thinking'].length > 0) {
    content = true;
    texts += 2;
  }
  if (texts === 1 && o['done'] === false) st.contentShape = { key: shapeKey, text: shapeText, keep: true };
  if (o['done'] === true) {
    st.terminal = true;
    addFinish(st, o['done_reason'] ?? 'stop');
    const pe = num(o['prompt_eval_count']);
    const ev = num(o['eval_count']);
    if (pe !== null || ev !== null) {
      st.usageSeen = true;
      st.usage.input = pe;
      st.usage.output = ev;
    }
  }
  return content;
}

export const ollamaGenerate: Adapter = {
  skipKeys: new Set(['created_at']),
  onRequest(body, st) {
    st.usageExpected = true;
    if (!isObj(body)) return;
    st.requestModel = strOrNull(body['model']) ?? st.requestModel;
    // Ollama streams unless told not to.
    st.requestedStream = body['stream'] !== false;
    tallyPromptContent(body['messages'] ?? body['prompt'], st.prompt);
    tallyPromptContent(body['system'], st.prompt);
  },
  onStreamPayload(_event, data, st) {
    const o = parseJson(data);
    if (!isObj(o)) return ChunkKind.Ignore;
    return readLine(o, st) ? ChunkKind.Content : ChunkKind.Chunk;
  },
  onBody(body, st) {
    if (isObj(body)) readLine(body, st);
  },
};

export const ollamaEmbed: Adapter = {
  onRequest(body, st) {
    if (!isObj(body)) return;
    st.requestModel = strOrNull(body['model']) ?? st.requestModel;
    tallyPromptContent(body['input'] ?? body['prompt'], st.prompt);
  },
  onStreamPayload() {
    return ChunkKind.Ignore;
  },
  onBody(body, st) {
    if (!isObj(body)) return;
    if (body['error'] !== undefined) {
      st.streamError = extractProviderError(body);
      return;
    }
    st.responseModel = strOrNull(body['model']) ?? st.responseModel;
    if (Array.isArray(body['embeddings'])) st.vectors = body['embeddings'].length;
    else if (Array.isArray(body['embedding'])) st.vectors = 1;
    const pe = num(body['prompt_eval_count']);
    if (pe !== null) {
      st.usageSeen = true;
      st.usage.input = pe;
    }
    st.terminal = true;
  },
};
