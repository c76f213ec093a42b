// Fault injection: each fault applies to a share (`rate`) of matching requests, optionally
// only for one model and only inside a time window. Names follow DESIGN.md's error classes.
import { SimInputError, isPlainObject } from './errors.ts';
import { monoMs } from './clock.ts';
import type { Rng } from './random.ts';

/** Answered with an error status before any token. */
export const IMMEDIATE_FAULTS = ['rate_limited', 'quota_exhausted', 'overloaded', 'server_error', 'context_length_exceeded', 'model_not_found', 'auth'] as const;
/** Happen inside a 200 stream (or delay it). */
export const STREAM_FAULTS = ['stream_error', 'stream_interrupted', 'connection_reset', 'stall'] as const;
export const DELAY_FAULTS = ['slow_ttft', 'slow_headers'] as const;
export const FAULT_NAMES = [...IMMEDIATE_FAULTS, ...STREAM_FAULTS, ...DELAY_FAULTS] as const;

export type FaultName = (typeof FAULT_NAMES)[number];
export type ImmediateFault = (typeof IMMEDIATE_FAULTS)[number];
/** Error kinds a mid-stream error event can carry. */
export const STREAM_ERROR_KINDS = ['overloaded', 'server_error', 'rate_limited', 'quota_exhausted'] as const;
export type StreamErrorKind = (typeof STREAM_ERROR_KINDS)[number];

export interface FaultSpec {
  fault: FaultName;
  rate: number;
  model?: string;
  /** Window start, seconds after the fault was added (profile: after server start). */
  start_s?: number;
  /** Window length in seconds; absent means until cleared. */
  for_s?: number;
  /** slow_ttft / slow_headers: added delay; stall: pause length (absent: stall until the client gives up). */
  delay_ms?: number;
  /** Stream faults: how many content tokens go out before the fault (default: half the output). */
  after_tokens?: number;
  /** server_error: 500 (default), 502 or 503. */
  status?: number;
  /** stream_error: which error the event carries (default: overloaded). */
  error?: StreamErrorKind;
  /** rate_limited: the retry-after the response advertises, seconds (default 2). */
  retry_after_s?: number;
}

export interface ActiveFault extends FaultSpec {
  id: number;
  added_mono_ms: number;
  applied: number;
}

const PARAMS = ['fault', 'rate', 'model', 'start_s', 'for_s', 'delay_ms', 'after_tokens', 'status', 'error', 'retry_after_s'];

function nonNegative(path: string, v: unknown, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new SimInputError(`${path}: must be ${integer ? 'an integer' : 'a number'} >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseFaultSpec(path: string, raw: unknown, allowStart = true): FaultSpec {
  if (!isPlainObject(raw)) throw new SimInputError(`${path}: must be a JSON object like {"fault":"rate_limited","rate":0.1}`);
  for (const key of Object.keys(raw)) if (!PARAMS.includes(key)) throw new SimInputError(`${path}: unknown field '${key}'`);
  const fault = raw.fault;
  if (typeof fault !== 'string' || !(FAULT_NAMES as readonly string[]).includes(fault)) {
    throw new SimInputError(`${path}.fault: unknown fault ${JSON.stringify(fault)} (one of ${FAULT_NAMES.join(', ')})`);
  }
  const rate = raw.rate ?? 1;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new SimInputError(`${path}.rate: must be a number in [0, 1], got ${JSON.stringify(raw.rate)}`);
  const spec: FaultSpec = { fault: fault as FaultName, rate };
  if (raw.model !== undefined) {
    if (typeof raw.model !== 'string' || raw.model === '') throw new SimInputError(`${path}.model: must be a non-empty string`);
    spec.model = raw.model;
  }
  if (raw.start_s !== undefined) {
    if (!allowStart) throw new SimInputError(`${path}.start_s: not allowed here`);
    spec.start_s = nonNegative(`${path}.start_s`, raw.start_s);
  }
  if (raw.for_s !== undefined) {
    spec.for_s = nonNegative(`${path}.for_s`, raw.for_s);
    if (spec.for_s === 0) throw new SimInputError(`${path}.for_s: must be > 0`);
  }
  if (raw.delay_ms !== undefined) spec.delay_ms = nonNegative(`${path}.delay_ms`, raw.delay_ms);
  if (raw.after_tokens !== undefined) spec.after_tokens = nonNegative(`${path}.after_tokens`, raw.after_tokens, true);
  if (raw.retry_after_s !== undefined) spec.retry_after_s = nonNegative(`${path}.retry_after_s`, raw.retry_after_s);
  if (raw.status !== undefined) {
    if (fault !== 'server_error' || ![500, 502, 503].includes(raw.status as number)) throw new SimInputError(`${path}.status: only server_error takes a status, one of 500, 502, 503`);
    spec.status = raw.status as number;
  }
  if (raw.error !== undefined) {
    if (fault !== 'stream_error' || !(STREAM_ERROR_KINDS as readonly unknown[]).includes(raw.error)) {
      throw new SimInputError(`${path}.error: only stream_error takes an error, one of ${STREAM_ERROR_KINDS.join(', ')}`);
    }
    spec.error = raw.error as StreamErrorKind;
  }
  return spec;
}

const MAX_FAULTS = 256;

export class FaultTable {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  constructor(private readonly rng: Rng) {}

  add(spec: FaultSpec, addedMonoMs = monoMs()): ActiveFault {
    this.expire();
    if (this.faults.length >= MAX_FAULTS) throw new SimInputError(`too many faults (max ${MAX_FAULTS}); DELETE /_sim/faults first`);
    const f: ActiveFault = { ...spec, id: this.nextId++, added_mono_ms: addedMonoMs, applied: 0 };
    this.faults.push(f);
    return f;
  }

  clear(): number {
    const n = this.faults.length;
    this.faults = [];
    return n;
  }

  list(): Array<ActiveFault & { active: boolean; remaining_s: number | null }> {
    this.expire();
    const now = monoMs();
    return this.faults.map((f) => {
      const start = f.added_mono_ms + (f.start_s ?? 0) * 1000;
      const end = f.for_s === undefined ? null : start + f.for_s * 1000;
      return { ...f, active: now >= start && (end === null || now < end), remaining_s: end === null ? null : Math.max(0, (end - now) / 1000) };
    });
  }

  /** Picks the fault for one request: first matching, in-window fault whose dice roll hits. */
  pick(model: string, nowMs = monoMs()): ActiveFault | null {
    for (const f of this.faults) {
      if (f.model !== undefined && f.model !== model) continue;
      const start = f.added_mono_ms + (f.start_s ?? 0) * 1000;
      if (nowMs < start) continue;
      if (f.for_s !== undefined && nowMs >= start + f.for_s * 1000) continue;
      if (f.rate < 1 && this.rng.next() >= f.rate) continue;
      f.applied++;
      return f;
    }
    return null;
  }

  private expire(): void {
    const now = monoMs();
    this.faults = this.faults.filter((f) => f.for_s === undefined || now < f.added_mono_ms + ((f.start_s ?? 0) + f.for_s) * 1000);
  }
}
