// OpenAI Responses API: POST /v1/responses. Named SSE events with sequence numbers; no
// [DONE], the stream ends after response.completed (or error + response.failed).
import type { CallContext, ChatFormat, FinishReason, ParsedCall, Usage } from './types.ts';
import { WireBadRequest, contentText, optionalMaxTokens, requireModel, requireObject } from './types.ts';
import { openaiError, openaiHeaders, openaiStreamErrorObject } from './openai-common.ts';

function responseObject(ctx: CallContext, status: string, extra: Record<string, unknown> = {}) {
  return {
    id: ctx.responseId,
    object: 'response',
    created_at: ctx.created,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: ctx.model,
    output: [] as unknown[],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: true,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: null as unknown,
    user: null,
    metadata: {},
    ...extra,
  };
}

function usageObject(u: Usage) {
  return { input_tokens: u.input, input_tokens_details: { cached_tokens: 0 }, output_tokens: u.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input + u.output };
}

function messageItem(ctx: CallContext, status: string, text: string | null) {
  return { id: ctx.itemId, type: 'message', status, content: text === null ? [] : [{ type: 'output_text', annotations: [], logprobs: [], text }], role: 'assistant' };
}

function ev(ctx: CallContext, type: string, payload: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...payload, sequence_number: ctx.seq++ })}\n\n`;
}

export const openaiResponses: ChatFormat = {
  api: 'openai.responses',
  provider: 'openai',
  operation: 'chat',
  preambleAtHeaders: true,

  parse(body: unknown): ParsedCall {
    const o = requireObject(body);
    const model = requireModel(o);
    let inputText: string;
    if (typeof o.input === 'string') inputText = o.input;
    else if (Array.isArray(o.input)) inputText = o.input.map((m) => (m && typeof m === 'object' ? contentText((m as Record<string, unknown>).content) : String(m))).join('\n');
    else throw new WireBadRequest("'input' must be a string or an array of input items");
    if (typeof o.instructions === 'string') inputText = `${o.instructions}\n${inputText}`;
    return { model, stream: o.stream === true, includeUsage: true, inputText, maxTokens: optionalMaxTokens(o, 'max_output_tokens') };
  },

  streamContentType: () => 'text/event-stream; charset=utf-8',

  preamble(ctx: CallContext): string {
    ctx.seq = 0;
    ctx.prefix = `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","content_index":0,"delta":`;
    ctx.suffix = `,"item_id":"${ctx.itemId}","logprobs":[],"obfuscation":"`;
    return (
      ev(ctx, 'response.created', { response: responseObject(ctx, 'in_progress') }) +
      ev(ctx, 'response.in_progress', { response: responseObject(ctx, 'in_progress') }) +
      ev(ctx, 'response.output_item.added', { output_index: 0, item: messageItem(ctx, 'in_progress', null) }) +
      ev(ctx, 'response.content_part.added', { content_index: 0, item_id: ctx.itemId, output_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } })
    );
  },

  delta(ctx: CallContext, text: string): string {
    ctx.text += text;
    return `${ctx.prefix}${JSON.stringify(text)}${ctx.suffix}${ctx.obfuscate()}","output_index":0,"sequence_number":${ctx.seq++}}\n\n`;
  },

  finish(ctx: CallContext, usage: Usage): string {
    const item = messageItem(ctx, 'completed', ctx.text);
    return (
      ev(ctx, 'response.output_text.done', { content_index: 0, item_id: ctx.itemId, logprobs: [], output_index: 0, text: ctx.text }) +
      ev(ctx, 'response.content_part.done', { content_index: 0, item_id: ctx.itemId, output_index: 0, part: item.content[0] }) +
      ev(ctx, 'response.output_item.done', { output_index: 0, item }) +
      ev(ctx, 'response.completed', { response: responseObject(ctx, 'completed', { completed_at: Math.floor(Date.now() / 1000), output: [item], usage: usageObject(usage) }) })
    );
  },

  streamError(ctx: CallContext, kind: string): string {
    const err = openaiStreamErrorObject(kind);
    return (
      ev(ctx, 'error', { error: { type: err.type, code: err.code, message: err.message, param: null } }) +
      ev(ctx, 'response.failed', { response: responseObject(ctx, 'failed', { error: { code: err.code ?? 'server_error', message: err.message } }) })
    );
  },

  complete(ctx: CallContext, text: string, usage: Usage, _reason: FinishReason): unknown {
    ctx.text = text;
    return responseObject(ctx, 'completed', { completed_at: Math.floor(Date.now() / 1000), output: [messageItem(ctx, 'completed', text)], usage: usageObject(usage) });
  },

  error: openaiError,
  headers: openaiHeaders,
};
