// Seeded pseudo-random numbers and the latency / length distributions used by profiles.
// Seeded so a run with a given profile is reproducible request for request.

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = (seed >>> 0) || 0x9e3779b9;
  }
  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = this.next();
    while (u <= Number.EPSILON) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  hex(chars: number): string {
    let s = '';
    while (s.length < chars) s += Math.floor(this.next() * 0x100000000).toString(16).padStart(8, '0');
    return s.slice(0, chars);
  }
}

export type Distribution =
  | { dist: 'constant'; value: number }
  | { dist: 'uniform'; min: number; max: number }
  | { dist: 'normal'; mean: number; sd: number }
  | { dist: 'lognormal'; median: number; sigma: number }
  | { dist: 'exponential'; mean: number };

export type DistributionSpec = number | (Distribution & { clamp?: [number, number] });

export class DistributionError extends Error {}

const FIELDS: Record<Distribution['dist'], string[]> = {
  constant: ['value'],
  uniform: ['min', 'max'],
  normal: ['mean', 'sd'],
  lognormal: ['median', 'sigma'],
  exponential: ['mean'],
};

/** Validates a distribution spec from a profile or control request; throws naming the path. */
export function parseDistribution(path: string, raw: unknown): DistributionSpec {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) throw new DistributionError(`${path}: must be a number >= 0, got ${raw}`);
    return raw;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new DistributionError(`${path}: must be a number or {dist: ...}`);
  const o = raw as Record<string, unknown>;
  const kind = o.dist;
  if (typeof kind !== 'string' || !(kind in FIELDS)) throw new DistributionError(`${path}.dist: must be one of ${Object.keys(FIELDS).join(', ')}, got ${JSON.stringify(kind)}`);
  const need = FIELDS[kind as Distribution['dist']];
  for (const key of Object.keys(o)) {
    if (key !== 'dist' && key !== 'clamp' && !need.includes(key)) throw new DistributionError(`${path}: unknown field '${key}' for dist ${kind} (expects ${need.join(', ')})`);
  }
  for (const key of need) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new DistributionError(`${path}.${key}: must be a number >= 0`);
  }
  if (kind === 'uniform' && (o.min as number) > (o.max as number)) throw new DistributionError(`${path}: min must be <= max`);
  if (o.clamp !== undefined) {
    const c = o.clamp;
    if (!Array.isArray(c) || c.length !== 2 || !c.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) || c[0] > c[1]) {
      throw new DistributionError(`${path}.clamp: must be [lo, hi] with 0 <= lo <= hi`);
    }
  }
  return o as unknown as DistributionSpec;
}

export function sample(spec: DistributionSpec, rng: Rng): number {
  if (typeof spec === 'number') return spec;
  let v: number;
  switch (spec.dist) {
    case 'constant':
      v = spec.value;
      break;
    case 'uniform':
      v = spec.min + (spec.max - spec.min) * rng.next();
      break;
    case 'normal':
      v = spec.mean + spec.sd * rng.normal();
      break;
    case 'lognormal':
      v = spec.median * Math.exp(spec.sigma * rng.normal());
      break;
    case 'exponential':
      v = -spec.mean * Math.log(1 - rng.next());
      break;
  }
  if (spec.clamp) v = Math.min(spec.clamp[1], Math.max(spec.clamp[0], v));
  return Math.max(0, v);
}

/** Expected value of a spec (ignoring clamps), for tests and docs. */
export function meanOf(spec: DistributionSpec): number {
  if (typeof spec === 'number') return spec;
  switch (spec.dist) {
    case 'constant':
      return spec.value;
    case 'uniform':
      return (spec.min + spec.max) / 2;
    case 'normal':
      return spec.mean;
    case 'lognormal':
      return spec.median * Math.exp((spec.sigma * spec.sigma) / 2);
    case 'exponential':
      return spec.mean;
  }
}
