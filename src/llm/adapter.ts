// What a provider adapter is: it reads the request JSON, then either stream payloads (SSE
// events / NDJSON lines) or the whole response JSON, and writes what it learns into CallState.
// Adapters never keep text beyond what CallState's bounded counters take.
import type { ProviderErrorInfo } from './errors.ts';
import type { ContentShape } from './template.ts';
import type { Operation } from './records.ts';

export const enum ChunkKind {
  /** Keep-alive, ping, [DONE]: not a chunk. */
  Ignore = 0,
  /** A data event without content (role-only, usage-only, block start/stop...). */
  Chunk = 1,
  /** A data event carrying text, tool-call or reasoning content. */
  Content = 2,
}

export interface Usage {
  input: number | null;
  output: number | null;
  cacheRead: number | null;
  cacheCreation: number | null;
  reasoning: number | null;
}

/** Bounded text sink used only to estimate tokens when the provider sends no usage. */
export class TextTally {
  private parts: string[] = [];
  private chars = 0;
  /** Tokens already counted from flushed text. */
  countedTokens = 0;
  sawText = false;
  constructor(
    private readonly maxChars: number,
    private readonly count: ((s: string) => number) | null,
  ) {}
  /** False once the text is known not to be needed (the provider will send usage). */
  keep = true;
  /** Whether add() would keep the text (callers may skip extracting it otherwise). */
  get wantsText(): boolean {
    return this.keep && this.count !== null;
  }
  /** Non-empty text was seen whose characters are not needed (see wantsText). */
  sawSome(): void {
    this.sawText = true;
  }
  add(s: string): void {
    if (s.length === 0) return;
    this.sawText = true;
    if (this.count === null || !this.keep) return;
    this.parts.push(s);
    this.chars += s.length;
    if (this.chars >= this.maxChars) this.flushCount();
  }
  private flushCount(): void {
    if (this.count && this.parts.length > 0) this.countedTokens += this.count(this.parts.join(''));
    this.parts = [];
    this.chars = 0;
  }
  /** Drop held text and stop keeping more (it will not be needed). */
  discard(): void {
    this.keep = false;
    this.parts = [];
    this.chars = 0;
  }
  /** Total tokens of everything added (null if estimation is off). */
  total(): number | null {
    if (this.count === null) return null;
    this.flushCount();
    return this.countedTokens;
  }
  /** First characters kept (for opt-in excerpts), without counting. */
  head(n: number): string {
    return this.parts.join('').slice(0, n);
  }
  get bufferedChars(): number {
    return this.chars;
  }
}

export interface CallState {
  operation: Operation;
  provider: string;
  requestModel: string | null;
  responseModel: string | null;
  responseId: string | null;
  finishReasons: string[];
  usage: Usage;
  usageSeen: boolean;
  /** The provider will send usage (so completion text need not be kept for estimation). */
  usageExpected: boolean;
  /** The request asked for a stream (body flag, URL). */
  requestedStream: boolean;
  /** The stream's terminal marker was seen ([DONE], message_stop, response.completed, done:true, finishReason). */
  terminal: boolean;
  /** An error event arrived inside a stream (or a 200 body carried an error). */
  streamError: ProviderErrorInfo | null;
  /** A blocked prompt on a 200 (Gemini promptFeedback.blockReason). */
  contentBlocked: boolean;
  completion: TextTally;
  prompt: TextTally;
  /** Number of embedding vectors in the response (embeddings only). */
  vectors: number | null;
  /**
   * Set by onStreamPayload when the payload it just read was a plain content chunk: one text
   * value and nothing else the adapter acts on. The call learns a ContentTemplate from it.
   */
  contentShape: ContentShape | null;
}

/** A fresh CallState: nothing known yet beyond what the route says. */
export function newCallState(init: Pick<CallState, 'operation' | 'provider' | 'requestModel' | 'requestedStream' | 'completion' | 'prompt'>): CallState {
  // every field written out (no spread): one fixed object shape for the hot path's accesses
  return {
    operation: init.operation,
    provider: init.provider,
    requestModel: init.requestModel,
    requestedStream: init.requestedStream,
    completion: init.completion,
    prompt: init.prompt,
    responseModel: null,
    responseId: null,
    finishReasons: [],
    usage: { input: null, output: null, cacheRead: null, cacheCreation: null, reasoning: null },
    usageSeen: false,
    usageExpected: false,
    terminal: false,
    streamError: null,
    contentBlocked: false,
    vectors: null,
    contentShape: null,
  };
}

export interface Adapter {
  /** Keys whose values this adapter never reads in stream payloads (ids that change per chunk, padding). */
  readonly skipKeys?: ReadonlySet<string>;
  /**
   * True when, in this state, the adapter would read none of its skip keys from a content chunk
   * (e.g. the response id and model are already known), so a content template learned in another
   * call may stand in for its JSON path. Absent: templates are learned per call only.
   */
  templatesReady?(st: CallState): boolean;
  /**
   * Numbers a content template matched where its learning chunk had the ones this adapter read
   * (ContentShape.numbers; keys in the order they occur): must do exactly what onStreamPayload
   * does with them (e.g. Gemini's cumulative usage on every chunk).
   */
  onTemplateNumbers?(keys: readonly string[], values: readonly number[], st: CallState): void;
  /** Read the parsed request body (null when absent, truncated or not JSON). */
  onRequest(body: unknown, st: CallState): void;
  /** One SSE event (`event` name may be null) or NDJSON line. */
  onStreamPayload(event: string | null, data: string, st: CallState): ChunkKind;
  /** The whole (non-stream) response JSON of a successful call. */
  onBody(body: unknown, st: CallState): void;
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

export function strOrNull(v: unknown, max = 200): string | null {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null;
}

export function addFinish(st: CallState, r: unknown): void {
  if (typeof r === 'string' && r.length > 0 && r.length <= 64 && !st.finishReasons.includes(r) && st.finishReasons.length < 8)
    st.finishReasons.push(r);
}

export function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Collect prompt text from common request shapes (for estimation only; bounded by the tally). */
export function tallyPromptContent(v: unknown, tally: TextTally, depth = 0): void {
  if (depth > 6) return;
  if (typeof v === 'string') {
    tally.add(v);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v.slice(0, 2048)) tallyPromptContent(x, tally, depth + 1);
    return;
  }
  if (!isObj(v)) return;
  for (const key of ['content', 'text', 'input', 'prompt', 'system', 'instructions', 'parts', 'messages', 'contents', 'inputs', 'input_text']) {
    if (key in v) tallyPromptContent(v[key], tally, depth + 1);
  }
}
