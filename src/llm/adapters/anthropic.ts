// Anthropic Messages (`POST /v1/messages`), stream and non-stream. Usage: input tokens are
// input + cache reads + cache writes (semconv); message_delta usage is cumulative (a final
// value, not an increment), so it replaces what message_start said.
import { addFinish, ChunkKind, isObj, num, parseJson, strOrNull, tallyPromptContent } from '../adapter.ts';
import type { Adapter, CallState } from '../adapter.ts';
import { extractProviderError } from '../errors.ts';

interface AnthropicUsageRaw {
  input: number | null;
  cacheRead: number | null;
  cacheCreation: number | null;
  output: number | null;
}

const raw = new WeakMap<CallState, AnthropicUsageRaw>();

function readUsage(u: unknown, st: CallState): void {
  if (!isObj(u)) return;
  let r = raw.get(st);
  if (!r) {
    r = { input: null, cacheRead: null, cacheCreation: null, output: null };
    raw.set(st, r);
  }
  // cumulative: a present field replaces the earlier value
  r.input = num(u['input_tokens']) ?? r.input;
  r.cacheRead = num(u['cache_read_input_tokens']) ?? r.cacheRead;
  r.cacheCreation = num(u['cache_creation_input_tokens']) ?? r.cacheCreation;
  r.output = num(u['output_tokens']) ?? r.output;
  st.usageSeen = true;
  st.usage.input = r.input === null ? null : r.input + (r.cacheRead ?? 0) + (r.cacheCreation ?? 0);
  st.usage.output = r.output;
  st.usage.cacheRead = r.cacheRead;
  st.usage.cacheCreation = r.cacheCreation;
}

export const anthropicMessages: Adapter = {
  // a content_block_delta changes nothing but the completion text, in any state
  templatesReady: () => true,
  onRequest(body, st) {
    st.usageExpected = true;
    if (!isObj(body)) return;
    st.requestModel = strOrNull(body['model']) ?? st.requestModel;
    if (body['stream'] === true) st.requestedStream = true;
    tallyPromptContent(body['system'], st.prompt);
    tallyPromptContent(body['messages'], st.prompt);
  },
  onStreamPayload(event, data, st) {
    if (event === 'ping') return ChunkKind.Ignore;
    const o = parseJson(data);
    if (!isObj(o)) return ChunkKind.Ignore;
    const type = typeof o['type'] === 'string' ? (o['type'] as string) : event;
    switch (type) {
      case 'ping':
        return ChunkKind.Ignore;
      case 'message_start': {
        const m = o['message'];
        if (isObj(m)) {
          st.responseModel = strOrNull(m['model']);
          st.responseId = strOrNull(m['id']);
          readUsage(m['usage'], st);
        }
        return ChunkKind.Chunk;
      }
      case 'content_block_start': {
        const b = o['content_block'];
        // A tool_use block start names the tool: that is output, but carries no text yet.
        if (isObj(b) && typeof b['text'] === 'string' && b['text'].length > 0) {
          st.completion.add(b['text']);
          return ChunkKind.Content;
        }
        return ChunkKind.Chunk;
      }
      case 'content_block_delta': {
        const d = o['delta'];
        if (!isObj(d)) return ChunkKind.Chunk;
        const key = d['text'] != null ? 'text' : d['partial_json'] != null ? 'partial_json' : 'thinking';
        const t = d[key];
        if (typeof t === 'string' && t.length > 0) {
          const keep = d['type'] !== 'thinking_delta';
          if (keep) st.completion.add(t);
          st.contentShape = { key, text: t, keep };
          return ChunkKind.Content;
        }
        return ChunkKind.Chunk;
      }
      case 'message_delta': {
        const d = o['delta'];
        if (isObj(d)) addFinish(st, d['stop_reason']);
        readUsage(o['usage'], st);
        return ChunkKind.Chunk;
      }
      case 'message_stop':
        st.terminal = true;
        return ChunkKind.Chunk;
      case 'error':
        st.streamError = extractProviderError(o) ?? { code: 'error', tokens: [], message: '' };
        return ChunkKind.Chunk;
      default:
        return ChunkKind.Chunk;
    }
  },
  onBody(body, st) {
    if (!isObj(body)) return;
    if (body['type'] === 'error') {
      st.streamError = extractProviderError(body);
      return;
    }
    st.responseModel = strOrNull(body['model']);
    st.responseId = strOrNull(body['id']);
    addFinish(st, body['stop_reason']);
    readUsage(body['usage'], st);
    const content = body['content'];
    if (Array.isArray(content))
      for (const b of content) if (isObj(b) && typeof b['text'] === 'string') st.completion.add(b['text']);
    st.terminal = true;
  },
};
