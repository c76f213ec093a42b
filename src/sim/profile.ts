// Per-model behaviour of the simulated provider: latency and length distributions, a
// server with N slots and a bounded queue, context window, embeddings. Loaded from a JSON or
// YAML file and patchable at run time through the control endpoint.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DistributionError, parseDistribution, type DistributionSpec } from './random.ts';
import { SimInputError, isPlainObject } from './errors.ts';
import { parseFaultSpec, type FaultSpec } from './faults.ts';

export interface ModelProfile {
  /** From taking a slot to the first content token (prefill), ms. */
  ttft_ms: DistributionSpec;
  /** Gap between successive output chunks, ms. */
  itl_ms: DistributionSpec;
  /** Output length in tokens (capped by the request's max tokens). */
  output_tokens: DistributionSpec;
  /** From taking a slot to sending response headers, ms (never after the first token). */
  headers_ms: DistributionSpec;
  /** Extra prefill time per input token, ms. */
  prefill_ms_per_input_token: number;
  tokens_per_chunk: number;
  /** Concurrent requests the model's server runs; the rest wait in a FIFO queue. */
  slots: number;
  /** Waiting requests beyond this are refused as overloaded. */
  max_queue: number;
  context_window: number;
  embed_ms: DistributionSpec;
  embedding_dim: number;
  rate_limit_rpm: number;
  rate_limit_tpm: number;
}

export interface Profile {
  seed: number;
  unknown_models: 'allow' | 'reject';
  defaults: ModelProfile;
  models: Record<string, Partial<ModelProfile>>;
  faults: FaultSpec[];
}

export const DEFAULT_MODEL: ModelProfile = {
  ttft_ms: { dist: 'lognormal', median: 180, sigma: 0.35 },
  itl_ms: { dist: 'lognormal', median: 18, sigma: 0.3 },
  output_tokens: { dist: 'uniform', min: 24, max: 96 },
  headers_ms: { dist: 'uniform', min: 1, max: 4 },
  prefill_ms_per_input_token: 0,
  tokens_per_chunk: 1,
  slots: 256,
  max_queue: 4096,
  context_window: 128000,
  embed_ms: { dist: 'lognormal', median: 12, sigma: 0.3 },
  embedding_dim: 256,
  rate_limit_rpm: 10000,
  rate_limit_tpm: 2000000,
};

const DIST_FIELDS = ['ttft_ms', 'itl_ms', 'output_tokens', 'headers_ms', 'embed_ms'] as const;
const INT_FIELDS: Record<string, number> = { tokens_per_chunk: 1, slots: 1, max_queue: 0, context_window: 1, embedding_dim: 2, rate_limit_rpm: 1, rate_limit_tpm: 1 };
const NUM_FIELDS = ['prefill_ms_per_input_token'] as const;

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DistributionError) throw new SimInputError(err.message);
    throw err;
  }
}

/** Validates a partial model profile; every problem names its path. */
export function parseModelPatch(path: string, raw: unknown): Partial<ModelProfile> {
  if (!isPlainObject(raw)) throw new SimInputError(`${path}: must be an object`);
  const out: Partial<ModelProfile> = {};
  const rec = out as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    if ((DIST_FIELDS as readonly string[]).includes(key)) {
      rec[key] = wrap(() => parseDistribution(`${path}.${key}`, value));
    } else if (key in INT_FIELDS) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < INT_FIELDS[key]) throw new SimInputError(`${path}.${key}: must be an integer >= ${INT_FIELDS[key]}`);
      if (key === 'embedding_dim' && value > 8192) throw new SimInputError(`${path}.embedding_dim: must be <= 8192`);
      rec[key] = value;
    } else if ((NUM_FIELDS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new SimInputError(`${path}.${key}: must be a number >= 0`);
      rec[key] = value;
    } else {
      throw new SimInputError(`${path}: unknown field '${key}'`);
    }
  }
  return out;
}

export function parseProfile(raw: unknown, source = 'profile'): Profile {
  if (raw === null || raw === undefined) raw = {};
  if (!isPlainObject(raw)) throw new SimInputError(`${source}: must be an object`);
  const known = ['seed', 'unknown_models', 'defaults', 'models', 'faults'];
  for (const key of Object.keys(raw)) if (!known.includes(key)) throw new SimInputError(`${source}: unknown field '${key}' (expected ${known.join(', ')})`);
  const seed = raw.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new SimInputError(`${source}.seed: must be an integer`);
  const unknown = raw.unknown_models ?? 'allow';
  if (unknown !== 'allow' && unknown !== 'reject') throw new SimInputError(`${source}.unknown_models: must be 'allow' or 'reject'`);
  const defaults = { ...DEFAULT_MODEL, ...(raw.defaults === undefined ? {} : parseModelPatch(`${source}.defaults`, raw.defaults)) };
  const models: Record<string, Partial<ModelProfile>> = {};
  if (raw.models !== undefined) {
    if (!isPlainObject(raw.models)) throw new SimInputError(`${source}.models: must be an object keyed by model name`);
    for (const [name, m] of Object.entries(raw.models)) models[name] = parseModelPatch(`${source}.models.${name}`, m);
  }
  const faults: FaultSpec[] = [];
  if (raw.faults !== undefined) {
    if (!Array.isArray(raw.faults)) throw new SimInputError(`${source}.faults: must be a list`);
    raw.faults.forEach((f, i) => faults.push(parseFaultSpec(`${source}.faults[${i}]`, f, true)));
  }
  return { seed, unknown_models: unknown, defaults, models, faults };
}

export function loadProfileFile(file: string): Profile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SimInputError(`cannot read profile ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new SimInputError(`profile ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseProfile(raw, file);
}

/** Runtime view: resolves a model name to its effective profile and accepts patches. */
export class ProfileStore {
  constructor(private profile: Profile) {}

  get current(): Profile {
    return this.profile;
  }

  /** The effective profile of `model`, or null when unknown models are rejected. */
  resolve(model: string): ModelProfile | null {
    const own = this.profile.models[model];
    if (!own && this.profile.unknown_models === 'reject') return null;
    return own ? { ...this.profile.defaults, ...own } : this.profile.defaults;
  }

  /** Applies `{defaults?, models?, unknown_models?}`; validated fully before anything changes. */
  patch(raw: unknown): void {
    if (!isPlainObject(raw)) throw new SimInputError('profile patch: body must be a JSON object');
    for (const key of Object.keys(raw)) {
      if (!['defaults', 'models', 'unknown_models'].includes(key)) throw new SimInputError(`profile patch: unknown field '${key}' (expected defaults, models, unknown_models)`);
    }
    const defaults = raw.defaults === undefined ? {} : parseModelPatch('defaults', raw.defaults);
    const models: Record<string, Partial<ModelProfile>> = {};
    if (raw.models !== undefined) {
      if (!isPlainObject(raw.models)) throw new SimInputError('models: must be an object keyed by model name');
      for (const [name, m] of Object.entries(raw.models)) models[name] = parseModelPatch(`models.${name}`, m);
    }
    const unknown = raw.unknown_models ?? this.profile.unknown_models;
    if (unknown !== 'allow' && unknown !== 'reject') throw new SimInputError(`unknown_models: must be 'allow' or 'reject'`);
    const merged = { ...this.profile.models };
    for (const [name, m] of Object.entries(models)) merged[name] = { ...(merged[name] ?? {}), ...m };
    this.profile = { ...this.profile, unknown_models: unknown, defaults: { ...this.profile.defaults, ...defaults }, models: merged };
  }
}
