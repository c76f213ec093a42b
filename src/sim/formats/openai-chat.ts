// OpenAI Chat Completions: POST /v1/chat/completions, SSE with `data: {json}\n\n` frames,
// a role-only first chunk, optional usage chunk (`choices: []`), then `data: [DONE]`.
import type { CallContext, ChatFormat, FinishReason, ParsedCall, Usage } from './types.ts';
import { WireBadRequest, contentText, optionalMaxTokens, requireModel, requireObject } from './types.ts';
import { openaiError, openaiHeaders, openaiStreamErrorObject } from './openai-common.ts';

function usageObject(u: Usage) {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export const openaiChat: ChatFormat = {
  api: 'openai.chat_completions',
  provider: 'openai',
  operation: 'chat',
  preambleAtHeaders: false,

  parse(body: unknown): ParsedCall {
    const o = requireObject(body);
    const model = requireModel(o);
    if (!Array.isArray(o.messages) || o.messages.length === 0) throw new WireBadRequest("'messages' must be a non-empty array");
    const inputText = o.messages
      .map((m) => (m && typeof m === 'object' ? contentText((m as Record<string, unknown>).content) : ''))
      .join('\n');
    const so = o.stream_options;
    const includeUsage = !!(so && typeof so === 'object' && (so as Record<string, unknown>).include_usage === true);
    return { model, stream: o.stream === true, includeUsage, inputText, maxTokens: optionalMaxTokens(o, 'max_completion_tokens', 'max_tokens') };
  },

  streamContentType: () => 'text/event-stream; charset=utf-8',

  preamble(ctx: CallContext): string {
    const head = `{"id":"${ctx.responseId}","object":"chat.completion.chunk","created":${ctx.created},"model":${JSON.stringify(ctx.model)},"service_tier":"default","system_fingerprint":"fp_sim0001","choices":[{"index":0,"delta":`;
    ctx.prefix = `data: ${head}{"content":`;
    ctx.suffix = `},"logprobs":null,"finish_reason":null}]${ctx.includeUsage ? ',"usage":null' : ''},"obfuscation":"`;
    return `data: ${head}{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]${ctx.includeUsage ? ',"usage":null' : ''},"obfuscation":"${ctx.obfuscate()}"}\n\n`;
  },

  delta(ctx: CallContext, text: string): string {
    return `${ctx.prefix}${JSON.stringify(text)}${ctx.suffix}${ctx.obfuscate()}"}\n\n`;
  },

  finish(ctx: CallContext, usage: Usage, reason: FinishReason): string {
    const base = { id: ctx.responseId, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model, service_tier: 'default', system_fingerprint: 'fp_sim0001' };
    let out = `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: reason }], ...(ctx.includeUsage ? { usage: null } : {}), obfuscation: ctx.obfuscate() })}\n\n`;
    if (ctx.includeUsage) out += `data: ${JSON.stringify({ ...base, choices: [], usage: usageObject(usage), obfuscation: ctx.obfuscate() })}\n\n`;
    return out + 'data: [DONE]\n\n';
  },

  streamError(_ctx: CallContext, kind: string): string {
    return `data: ${JSON.stringify({ error: openaiStreamErrorObject(kind) })}\n\n`;
  },

  complete(ctx: CallContext, text: string, usage: Usage, reason: FinishReason): unknown {
    return {
      id: ctx.responseId,
      object: 'chat.completion',
      created: ctx.created,
      model: ctx.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null, annotations: [] }, logprobs: null, finish_reason: reason }],
      usage: usageObject(usage),
      service_tier: 'default',
      system_fingerprint: 'fp_sim0001',
    };
  },

  error: openaiError,
  headers: openaiHeaders,
};
