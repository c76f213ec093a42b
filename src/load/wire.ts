// Builds raw HTTP requests for each API and classifies response events, for the runners
// that speak HTTP themselves (Node fetch, curl). The Python runner mirrors classify().
import type { ApiName, RequestSpec, WireRequest } from './types.ts';

export function buildRequest(spec: RequestSpec): WireRequest {
  const base = spec.baseUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: spec.stream ? 'text/event-stream' : 'application/json' };
  if (spec.traceparent) headers.traceparent = spec.traceparent;
  const messages = [{ role: 'user', content: spec.prompt }];
  let path: string;
  let body: unknown;
  switch (spec.api) {
    case 'chat':
      path = '/v1/chat/completions';
      headers.authorization = 'Bearer sk-sim';
      body = { model: spec.model, messages, max_tokens: spec.maxTokens, stream: spec.stream, ...(spec.stream && spec.includeUsage ? { stream_options: { include_usage: true } } : {}) };
      break;
    case 'responses':
      path = '/v1/responses';
      headers.authorization = 'Bearer sk-sim';
      body = { model: spec.model, input: spec.prompt, max_output_tokens: spec.maxTokens, stream: spec.stream };
      break;
    case 'embeddings':
      path = '/v1/embeddings';
      headers.authorization = 'Bearer sk-sim';
      body = { model: spec.model, input: spec.prompt };
      break;
    case 'messages':
      path = '/v1/messages';
      headers['x-api-key'] = 'sk-ant-sim';
      headers['anthropic-version'] = '2023-06-01';
      body = { model: spec.model, messages, max_tokens: spec.maxTokens, stream: spec.stream };
      break;
    case 'gemini':
      path = `/v1beta/models/${encodeURIComponent(spec.model)}:${spec.stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
      headers['x-goog-api-key'] = 'sim';
      body = { contents: [{ role: 'user', parts: [{ text: spec.prompt }] }], generationConfig: { maxOutputTokens: spec.maxTokens } };
      break;
    case 'ollama':
      path = '/api/chat';
      body = { model: spec.model, messages, stream: spec.stream, options: { num_predict: spec.maxTokens } };
      break;
    case 'rag':
      path = '/ask';
      body = { question: spec.prompt, stream: spec.stream };
      break;
  }
  return { url: base + path, headers, body: JSON.stringify(body) };
}

export interface EventInfo {
  content: boolean;
  inputTokens?: number;
  outputTokens?: number;
  errorCode?: string;
  terminal?: boolean;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** Classifies one SSE event / NDJSON line of a streamed response. */
export function classify(api: ApiName, event: string | null, data: string): EventInfo {
  if (data === '[DONE]') return { content: false, terminal: true };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return { content: false };
  }
  if (!o || typeof o !== 'object') return { content: false };
  const err = o.error as Record<string, unknown> | string | undefined;
  if (err) return { content: false, errorCode: typeof err === 'string' ? err : String(err.code ?? err.type ?? err.status ?? 'error'), terminal: true };
  switch (api) {
    case 'chat': {
      const choices = o.choices as Array<{ delta?: { content?: string } }> | undefined;
      const u = o.usage as Record<string, unknown> | null | undefined;
      return { content: !!choices?.some((c) => c.delta?.content), inputTokens: num(u?.prompt_tokens), outputTokens: num(u?.completion_tokens) };
    }
    case 'responses': {
      const type = o.type as string;
      if (type === 'response.completed' || type === 'response.failed' || type === 'response.incomplete') {
        const u = (o.response as Record<string, unknown> | undefined)?.usage as Record<string, unknown> | undefined;
        return { content: false, terminal: true, inputTokens: num(u?.input_tokens), outputTokens: num(u?.output_tokens), errorCode: type === 'response.failed' ? 'response.failed' : undefined };
      }
      return { content: type === 'response.output_text.delta' && !!o.delta };
    }
    case 'messages': {
      const type = o.type as string;
      if (type === 'message_start') return { content: false, inputTokens: num(((o.message as Record<string, unknown>)?.usage as Record<string, unknown>)?.input_tokens) };
      if (type === 'message_delta') {
        const u = o.usage as Record<string, unknown> | undefined;
        return { content: false, inputTokens: num(u?.input_tokens), outputTokens: num(u?.output_tokens) };
      }
      if (type === 'message_stop') return { content: false, terminal: true };
      return { content: type === 'content_block_delta' };
    }
    case 'gemini': {
      const c = o.candidates as Array<{ content?: { parts?: Array<{ text?: string }> }; finishReason?: string }> | undefined;
      const u = o.usageMetadata as Record<string, unknown> | undefined;
      return {
        content: !!c?.some((x) => x.content?.parts?.some((p) => p.text)),
        inputTokens: num(u?.promptTokenCount),
        outputTokens: num(u?.candidatesTokenCount),
        terminal: !!c?.some((x) => x.finishReason),
      };
    }
    case 'ollama': {
      const m = o.message as Record<string, unknown> | undefined;
      return { content: !!(m?.content || o.response), terminal: o.done === true, inputTokens: num(o.prompt_eval_count), outputTokens: num(o.eval_count) };
    }
    case 'rag':
      return { content: typeof o.delta === 'string' && o.delta.length > 0, terminal: o.done === true, inputTokens: num(o.input_tokens), outputTokens: num(o.output_tokens) };
    case 'embeddings':
      return { content: false };
  }
}

/** Usage from a non-streamed JSON body. */
export function usageOf(api: ApiName, body: unknown): { input?: number; output?: number; errorCode?: string } {
  if (!body || typeof body !== 'object') return {};
  const o = body as Record<string, unknown>;
  if (o.error) {
    const e = o.error as Record<string, unknown> | string;
    return { errorCode: typeof e === 'string' ? e : String(e.code ?? e.type ?? e.status ?? 'error') };
  }
  switch (api) {
    case 'chat':
    case 'embeddings': {
      const u = o.usage as Record<string, unknown> | undefined;
      return { input: num(u?.prompt_tokens), output: api === 'chat' ? num(u?.completion_tokens) : 0 };
    }
    case 'responses':
    case 'messages': {
      const u = o.usage as Record<string, unknown> | undefined;
      return { input: num(u?.input_tokens), output: num(u?.output_tokens) };
    }
    case 'gemini': {
      const u = o.usageMetadata as Record<string, unknown> | undefined;
      return { input: num(u?.promptTokenCount), output: num(u?.candidatesTokenCount) };
    }
    case 'ollama':
      return { input: num(o.prompt_eval_count), output: num(o.eval_count) };
    case 'rag':
      return { input: num(o.input_tokens), output: num(o.output_tokens) };
  }
}

/** Incremental SSE / NDJSON splitter: feed text, get complete events. */
export class EventSplitter {
  private buf = '';
  constructor(private readonly ndjson: boolean) {}

  push(text: string): Array<{ event: string | null; data: string }> {
    this.buf += text;
    const out: Array<{ event: string | null; data: string }> = [];
    if (this.ndjson) {
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (line) out.push({ event: null, data: line });
      }
      return out;
    }
    for (;;) {
      const m = /\r\n\r\n|\n\n|\r\r/.exec(this.buf);
      if (!m) break;
      const block = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      let event: string | null = null;
      const data: string[] = [];
      for (const line of block.split(/\r\n|\n|\r/)) {
        if (line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) out.push({ event, data: data.join('\n') });
    }
    return out;
  }
}

export function isNdjson(api: ApiName): boolean {
  return api === 'ollama';
}
