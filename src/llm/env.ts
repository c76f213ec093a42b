// Settings and shared services every call builder uses.
import type { ErrorType } from './records.ts';
import type { MirrorHooks } from './mirror.ts';

export interface CallLimits {
  /** Request body bytes kept to read the model / stream flag / vector query (JSON parse). */
  maxRequestBodyBytes: number;
  /** Non-stream response body bytes kept for JSON parse. */
  maxResponseBodyBytes: number;
  /** One SSE event or NDJSON line. */
  maxEventBytes: number;
  /** Characters of text kept per call before counting it (token estimation only). */
  maxTallyChars: number;
}

export interface ExcerptOptions {
  /** Max characters kept of the prompt and of the completion, after redaction. */
  maxChars: number;
}

export interface BuilderEnv {
  limits: CallLimits;
  /** Kernel monotonic ns -> epoch ms. */
  clock: (monoNs: number) => number;
  resolveComm: (pid: number) => string | null;
  /** Estimate tokens with a tokenizer when the provider sends no usage. */
  estimate: ((text: string) => number) | null;
  excerpts: ExcerptOptions | null;
  counters: CallCounters;
  stream: StreamCounters;
  /**
   * The server end of a call whose client end is captured too (both on this node): derived from
   * the client end, skipped, or parsed like any other (null).
   */
  mirror: MirrorHooks | null;
}

/** Stream framing counters shared by every call's SSE / NDJSON / JSON-array parser. */
export interface StreamCounters {
  /** SSE events dispatched. */
  events: number;
  /** SSE comment / keep-alive lines. */
  comments: number;
  /** SSE events dropped for exceeding maxEventBytes. */
  oversizeEvents: number;
  lines: number;
  oversizeLines: number;
  elements: number;
  oversizeElements: number;
}

export function newStreamCounters(): StreamCounters {
  return { events: 0, comments: 0, oversizeEvents: 0, lines: 0, oversizeLines: 0, elements: 0, oversizeElements: 0 };
}

export interface CallCounters {
  llmCalls: number;
  retrievalCalls: number;
  partialCalls: number;
  ignoredRequests: number;
  badJsonPayloads: number;
  requestBodiesTruncated: number;
  responseBodiesTruncated: number;
  internalErrors: number;
  lastInternalError: string | null;
  errorsByType: Partial<Record<ErrorType, number>>;
  /** Server ends of calls whose client end is captured too, not followed (mirrored server ends: skip). */
  mirroredServerSkipped: number;
  /** Bytes of those connections dropped before HTTP parsing (the rest of the call and later ones). */
  mirroredServerBytesDropped: number;
  /** Failed connects to endpoints that served LLM calls before: each became a record. */
  connectFailuresRecorded: number;
  /** Failed connects to other endpoints (not known as LLM endpoints): counted only. */
  connectFailuresOther: number;
  /**
   * Connects given up in under a second without an answer: happy-eyeballs racing another
   * address (Node 250 ms, curl 200 ms) rather than a timeout; counted only.
   */
  connectAttemptsAbandoned: number;
  /** TLS handshakes that failed (an alert, no plaintext) towards endpoints the workload called: records. */
  tlsFailuresRecorded: number;
  /** Other handshakes that ended in an alert without plaintext: counted only. */
  tlsFailuresOther: number;
  /**
   * TLS connections closed by this side without data while the same process had a working TLS
   * connection to the same server: unused (a pool's spare, a process exiting), not failed.
   */
  tlsUnusedConnections: number;
}

export function newCallCounters(): CallCounters {
  return {
    llmCalls: 0,
    retrievalCalls: 0,
    partialCalls: 0,
    ignoredRequests: 0,
    badJsonPayloads: 0,
    requestBodiesTruncated: 0,
    responseBodiesTruncated: 0,
    internalErrors: 0,
    lastInternalError: null,
    errorsByType: {},
    mirroredServerSkipped: 0,
    mirroredServerBytesDropped: 0,
    connectFailuresRecorded: 0,
    connectFailuresOther: 0,
    connectAttemptsAbandoned: 0,
    tlsFailuresRecorded: 0,
    tlsFailuresOther: 0,
    tlsUnusedConnections: 0,
  };
}

/** Redact obvious secrets and personal data from an opt-in excerpt, then truncate. */
export function redact(text: string, maxChars: number): string {
  return text
    .slice(0, maxChars * 2)
    .replace(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[email]')
    .replace(/\b(sk|pk|rk|key|tok)[-_][A-Za-z0-9_-]{8,}\b/gi, '[secret]')
    .replace(/\b[A-Za-z0-9_-]{32,}\b/g, '[secret]')
    .replace(/\+?\d[\d\s().-]{7,}\d/g, '[number]')
    .slice(0, maxChars);
}
