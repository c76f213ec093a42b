// Google Gemini: POST .../models/{model}:streamGenerateContent?alt=sse (SSE framed with
// \r\n\r\n, cumulative usageMetadata on every chunk, finishReason on the last one) and
// :generateContent. Without alt=sse the stream is one JSON array sent incrementally.
import type { CallContext, ChatFormat, ErrorContext, ErrorKind, ErrorReply, FinishReason, HeaderContext, ParsedCall, Usage } from './types.ts';
import { WireBadRequest, contentText, requireObject } from './types.ts';

const MODEL_PATH = /\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;
const FINISH: Record<FinishReason, string> = { stop: 'STOP', length: 'MAX_TOKENS' };

export function geminiPathModel(pathname: string): { model: string; stream: boolean } | null {
  const m = MODEL_PATH.exec(pathname);
  return m ? { model: decodeURIComponent(m[1]), stream: m[2] === 'streamGenerateContent' } : null;
}

function usageMetadata(input: number, output: number) {
  return {
    promptTokenCount: input,
    candidatesTokenCount: output,
    totalTokenCount: input + output,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: input }],
  };
}

function chunk(ctx: CallContext, text: string, finish: string | null) {
  return {
    candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 }],
    usageMetadata: usageMetadata(ctx.inputTokens, ctx.outputTokens),
    modelVersion: ctx.model,
    responseId: ctx.responseId,
  };
}

function frame(ctx: CallContext, obj: unknown): string {
  const json = JSON.stringify(obj);
  if (ctx.variant === 'sse') return `data: ${json}\r\n\r\n`;
  const sep = ctx.seq++ === 0 ? '[' : ',\r\n';
  return sep + json;
}

function gError(code: number, status: string, message: string, details?: unknown[]) {
  return { error: { code, message, status, ...(details ? { details } : {}) } };
}

export const gemini: ChatFormat = {
  api: 'gemini.generate_content',
  provider: 'gemini',
  operation: 'generate_content',
  preambleAtHeaders: false,

  parse(body: unknown, url: URL): ParsedCall {
    const path = geminiPathModel(url.pathname);
    if (!path) throw new WireBadRequest('path must end in models/{model}:generateContent or :streamGenerateContent');
    const o = requireObject(body);
    if (!Array.isArray(o.contents) || o.contents.length === 0) throw new WireBadRequest('contents is not specified');
    const parts = o.contents.map((c) => (c && typeof c === 'object' ? contentText((c as Record<string, unknown>).parts) : ''));
    const sys = o.systemInstruction ?? o.system_instruction;
    if (sys && typeof sys === 'object') parts.unshift(contentText((sys as Record<string, unknown>).parts));
    let maxTokens: number | null = null;
    const gc = o.generationConfig ?? o.generation_config;
    if (gc && typeof gc === 'object') {
      const v = (gc as Record<string, unknown>).maxOutputTokens ?? (gc as Record<string, unknown>).max_output_tokens;
      if (v !== undefined) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new WireBadRequest('generationConfig.maxOutputTokens must be an integer >= 1');
        maxTokens = v;
      }
    }
    const variant = path.stream ? (url.searchParams.get('alt') === 'sse' ? 'sse' : 'json_array') : 'json';
    return { model: path.model, stream: path.stream, includeUsage: true, inputText: parts.join('\n'), maxTokens, variant };
  },

  streamContentType: (call) => (call.variant === 'sse' ? 'text/event-stream' : 'application/json; charset=UTF-8'),

  preamble(ctx: CallContext): string {
    ctx.seq = 0;
    return '';
  },

  delta(ctx: CallContext, text: string, last: boolean, finish: FinishReason): string {
    return frame(ctx, chunk(ctx, text, last ? FINISH[finish] : null));
  },

  finish(ctx: CallContext): string {
    return ctx.variant === 'sse' ? '' : ctx.seq === 0 ? '[]' : '\r\n]';
  },

  streamError(ctx: CallContext, kind: string): string {
    const e = kind === 'rate_limited' || kind === 'quota_exhausted' ? gError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).') : kind === 'server_error' ? gError(500, 'INTERNAL', 'An internal error has occurred.') : gError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
    return ctx.variant === 'sse' ? `data: ${JSON.stringify(e)}\r\n\r\n` : frame(ctx, e);
  },

  complete(ctx: CallContext, text: string, usage: Usage, reason: FinishReason): unknown {
    ctx.outputTokens = usage.output;
    return chunk(ctx, text, FINISH[reason]);
  },

  error(kind: ErrorKind, ctx: ErrorContext): ErrorReply {
    const retry = { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${ctx.retryAfterS}s` };
    switch (kind) {
      case 'rate_limited':
        return {
          status: 429,
          body: gError(429, 'RESOURCE_EXHAUSTED', `You exceeded your current quota, please check your plan and billing details. Please retry in ${ctx.retryAfterS}s.`, [
            { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel', quotaDimensions: { model: ctx.model } }] },
            retry,
          ]),
          headers: { 'retry-after': String(Math.ceil(ctx.retryAfterS)) },
        };
      case 'quota_exhausted':
        return {
          status: 429,
          body: gError(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.', [
            { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests', quotaId: 'GenerateRequestsPerDayPerProjectPerModel', quotaDimensions: { model: ctx.model } }] },
          ]),
        };
      case 'overloaded':
        return { status: 503, body: gError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.') };
      case 'server_error':
        return { status: ctx.status ?? 500, body: ctx.status === 503 ? gError(503, 'UNAVAILABLE', 'The service is currently unavailable.') : gError(ctx.status ?? 500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting') };
      case 'context_length_exceeded':
        return { status: 400, body: gError(400, 'INVALID_ARGUMENT', `The input token count (${ctx.inputTokens}) exceeds the maximum number of tokens allowed (${ctx.contextWindow}).`) };
      case 'model_not_found':
        return { status: 404, body: gError(404, 'NOT_FOUND', `models/${ctx.model} is not found for API version v1beta, or is not supported for generateContent.`) };
      case 'auth':
        return { status: 400, body: gError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }]) };
      case 'bad_request':
        return { status: 400, body: gError(400, 'INVALID_ARGUMENT', ctx.message ?? 'Invalid JSON payload received.') };
    }
  },

  headers(ctx: HeaderContext): Record<string, string> {
    return { 'x-request-id': ctx.requestId, 'server-timing': `gfet4t7; dur=${Math.max(0, Math.round(ctx.processingMs))}`, vary: 'Origin, X-Origin, Referer' };
  },
};
