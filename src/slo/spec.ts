// The validated, normalised SLO model every other part of src/slo/ works from. Parsers
// (native YAML, OpenSLO v1) produce it; the engine and the rule generators only read it.
import type { RecordSource, SelectorKey, ValueField } from './record.ts';

export const SLI_TYPES = ['availability', 'ttft', 'tpot', 'output_tokens_per_s', 'llm_latency', 'request_latency', 'retrieval_latency'] as const;
export type SliType = (typeof SLI_TYPES)[number];
export type ThresholdOp = 'lte' | 'lt' | 'gte' | 'gt';

/** Error classes from DESIGN.md. Provider- and network-side ones burn availability by default. */
export const ERROR_CLASSES = [
  'rate_limited', 'quota_exhausted', 'overloaded', 'server_error', 'timeout', 'auth', 'model_not_found',
  'context_length_exceeded', 'request_too_large', 'bad_request', 'content_filter', 'stream_error',
  'stream_interrupted', 'client_cancelled', 'connection_refused', 'connection_reset', 'dns_failure',
  'tls_failure', '_OTHER',
] as const;

/**
 * Bad by default: the provider failed (5xx-like, overloaded, throttled us, broke the stream) or the
 * network did. Client-side classes (auth, bad_request, context length, quota/spend limits, content
 * filter, the client cancelling) are the caller's doing and count as good. Unknown classes are
 * treated as `_OTHER`, which is bad: a new failure mode should burn budget until someone decides.
 */
export const DEFAULT_BAD_ERROR_TYPES: readonly string[] = [
  'rate_limited', 'overloaded', 'server_error', 'timeout', 'stream_error', 'stream_interrupted',
  'connection_refused', 'connection_reset', 'dns_failure', 'tls_failure', '_OTHER',
];

export interface AvailabilitySli {
  type: 'availability';
  source: RecordSource;
  badErrorTypes: string[];
}

export interface ThresholdSli {
  type: Exclude<SliType, 'availability'>;
  source: RecordSource;
  field: ValueField;
  op: ThresholdOp;
  /** Seconds for latencies, tokens per second for throughput. */
  threshold: number;
  /** When true, errored calls count as bad instead of being left out of this SLI. */
  includeErrors: boolean;
}

export type SliSpec = AvailabilitySli | ThresholdSli;

/** One multi-window burn-rate condition: fires when both windows burn faster than `factor`. */
export interface AlertWindow {
  severity: string;
  longMs: number;
  shortMs: number;
  factor: number;
  /** `>` (default) or `>=` against factor × error budget. */
  op: 'gt' | 'gte';
  /** Condition must hold this long before firing (OpenSLO alertAfter, Prometheus `for`). */
  forMs: number;
}

export interface SloSpec {
  name: string;
  service: string;
  description: string;
  sli: SliSpec;
  /** Any-of values per key; all keys must match. */
  selector: Partial<Record<SelectorKey, string[]>>;
  /** Target ratio of good events, in (0, 1). */
  objective: number;
  /** Rolling SLO period. */
  periodMs: number;
  alertWindows: AlertWindow[];
  /** A window with fewer events than this never fires (low-traffic guard). */
  minEvents: number;
  alertName: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Where it was defined, for messages. */
  origin: string;
}

/** Which record source and value field each SLI type reads, and its default comparison. */
export const SLI_DEFAULTS: Record<Exclude<SliType, 'availability'>, { source: RecordSource; field: ValueField; op: ThresholdOp }> = {
  ttft: { source: 'llm_call', field: 'ttft_s', op: 'lte' },
  tpot: { source: 'llm_call', field: 'tpot_s', op: 'lte' },
  output_tokens_per_s: { source: 'llm_call', field: 'output_tokens_per_s', op: 'gte' },
  llm_latency: { source: 'llm_call', field: 'duration_s', op: 'lte' },
  request_latency: { source: 'server_request', field: 'duration_s', op: 'lte' },
  retrieval_latency: { source: 'retrieval_call', field: 'duration_s', op: 'lte' },
};

export const DEFAULT_MIN_EVENTS = 10;
export const DEFAULT_ALERT_NAME = 'LlmsloErrorBudgetBurn';
