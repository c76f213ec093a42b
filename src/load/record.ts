// Helpers to fill a ClientRecord as a request progresses.
import { stamp } from '../sim/clock.ts';
import { CLIENT_SCHEMA, type ClientRecord, type RequestSpec, type RunnerName } from './types.ts';

export function startRecord(runner: RunnerName, spec: RequestSpec, clock = 'hrtime'): ClientRecord {
  const s = stamp();
  return {
    schema: CLIENT_SCHEMA,
    seq: spec.seq,
    runner,
    api: spec.api,
    model: spec.model,
    stream: spec.stream,
    pid: process.pid,
    request_id: null,
    traceparent: spec.traceparent,
    start: s,
    headers: null,
    first_chunk: null,
    first_token: null,
    end: s,
    status: null,
    ok: false,
    error_type: null,
    error_message: null,
    error_code: null,
    input_tokens: null,
    output_tokens: null,
    chunks: 0,
    content_chunks: 0,
    clock,
  };
}

export function markChunk(rec: ClientRecord, content: boolean): void {
  const s = stamp();
  rec.chunks++;
  if (!rec.first_chunk) rec.first_chunk = s;
  if (content) {
    rec.content_chunks++;
    if (!rec.first_token) rec.first_token = s;
  }
}

/** Fills error fields from whatever an SDK or fetch threw. */
export function markError(rec: ClientRecord, err: unknown): void {
  rec.ok = false;
  const e = err as { constructor?: { name?: string }; name?: string; message?: string; status?: unknown; code?: unknown; type?: unknown; error?: unknown; requestID?: unknown; cause?: unknown };
  rec.error_type = e?.constructor?.name && e.constructor.name !== 'Object' ? e.constructor.name : (e?.name ?? 'Error');
  rec.error_message = String(e?.message ?? err).slice(0, 300);
  if (typeof e?.status === 'number') rec.status = e.status;
  const inner = e?.error as { type?: unknown; code?: unknown; error?: { type?: unknown } } | undefined;
  const code = e?.code ?? inner?.code ?? inner?.error?.type ?? e?.type ?? inner?.type;
  rec.error_code = typeof code === 'string' ? code : null;
  if (typeof e?.requestID === 'string') rec.request_id = e.requestID;
  if (!rec.error_code && e?.cause && typeof (e.cause as { code?: unknown }).code === 'string') rec.error_code = (e.cause as { code: string }).code;
}
