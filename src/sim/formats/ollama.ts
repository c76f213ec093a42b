// Ollama native API: POST /api/chat and /api/generate, NDJSON (application/x-ndjson),
// streaming unless "stream": false, a final `done: true` line with ns durations and counts.
import type { CallContext, ChatFormat, ErrorContext, ErrorKind, ErrorReply, FinishReason, HeaderContext, ParsedCall, Usage } from './types.ts';
import { WireBadRequest, contentText, requireModel, requireObject } from './types.ts';

function numPredict(o: Record<string, unknown>): number | null {
  const opts = o.options;
  if (!opts || typeof opts !== 'object') return null;
  const v = (opts as Record<string, unknown>).num_predict;
  if (v === undefined || v === null || v === -1) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new WireBadRequest('options.num_predict must be an integer >= 1 or -1');
  return v;
}

function createdAt(): string {
  return new Date().toISOString().replace('Z', '000Z');
}

function piece(ctx: CallContext, text: string): Record<string, unknown> {
  return ctx.variant === 'chat' ? { message: { role: 'assistant', content: text } } : { response: text };
}

function finalObject(ctx: CallContext, text: string, usage: Usage, reason: FinishReason): Record<string, unknown> {
  const now = Number(process.hrtime.bigint());
  const first = ctx.firstTokenNs || now;
  return {
    model: ctx.model,
    created_at: createdAt(),
    ...piece(ctx, text),
    done: true,
    done_reason: reason,
    total_duration: Math.max(0, now - ctx.startedNs),
    load_duration: 1_250_000,
    prompt_eval_count: usage.input,
    prompt_eval_duration: Math.max(0, first - ctx.startedNs),
    eval_count: usage.output,
    eval_duration: Math.max(0, now - first),
  };
}

function ollamaFormat(variant: 'chat' | 'generate'): ChatFormat {
  return {
    api: `ollama.${variant}`,
    provider: 'ollama',
    operation: variant === 'chat' ? 'chat' : 'text_completion',
    preambleAtHeaders: false,

    parse(body: unknown): ParsedCall {
      const o = requireObject(body);
      const model = requireModel(o);
      let inputText: string;
      if (variant === 'chat') {
        if (!Array.isArray(o.messages)) throw new WireBadRequest("'messages' must be an array");
        inputText = o.messages.map((m) => (m && typeof m === 'object' ? contentText((m as Record<string, unknown>).content) : '')).join('\n');
      } else {
        if (typeof o.prompt !== 'string') throw new WireBadRequest("'prompt' must be a string");
        inputText = typeof o.system === 'string' ? `${o.system}\n${o.prompt}` : o.prompt;
      }
      return { model, stream: o.stream !== false, includeUsage: true, inputText, maxTokens: numPredict(o), variant };
    },

    streamContentType: () => 'application/x-ndjson',

    preamble(ctx: CallContext): string {
      ctx.prefix = `{"model":${JSON.stringify(ctx.model)},"created_at":"`;
      ctx.suffix = variant === 'chat' ? '","message":{"role":"assistant","content":' : '","response":';
      return '';
    },

    delta(ctx: CallContext, text: string): string {
      return `${ctx.prefix}${createdAt()}${ctx.suffix}${JSON.stringify(text)}${variant === 'chat' ? '}' : ''},"done":false}\n`;
    },

    finish(ctx: CallContext, usage: Usage, reason: FinishReason): string {
      return `${JSON.stringify(finalObject(ctx, '', usage, reason))}\n`;
    },

    streamError(_ctx: CallContext, kind: string): string {
      const msg = kind === 'overloaded' ? 'server busy, please try again.  maximum pending requests exceeded' : kind === 'rate_limited' ? 'rate limit exceeded' : 'an error was encountered while running the model: unexpected EOF';
      return `${JSON.stringify({ error: msg })}\n`;
    },

    complete(ctx: CallContext, text: string, usage: Usage, reason: FinishReason): unknown {
      return finalObject(ctx, text, usage, reason);
    },

    error(kind: ErrorKind, ctx: ErrorContext): ErrorReply {
      switch (kind) {
        case 'rate_limited':
          return { status: 429, body: { error: 'rate limit exceeded' }, headers: { 'retry-after': String(Math.ceil(ctx.retryAfterS)) } };
        case 'quota_exhausted':
          return { status: 429, body: { error: 'quota exhausted' } };
        case 'overloaded':
          return { status: 503, body: { error: 'server busy, please try again.  maximum pending requests exceeded' } };
        case 'server_error':
          return { status: ctx.status ?? 500, body: { error: 'llama runner process has terminated: signal: killed' } };
        case 'context_length_exceeded':
          return { status: 400, body: { error: `input length (${ctx.inputTokens} tokens) exceeds the model's context length (${ctx.contextWindow} tokens)` } };
        case 'model_not_found':
          return { status: 404, body: { error: `model "${ctx.model}" not found, try pulling it first` } };
        case 'auth':
          return { status: 401, body: { error: 'unauthorized' } };
        case 'bad_request':
          return { status: 400, body: { error: ctx.message ?? 'invalid request' } };
      }
    },

    headers(ctx: HeaderContext): Record<string, string> {
      return { 'x-request-id': ctx.requestId };
    },
  };
}

export const ollamaChat = ollamaFormat('chat');
export const ollamaGenerate = ollamaFormat('generate');
