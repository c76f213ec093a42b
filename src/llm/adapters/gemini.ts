// Google Gemini generateContent / streamGenerateContent (AI Studio and Vertex) and
// embedContent / batchEmbedContents. usageMetadata is cumulative on every chunk (take the
// last); thoughts are output: output = candidatesTokenCount + thoughtsTokenCount.
import { addFinish, ChunkKind, isObj, num, parseJson, strOrNull, tallyPromptContent } from '../adapter.ts';
import type { Adapter, CallState } from '../adapter.ts';
import type { ContentShape } from '../template.ts';
import { extractProviderError } from '../errors.ts';

function readUsage(u: unknown, st: CallState): void {
  if (!isObj(u)) return;
  const prompt = num(u['promptTokenCount']);
  const cand = num(u['candidatesTokenCount']);
  const thoughts = num(u['thoughtsTokenCount']);
  if (prompt === null && cand === null && thoughts === null) return;
  st.usageSeen = true;
  st.usage.input = prompt;
  st.usage.output = cand === null && thoughts === null ? null : (cand ?? 0) + (thoughts ?? 0);
  st.usage.reasoning = thoughts;
  st.usage.cacheRead = num(u['cachedContentTokenCount']);
}

const USAGE_KEYS = ['promptTokenCount', 'candidatesTokenCount', 'thoughtsTokenCount', 'cachedContentTokenCount'];

/**
 * The template shape of a plain text chunk: one candidate with one text part and no finish
 * reason, nothing else the adapter acts on; its usage counts (which change every chunk) are
 * numbers the template hands back (onTemplateNumbers).
 */
function plainTextShape(o: Record<string, unknown>): ContentShape | null {
  if ('error' in o || 'promptFeedback' in o) return null;
  const cands = o['candidates'];
  if (!Array.isArray(cands) || cands.length !== 1 || !isObj(cands[0]) || 'finishReason' in cands[0]) return null;
  const ct = cands[0]['content'];
  const parts = isObj(ct) ? ct['parts'] : null;
  if (!Array.isArray(parts) || parts.length !== 1 || !isObj(parts[0])) return null;
  const p = parts[0];
  const text = p['text'];
  if (typeof text !== 'string' || text.length === 0 || 'functionCall' in p || 'executableCode' in p || 'inlineData' in p) return null;
  const numbers: Record<string, number> = {};
  const u = o['usageMetadata'];
  if (isObj(u)) for (const k of USAGE_KEYS) if (typeof u[k] === 'number') numbers[k] = u[k];
  return { key: 'text', text, keep: p['thought'] !== true, numbers };
}

/** One GenerateContentResponse (a stream chunk or the whole body). Returns whether it carried content. */
function readChunk(o: Record<string, unknown>, st: CallState): boolean {
  if (isObj(o['error'])) {
    st.streamError = extractProviderError(o);
    return false;
  }
  st.responseModel = strOrNull(o['modelVersion']) ?? st.responseModel;
  st.responseId = strOrNull(o['responseId']) ?? st.responseId;
  readUsage(o['usageMetadata'], st);
  const pf = o['promptFeedback'];
  if (isObj(pf) && typeof pf['blockReason'] === 'string') {
    st.contentBlocked = true;
    addFinish(st, pf['blockReason']);
    st.terminal = true;
  }
  let content = false;
  const cands = o['candidates'];
  if (Array.isArray(cands)) {
    for (const c of cands) {
      if (!isObj(c)) continue;
      if (typeof c['finishReason'] === 'string') {
        addFinish(st, c['finishReason']);
        st.terminal = true;
      }
      const ct = c['content'];
      const parts = isObj(ct) ? ct['parts'] : null;
      if (!Array.isArray(parts)) continue;
      for (const p of parts) {
        if (!isObj(p)) continue;
        if (typeof p['text'] === 'string' && p['text'].length > 0) {
          content = true;
          if (p['thought'] !== true) st.completion.add(p['text']);
        } else if (isObj(p['functionCall']) || isObj(p['executableCode']) || isObj(p['inlineData'])) content = true;
      }
    }
  }
  return content;
}

export const geminiGenerate: Adapter = {
  // usage numbers the adapter never reads (they change every chunk as well)
  skipKeys: new Set(['totalTokenCount', 'tokenCount']),
  onRequest(body, st) {
    st.usageExpected = true;
    if (!isObj(body)) return;
    tallyPromptContent(body['contents'], st.prompt);
    tallyPromptContent(body['systemInstruction'], st.prompt);
  },
  onStreamPayload(_event, data, st) {
    const o = parseJson(data);
    if (!isObj(o)) return ChunkKind.Ignore;
    if (!readChunk(o, st)) return ChunkKind.Chunk;
    st.contentShape = plainTextShape(o);
    return ChunkKind.Content;
  },
  onTemplateNumbers(keys, values, st) {
    // the usage object the full path would have read: exactly these keys held numbers
    const u: Record<string, number> = {};
    for (let i = 0; i < keys.length; i++) u[keys[i]!] = values[i]!;
    readUsage(u, st);
  },
  onBody(body, st) {
    // streamGenerateContent without alt=sse returns a JSON array of chunks
    const chunks = Array.isArray(body) ? body : [body];
    for (const c of chunks) if (isObj(c)) readChunk(c, st);
    if (!Array.isArray(body) && isObj(body) && !isObj(body['error'])) st.terminal = true;
  },
};

export const geminiEmbed: Adapter = {
  onRequest(body, st) {
    if (!isObj(body)) return;
    tallyPromptContent(body['content'], st.prompt);
    tallyPromptContent(body['requests'], st.prompt);
  },
  onStreamPayload() {
    return ChunkKind.Ignore;
  },
  onBody(body, st) {
    if (!isObj(body)) return;
    if (isObj(body['error'])) {
      st.streamError = extractProviderError(body);
      return;
    }
    if (isObj(body['embedding'])) st.vectors = 1;
    else if (Array.isArray(body['embeddings'])) st.vectors = body['embeddings'].length;
    readUsage(body['usageMetadata'], st);
    st.terminal = true;
  },
};
