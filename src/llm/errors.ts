// Error classification into DESIGN.md's low-cardinality `error.type` set, from the HTTP status
// and the provider's error body (OpenAI, Azure, Anthropic, Gemini/Vertex, vLLM, TGI, Ollama,
// OpenAI-compatible gateways). Body evidence wins over the bare status: a 429 can be a rate
// limit, an exhausted quota or a too-large request; a 400 can be a quota or context problem.
import type { ErrorType } from './records.ts';

export interface ProviderErrorInfo {
  /** The provider's code/type, verbatim (first non-empty of code, type, status). */
  code: string | null;
  /** All code-like strings found (type, code, status, quota ids), lower-cased. */
  tokens: string[];
  /** The message, lower-cased and truncated: used for classification only, never exported. */
  message: string;
}

const MAX_CODE = 80;

function str(v: unknown): string | null {
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Extract error details from a parsed error body / event payload; null if it is not an error. */
export function extractProviderError(body: unknown): ProviderErrorInfo | null {
  if (Array.isArray(body)) return body.length > 0 ? extractProviderError(body[0]) : null;
  if (!isObj(body)) return null;
  const tokens: string[] = [];
  let message = '';
  let code: string | null = null;
  const take = (v: unknown): void => {
    const s = str(v);
    if (s !== null) {
      tokens.push(s.toLowerCase());
      if (code === null && !/^\d+$/.test(s)) code = s;
    }
  };
  const err = body['error'];
  if (isObj(err)) {
    // OpenAI {error:{type,code,message}}, Anthropic {type:"error",error:{type,message}},
    // Gemini {error:{code,status,message,details}}, vLLM-in-stream {error:{object:"error",type,code}}
    take(err['code']);
    take(err['type']);
    take(err['status']);
    const inner = err['innererror'];
    if (isObj(inner)) take(inner['code']);
    const details = err['details'];
    if (Array.isArray(details)) {
      for (const d of details.slice(0, 8)) {
        if (!isObj(d)) continue;
        const violations = d['violations'];
        if (Array.isArray(violations))
          for (const v of violations.slice(0, 8)) if (isObj(v)) take(v['quotaId']);
        take(d['reason']);
      }
    }
    message = str(err['message']) ?? '';
    if (code === null) code = str(err['code']);
  } else if (typeof err === 'string') {
    // TGI {error, error_type}; Ollama {error:"..."}
    message = err;
    take(body['error_type']);
  } else if (body['object'] === 'error' || body['type'] === 'error') {
    // vLLM / OpenAI-compatible gateways: {"object":"error","message","type","code"}
    take(body['type'] === 'error' ? undefined : body['type']);
    take(body['code']);
    message = str(body['message']) ?? '';
  } else if (body['type'] === 'response.failed' || body['type'] === 'response.incomplete') {
    const resp = body['response'];
    if (isObj(resp)) return extractProviderError({ error: resp['error'] ?? { code: 'failed' } });
    return null;
  } else {
    return null;
  }
  if (code === null && tokens.length > 0) code = tokens[0]!;
  return { code: code === null ? null : (code as string).slice(0, MAX_CODE), tokens, message: message.slice(0, 400).toLowerCase() };
}

const has = (info: ProviderErrorInfo | null, ...needles: string[]): boolean =>
  info !== null && info.tokens.some((t) => needles.some((n) => t === n || t.includes(n)));
const says = (info: ProviderErrorInfo | null, ...needles: string[]): boolean =>
  info !== null && needles.some((n) => info.message.includes(n));

/** Classify an error from its HTTP status (null inside a stream) and body details. */
export function classifyError(status: number | null, info: ProviderErrorInfo | null): ErrorType {
  // Gemini names the quota window in the quota id (its message says "quota" for both).
  if (has(info, 'perday', 'per_day')) return 'quota_exhausted';
  if (has(info, 'perminute', 'per_minute', 'persecond')) return 'rate_limited';
  if (has(info, 'insufficient_quota', 'credit_balance', 'billing_error', 'billing_hard_limit') || says(info, 'credit balance is too low', 'exceeded your current quota', 'quota exhausted', 'quota exceeded'))
    return 'quota_exhausted';
  if (status === 402) return 'quota_exhausted';
  if (has(info, 'context_length_exceeded', 'string_above_max_length') || says(info, 'maximum context length', 'prompt is too long', 'context length', 'context window', 'maximum number of tokens allowed'))
    return 'context_length_exceeded';
  if (status === 413 || has(info, 'request_too_large') || says(info, 'request too large')) return 'request_too_large';
  if (status === 529 || has(info, 'overloaded_error', 'server_is_overloaded', 'slow_down') || says(info, 'overloaded')) return 'overloaded';
  if (has(info, 'content_filter', 'responsibleaipolicyviolation', 'content_policy_violation')) return 'content_filter';
  if (status === 429 || has(info, 'rate_limit', 'throttlingexception', 'resource_exhausted', 'too_many_requests')) {
    if (status === 429 || has(info, 'rate_limit', 'throttling', 'resource_exhausted')) return 'rate_limited';
  }
  // Gemini answers a bad key with 400 INVALID_ARGUMENT + ErrorInfo reason API_KEY_INVALID.
  if (status === 401 || status === 403 || has(info, 'authentication_error', 'invalid_api_key', 'api_key_invalid', 'permission_error', 'permission_denied', 'unauthenticated', 'unsupported_country') || says(info, 'api key not valid', 'incorrect api key', 'invalid api key', 'invalid x-api-key'))
    return 'auth';
  if (status === 404 || has(info, 'model_not_found', 'not_found_error', 'notfounderror', 'not_found')) return 'model_not_found';
  if (status === 408 || status === 504 || has(info, 'deadline_exceeded', 'timeout')) return 'timeout';
  if (status === 503 || has(info, 'unavailable', 'service_unavailable')) return 'overloaded';
  if ((status !== null && status >= 500) || has(info, 'server_error', 'api_error', 'internal')) return 'server_error';
  if (status !== null && status >= 400) return 'bad_request';
  if (has(info, 'invalid_request_error', 'invalid_argument', 'badrequesterror', 'validation')) return 'bad_request';
  return '_OTHER';
}
