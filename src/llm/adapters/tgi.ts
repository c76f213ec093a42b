// Hugging Face TGI native API: /generate (one JSON) and /generate_stream (SSE, `data:` without
// a space). Usage: details.generated_tokens and the x-prompt-tokens / x-generated-tokens headers.
import { addFinish, ChunkKind, isObj, num, parseJson, tallyPromptContent } from '../adapter.ts';
import type { Adapter, CallState } from '../adapter.ts';
import { extractProviderError } from '../errors.ts';

function readDetails(d: unknown, st: CallState): void {
  if (!isObj(d)) return;
  addFinish(st, d['finish_reason']);
  const gen = num(d['generated_tokens']);
  if (gen !== null) {
    st.usageSeen = true;
    st.usage.output = gen;
  }
  const prefill = d['prefill'];
  if (Array.isArray(prefill) && prefill.length > 0) st.usage.input = prefill.length;
}

export const tgiGenerate: Adapter = {
  onRequest(body, st) {
    if (!isObj(body)) return;
    tallyPromptContent(body['inputs'], st.prompt);
  },
  onStreamPayload(_event, data, st) {
    const o = parseJson(data);
    if (!isObj(o)) return ChunkKind.Ignore;
    if ('error' in o) {
      st.streamError = extractProviderError(o) ?? { code: 'error', tokens: [], message: '' };
      return ChunkKind.Chunk;
    }
    let content = false;
    const tok = o['token'];
    if (isObj(tok) && tok['special'] !== true && typeof tok['text'] === 'string' && tok['text'].length > 0) {
      content = true;
      st.completion.add(tok['text']);
    }
    if (o['generated_text'] !== null && o['generated_text'] !== undefined) st.terminal = true;
    if (o['details'] !== null && o['details'] !== undefined) {
      readDetails(o['details'], st);
      st.terminal = true;
    }
    return content ? ChunkKind.Content : ChunkKind.Chunk;
  },
  onBody(body, st) {
    const o = Array.isArray(body) ? body[0] : body;
    if (!isObj(o)) return;
    if ('error' in o) {
      st.streamError = extractProviderError(o);
      return;
    }
    if (typeof o['generated_text'] === 'string') st.completion.add(o['generated_text']);
    readDetails(o['details'], st);
    st.terminal = true;
  },
};
