// Anthropic Messages: POST /v1/messages. Named SSE events (message_start ... message_stop),
// JSON padded with whitespace before some closing braces as the real API does, `ping`
// keepalives, cumulative usage in message_delta, `event: error` for mid-stream failures.
import type { CallContext, ChatFormat, ErrorContext, ErrorKind, ErrorReply, FinishReason, HeaderContext, ParsedCall, Usage } from './types.ts';
import { WireBadRequest, contentText, requireModel, requireObject } from './types.ts';

const STOP: Record<FinishReason, string> = { stop: 'end_turn', length: 'max_tokens' };

function usageObject(u: Usage) {
  return { input_tokens: u.input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: u.output };
}

/** Inserts whitespace before the last closing brace, like Anthropic's side-channel padding. */
function pad(json: string, n: number): string {
  return n <= 0 ? json : `${json.slice(0, -1)}${' '.repeat(n)}}`;
}

function errorBody(type: string, message: string, requestId: string) {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

function streamErrorType(kind: string): [string, string] {
  switch (kind) {
    case 'rate_limited':
      return ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'];
    case 'quota_exhausted':
      return ['billing_error', 'Your credit balance is too low to access the Anthropic API.'];
    case 'server_error':
      return ['api_error', 'Internal server error'];
    default:
      return ['overloaded_error', 'Overloaded'];
  }
}

export const anthropicMessages: ChatFormat = {
  api: 'anthropic.messages',
  provider: 'anthropic',
  operation: 'chat',
  preambleAtHeaders: true,

  parse(body: unknown): ParsedCall {
    const o = requireObject(body);
    const model = requireModel(o);
    if (!Array.isArray(o.messages) || o.messages.length === 0) throw new WireBadRequest('messages: Field required');
    if (typeof o.max_tokens !== 'number' || !Number.isInteger(o.max_tokens) || o.max_tokens < 1) throw new WireBadRequest('max_tokens: Field required (an integer >= 1)');
    const parts = o.messages.map((m) => (m && typeof m === 'object' ? contentText((m as Record<string, unknown>).content) : ''));
    if (o.system !== undefined) parts.unshift(contentText(o.system));
    return { model, stream: o.stream === true, includeUsage: true, inputText: parts.join('\n'), maxTokens: o.max_tokens };
  },

  streamContentType: () => 'text/event-stream; charset=utf-8',

  preamble(ctx: CallContext): string {
    ctx.prefix = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":';
    ctx.suffix = '}}\n\n';
    const start = {
      type: 'message_start',
      message: {
        model: ctx.model,
        id: ctx.responseId,
        type: 'message',
        role: 'assistant',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usageObject({ input: ctx.inputTokens, output: 1 }), cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, service_tier: 'standard' },
      },
    };
    return (
      `event: message_start\ndata: ${pad(JSON.stringify(start), 8)}\n\n` +
      `event: content_block_start\ndata: ${pad(JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), 3)}\n\n` +
      'event: ping\ndata: {"type": "ping"}\n\n'
    );
  },

  delta(ctx: CallContext, text: string): string {
    return `${ctx.prefix}${JSON.stringify(text)}${ctx.suffix}`;
  },

  finish(ctx: CallContext, usage: Usage, reason: FinishReason): string {
    return (
      `event: content_block_stop\ndata: ${pad('{"type":"content_block_stop","index":0}', 8)}\n\n` +
      `event: message_delta\ndata: ${pad(JSON.stringify({ type: 'message_delta', delta: { stop_reason: STOP[reason], stop_sequence: null }, usage: usageObject(usage) }), 2)}\n\n` +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    );
  },

  streamError(_ctx: CallContext, kind: string): string {
    const [type, message] = streamErrorType(kind);
    return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`;
  },

  complete(ctx: CallContext, text: string, usage: Usage, reason: FinishReason): unknown {
    return {
      id: ctx.responseId,
      type: 'message',
      role: 'assistant',
      model: ctx.model,
      content: [{ type: 'text', text }],
      stop_reason: STOP[reason],
      stop_sequence: null,
      usage: { ...usageObject(usage), service_tier: 'standard' },
    };
  },

  error(kind: ErrorKind, ctx: ErrorContext): ErrorReply {
    const id = ctx.requestId;
    switch (kind) {
      case 'rate_limited':
        return {
          status: 429,
          body: errorBody('rate_limit_error', 'This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.', id),
          headers: { 'retry-after': String(Math.ceil(ctx.retryAfterS)), 'anthropic-ratelimit-requests-remaining': '0' },
        };
      case 'quota_exhausted':
        return { status: 400, body: errorBody('invalid_request_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.', id), headers: { 'x-should-retry': 'false' } };
      case 'overloaded':
        return { status: 529, body: errorBody('overloaded_error', 'Overloaded', id) };
      case 'server_error':
        return { status: ctx.status ?? 500, body: errorBody('api_error', 'Internal server error', id) };
      case 'context_length_exceeded':
        return { status: 400, body: errorBody('invalid_request_error', `prompt is too long: ${ctx.inputTokens} tokens > ${ctx.contextWindow} maximum`, id) };
      case 'model_not_found':
        return { status: 404, body: errorBody('not_found_error', `model: ${ctx.model}`, id) };
      case 'auth':
        return { status: 401, body: errorBody('authentication_error', 'invalid x-api-key', id), headers: { 'x-should-retry': 'false' } };
      case 'bad_request':
        return { status: 400, body: errorBody('invalid_request_error', ctx.message ?? 'Invalid request', id) };
    }
  },

  headers(ctx: HeaderContext): Record<string, string> {
    const r = ctx.rate;
    const reset = (s: number) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      'request-id': ctx.requestId,
      'x-request-id': ctx.requestId,
      'anthropic-organization-id': '00000000-0000-4000-8000-00000000511a',
      'anthropic-ratelimit-requests-limit': String(r.limitRequests),
      'anthropic-ratelimit-requests-remaining': String(r.remainingRequests),
      'anthropic-ratelimit-requests-reset': reset(r.resetRequestsS),
      'anthropic-ratelimit-tokens-limit': String(r.limitTokens),
      'anthropic-ratelimit-tokens-remaining': String(r.remainingTokens),
      'anthropic-ratelimit-tokens-reset': reset(r.resetTokensS),
      'x-envoy-upstream-service-time': String(Math.max(0, Math.round(ctx.processingMs))),
    };
  },
};
