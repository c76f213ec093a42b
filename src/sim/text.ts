// Generated text, token counting and embeddings. Every vocabulary entry is a single token in
// OpenAI's o200k and cl100k encodings (checked by a test), so a tokenizer estimate on the
// streamed text matches the usage the simulator reports.
import { countTokens } from 'gpt-tokenizer';
import type { Rng } from './random.ts';

export const VOCABULARY = [
  ' the', ' model', ' data', ' service', ' request', ' latency', ' system', ' time', ' first', ' token', ' answer', ' is', ' a', ' and',
  ' of', ' to', ' in', ' that', ' it', ' for', ' on', ' with', ' as', ' this', ' by', ' from', ' at', ' be', ' are', ' can', ' will',
  ' more', ' each', ' user', ' query', ' result', ' document', ' search', ' vector', ' network', ' server', ' client', ' error', ' rate',
  ' limit', ' budget', ' value', ' level', ' cluster', ' node', ' memory', ' cache', ' load', ' stream', ' response', ' context', ' window',
  ' output', ' input', ' order', ' number', ' small', ' large', ' fast', ' slow', ' good', ' new', ' simple', ' clear', ' better',
];
/** Each vocabulary entry, JSON-encoded once (without quotes' surroundings recomputed per chunk). */
export const VOCABULARY_JSON = VOCABULARY.map((w) => JSON.stringify(w));

/** Picks `n` token indices; the caller turns them into text per chunk. */
export function pickTokens(n: number, rng: Rng): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng.next() * VOCABULARY.length);
  return out;
}

export function tokensText(ids: Uint16Array, from = 0, to = ids.length): string {
  let s = '';
  for (let i = from; i < to; i++) s += VOCABULARY[ids[i]];
  return s;
}

const MAX_COUNT_CHARS = 200_000;

/** Input tokens of a request text (o200k); very long inputs are estimated from length. */
export function countInputTokens(text: string): number {
  if (text.length === 0) return 1;
  if (text.length > MAX_COUNT_CHARS) return Math.ceil(text.length / 4);
  return Math.max(1, countTokens(text));
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A deterministic embedding with real similarity structure: hashed bag of words plus character
 * trigrams, signed and L2-normalised, so texts that share words land close together.
 */
export function embed(text: string, dim: number): number[] {
  const v = new Float64Array(dim);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    v[h % dim] += (h & 0x80000000 ? -1 : 1) * weight;
  };
  for (const w of words) {
    add(`w:${w}`, 1);
    const padded = `^${w}$`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 0.3);
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += v[i] * v[i];
  norm = Math.sqrt(norm);
  if (norm === 0) {
    v[0] = 1;
    norm = 1;
  }
  const out = new Array<number>(dim);
  for (let i = 0; i < dim; i++) out[i] = Math.round((v[i] / norm) * 1e6) / 1e6;
  return out;
}
