// What each wire format (OpenAI chat/responses, Anthropic, Gemini, Ollama) provides to the
// simulated provider: request parsing, response framing, error bodies and headers.
import type { StreamErrorKind } from '../faults.ts';

export type ProviderName = 'openai' | 'anthropic' | 'gemini' | 'ollama';
export type ErrorKind = 'rate_limited' | 'quota_exhausted' | 'overloaded' | 'server_error' | 'context_length_exceeded' | 'model_not_found' | 'auth' | 'bad_request';
export type FinishReason = 'stop' | 'length';

export interface ParsedCall {
  model: string;
  stream: boolean;
  /** OpenAI chat only: stream_options.include_usage. Other APIs always report usage. */
  includeUsage: boolean;
  inputText: string;
  maxTokens: number | null;
  /** Format-specific framing choice (Gemini: 'sse' or 'json_array'; Ollama: 'chat' or 'generate'). */
  variant?: string;
}

export interface CallContext {
  requestId: string;
  responseId: string;
  itemId: string;
  model: string;
  created: number;
  inputTokens: number;
  includeUsage: boolean;
  /** Responses API sequence_number. */
  seq: number;
  /** Output text so far (only kept by formats that must repeat it at the end). */
  text: string;
  outputTokens: number;
  /** Per-call precomputed frame pieces. */
  prefix: string;
  suffix: string;
  obfuscate: () => string;
  startedNs: number;
  firstTokenNs: number;
  variant: string;
}

export interface Usage {
  input: number;
  output: number;
}

export interface ErrorContext {
  model: string;
  requestId: string;
  inputTokens: number;
  contextWindow: number;
  status?: number;
  retryAfterS: number;
  message?: string;
}

export interface ErrorReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RateLimitState {
  limitRequests: number;
  remainingRequests: number;
  resetRequestsS: number;
  limitTokens: number;
  remainingTokens: number;
  resetTokensS: number;
}

export interface HeaderContext {
  requestId: string;
  processingMs: number;
  rate: RateLimitState;
}

export class WireBadRequest extends Error {}

export interface ChatFormat {
  readonly api: string;
  readonly provider: ProviderName;
  readonly operation: 'chat' | 'generate_content' | 'text_completion';
  parse(body: unknown, url: URL): ParsedCall;
  streamContentType(call: ParsedCall): string;
  /** Events sent with the headers (before the first token) rather than with the first token. */
  readonly preambleAtHeaders: boolean;
  preamble(ctx: CallContext): string;
  delta(ctx: CallContext, text: string, last: boolean, finish: FinishReason): string;
  finish(ctx: CallContext, usage: Usage, reason: FinishReason): string;
  streamError(ctx: CallContext, kind: StreamErrorKind): string;
  complete(ctx: CallContext, text: string, usage: Usage, reason: FinishReason): unknown;
  error(kind: ErrorKind, ctx: ErrorContext): ErrorReply;
  headers(ctx: HeaderContext): Record<string, string>;
}

/** Extracts readable text from the content shapes the APIs accept (string or parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => {
        if (typeof p === 'string') return p;
        if (p && typeof p === 'object') {
          const o = p as Record<string, unknown>;
          if (typeof o.text === 'string') return o.text;
          if (typeof o.content === 'string') return o.content;
          if (Array.isArray(o.content) || Array.isArray(o.parts)) return contentText(o.content ?? o.parts);
        }
        return '';
      })
      .join('\n');
  }
  return '';
}

export function requireObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new WireBadRequest('request body must be a JSON object');
  return body as Record<string, unknown>;
}

export function requireModel(o: Record<string, unknown>): string {
  if (typeof o.model !== 'string' || o.model === '') throw new WireBadRequest("'model' is required and must be a non-empty string");
  return o.model;
}

export function optionalMaxTokens(o: Record<string, unknown>, ...keys: string[]): number | null {
  for (const key of keys) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new WireBadRequest(`'${key}' must be an integer >= 1`);
    return v;
  }
  return null;
}

/** Go-style duration as OpenAI's x-ratelimit-reset-* headers use (e.g. 8.64s, 132ms, 6m0s). */
export function goDuration(seconds: number): string {
  if (seconds < 1) return `${Math.max(1, Math.round(seconds * 1000))}ms`;
  if (seconds < 60) return `${Math.round(seconds * 100) / 100}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${Math.round(seconds - m * 60)}s`;
}
