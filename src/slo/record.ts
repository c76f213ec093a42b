// The one place that knows the field names of the records the SLO engine consumes.
// Records follow the DESIGN.md contract (flat dotted keys, `schema` tag). The producers
// (src/llm/, the RAG app's server spans) are written elsewhere, so this module accepts any
// object structurally and normalises it; adapt only this file when a producer changes shape.

export const LLM_CALL_SCHEMA = 'llmslo.llm_call/v1';
export const RETRIEVAL_CALL_SCHEMA = 'llmslo.retrieval_call/v1';
export const SERVER_REQUEST_SCHEMA = 'llmslo.server_request/v1';

export type RecordSource = 'llm_call' | 'retrieval_call' | 'server_request';

/** The input contract, as the producers write it (all fields optional except `schema`). */
export interface SloInputRecord {
  schema: string;
  time?: string;
  'gen_ai.provider.name'?: string;
  'gen_ai.request.model'?: string;
  'gen_ai.operation.name'?: string;
  'server.address'?: string;
  'error.type'?: string | null;
  ttft_s?: number | null;
  tpot_s?: number | null;
  duration_s?: number | null;
  output_tokens_per_s?: number | null;
  'http.response.status_code'?: number | null;
  'http.route'?: string;
  'db.system.name'?: string;
  'db.system'?: string;
  'db.collection.name'?: string;
  'k8s.namespace.name'?: string;
  'k8s.workload.name'?: string;
  'k8s.pod.name'?: string;
  tenant?: string;
  [key: string]: unknown;
}

/** Selector keys an SLO can filter on, and the record fields each one reads (first present wins). */
export const SELECTOR_FIELDS = {
  provider: ['gen_ai.provider.name'],
  model: ['gen_ai.request.model'],
  operation: ['gen_ai.operation.name'],
  server_address: ['server.address'],
  namespace: ['k8s.namespace.name'],
  workload: ['k8s.workload.name', 'k8s.deployment.name', 'k8s.statefulset.name', 'k8s.daemonset.name'],
  pod: ['k8s.pod.name'],
  tenant: ['tenant'],
  route: ['http.route'],
  // The retrieval producer uses the current OTel name (db.system.name); db.system is the older one.
  db_system: ['db.system.name', 'db.system'],
  collection: ['db.collection.name'],
} as const satisfies Record<string, readonly string[]>;
export type SelectorKey = keyof typeof SELECTOR_FIELDS;
const SELECTOR_ENTRIES = Object.entries(SELECTOR_FIELDS) as [SelectorKey, readonly string[]][];

/** Numeric SLI values a threshold SLI can compare. */
export type ValueField = 'ttft_s' | 'tpot_s' | 'duration_s' | 'output_tokens_per_s';

/** What the engine works with after normalisation. */
export interface NormalizedRecord {
  source: RecordSource;
  /** When the event completed (start `time` + `duration_s`), ms since the epoch; null when the record has no usable time. */
  endMs: number | null;
  errorType: string | null;
  statusCode: number | null;
  values: Partial<Record<ValueField, number>>;
  labels: Partial<Record<SelectorKey, string>>;
}

const SOURCES: Record<string, RecordSource> = {
  [LLM_CALL_SCHEMA]: 'llm_call',
  [RETRIEVAL_CALL_SCHEMA]: 'retrieval_call',
  [SERVER_REQUEST_SCHEMA]: 'server_request',
};

const PATH_CACHE = new Map<string, string[]>();

/** Reads a flat dotted key, falling back to the nested form (`k8s: {namespace: {name}}`) some exporters use. */
function field(rec: Record<string, unknown>, dotted: string): unknown {
  const flat = rec[dotted];
  if (flat !== undefined) return flat;
  let parts = PATH_CACHE.get(dotted);
  if (!parts) PATH_CACHE.set(dotted, (parts = dotted.split('.')));
  if (parts.length === 1) return undefined;
  let cur: unknown = rec;
  for (const part of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function finiteNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export type NormalizeResult = { ok: true; record: NormalizedRecord } | { ok: false; reason: 'not_an_object' | 'unknown_schema' | 'bad_time' };

/** Normalises one record; never throws. Unknown schemas and malformed times are reported, not guessed. */
export function normalizeRecord(input: unknown): NormalizeResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { ok: false, reason: 'not_an_object' };
  const rec = input as Record<string, unknown>;
  const source = typeof rec.schema === 'string' ? SOURCES[rec.schema] : undefined;
  if (!source) return { ok: false, reason: 'unknown_schema' };

  const values: Partial<Record<ValueField, number>> = {};
  for (const k of ['ttft_s', 'tpot_s', 'duration_s', 'output_tokens_per_s'] as const) {
    const v = finiteNumber(field(rec, k));
    if (v !== undefined && v >= 0) values[k] = v;
  }

  let endMs: number | null = null;
  const time = field(rec, 'time');
  if (time !== undefined && time !== null) {
    const startMs = typeof time === 'string' ? Date.parse(time) : NaN;
    if (!Number.isFinite(startMs)) return { ok: false, reason: 'bad_time' };
    endMs = startMs + Math.round((values.duration_s ?? 0) * 1000);
  }

  const labels: Partial<Record<SelectorKey, string>> = {};
  for (const [key, names] of SELECTOR_ENTRIES) {
    for (const name of names) {
      const v = field(rec, name);
      if (typeof v === 'string') {
        labels[key] = v;
        break;
      }
    }
  }

  const err = field(rec, 'error.type');
  const status = finiteNumber(field(rec, 'http.response.status_code'));
  return {
    ok: true,
    record: {
      source,
      endMs,
      errorType: typeof err === 'string' && err !== '' ? err : null,
      statusCode: status ?? null,
      values,
      labels,
    },
  };
}
