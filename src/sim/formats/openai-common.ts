// OpenAI error bodies and headers, shared by Chat Completions, Responses and embeddings.
import type { ErrorContext, ErrorKind, ErrorReply, HeaderContext } from './types.ts';
import { goDuration } from './types.ts';

export function openaiError(kind: ErrorKind, ctx: ErrorContext): ErrorReply {
  const e = (status: number, message: string, type: string, code: string | null, param: string | null = null, headers?: Record<string, string>): ErrorReply => ({
    status,
    body: { error: { message, type, param, code } },
    headers,
  });
  switch (kind) {
    case 'rate_limited':
      return e(
        429,
        `Rate limit reached for ${ctx.model} in organization org-llmslo-sim on requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in ${ctx.retryAfterS}s.`,
        'requests',
        'rate_limit_exceeded',
        null,
        { 'retry-after': String(Math.ceil(ctx.retryAfterS)), 'retry-after-ms': String(Math.round(ctx.retryAfterS * 1000)), 'x-ratelimit-remaining-requests': '0' },
      );
    case 'quota_exhausted':
      return e(429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota', null, { 'x-should-retry': 'false' });
    case 'overloaded':
      return e(503, 'The engine is currently overloaded, please try again later.', 'server_error', 'server_is_overloaded');
    case 'server_error':
      if (ctx.status === 502) return e(502, 'Bad gateway.', 'server_error', null);
      if (ctx.status === 503) return e(503, 'The server is temporarily unable to handle the request.', 'server_error', 'service_unavailable');
      return e(500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
    case 'context_length_exceeded':
      return e(
        400,
        `This model's maximum context length is ${ctx.contextWindow} tokens. However, your messages resulted in ${ctx.inputTokens} tokens. Please reduce the length of the messages.`,
        'invalid_request_error',
        'context_length_exceeded',
        'messages',
      );
    case 'model_not_found':
      return e(404, `The model \`${ctx.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    case 'auth':
      return e(401, 'Incorrect API key provided: sk-sim***. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
    case 'bad_request':
      return e(400, ctx.message ?? 'Invalid request.', 'invalid_request_error', null);
  }
}

export function openaiHeaders(ctx: HeaderContext): Record<string, string> {
  const r = ctx.rate;
  return {
    'x-request-id': ctx.requestId,
    'openai-processing-ms': String(Math.max(0, Math.round(ctx.processingMs))),
    'openai-version': '2020-10-01',
    'openai-organization': 'org-llmslo-sim',
    'x-ratelimit-limit-requests': String(r.limitRequests),
    'x-ratelimit-limit-tokens': String(r.limitTokens),
    'x-ratelimit-remaining-requests': String(r.remainingRequests),
    'x-ratelimit-remaining-tokens': String(r.remainingTokens),
    'x-ratelimit-reset-requests': goDuration(r.resetRequestsS),
    'x-ratelimit-reset-tokens': goDuration(r.resetTokensS),
  };
}

/** The error object an in-stream OpenAI error event carries. */
export function openaiStreamErrorObject(kind: string): { message: string; type: string; code: string | null; param: null } {
  switch (kind) {
    case 'rate_limited':
      return { message: 'Rate limit reached. Please try again later.', type: 'requests', code: 'rate_limit_exceeded', param: null };
    case 'quota_exhausted':
      return { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota', param: null };
    case 'overloaded':
      return { message: 'The server is overloaded, please try again later.', type: 'server_error', code: 'server_is_overloaded', param: null };
    default:
      return { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: 'server_error', param: null };
  }
}
