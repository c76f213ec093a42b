// Client-side ground truth: one record per request as the client saw it.
import type { Stamp } from '../sim/clock.ts';

export const CLIENT_SCHEMA = 'llmslo.load_client/v1';

export type ApiName = 'chat' | 'responses' | 'embeddings' | 'messages' | 'gemini' | 'ollama' | 'rag';
export type RunnerName = 'openai' | 'anthropic' | 'fetch' | 'python' | 'curl';

export interface RequestSpec {
  seq: number;
  api: ApiName;
  /** Base URL of the target, e.g. https://127.0.0.1:8443 */
  baseUrl: string;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number;
  prompt: string;
  timeoutS: number;
  maxRetries: number;
  traceparent: string | null;
  caFile: string | null;
}

export interface ClientRecord {
  schema: typeof CLIENT_SCHEMA;
  seq: number;
  runner: RunnerName;
  api: ApiName;
  model: string;
  stream: boolean;
  pid: number;
  request_id: string | null;
  traceparent: string | null;
  start: Stamp;
  headers: Stamp | null;
  first_chunk: Stamp | null;
  first_token: Stamp | null;
  end: Stamp;
  status: number | null;
  ok: boolean;
  /** The exception class the client raised (e.g. RateLimitError), or null. */
  error_type: string | null;
  error_message: string | null;
  /** Provider error code/type seen in the body or error event, when any. */
  error_code: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  chunks: number;
  content_chunks: number;
  /** Timestamp precision note: 'hrtime' (Node, in-process), 'python-monotonic_ns', 'pipe' (curl stdout via a pipe). */
  clock: string;
}

/** Request path, headers and body for one spec: used by the raw-HTTP runners (fetch, python, curl). */
export interface WireRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}
