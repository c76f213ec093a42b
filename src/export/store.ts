// In-process metric state shared by the Prometheus endpoint and the OTLP metric exporter, so both
// show the same numbers. Histograms take weighted observations (a call's per-chunk gaps arrive as
// a summary). Memory is bounded: each metric holds at most `maxSeries` label sets; past that, the
// open-ended labels (model, server) fold into `_OTHER`, and both the folding and any drop are
// counted.
import { HIGH_CARDINALITY_ATTRS, OTHER_VALUE, type AttrValue, type Attributes, type MetricDef } from './semconv.ts';

export interface Series {
  readonly attributes: Attributes;
  /** Its key in MetricFamily.series. */
  readonly attributesKey: string;
  /** Counter/gauge value, or histogram sum. */
  value: number;
  /** Histogram: per-bucket (non-cumulative) counts, last one is +Inf. */
  readonly buckets: Float64Array | null;
  count: number;
  min: number;
  max: number;
}

export interface FamilyLimits {
  /** Distinct label sets per metric before folding into `_OTHER` (default 2000): a backstop. */
  maxSeries: number;
  /** Distinct model/server/data-source combinations across all metrics (default 200). */
  maxLabelSets?: number;
}

export const DEFAULT_MAX_SERIES = 2000;
const SEP = '\u0001';

/** Stands for an absent label value in lookup tries (Map keys must be defined). */
const ABSENT = Symbol('absent');
type TrieKey = AttrValue | typeof ABSENT;
interface Trie {
  next: Map<TrieKey, Trie> | null;
  series: Series | null;
}

const newTrie = (): Trie => ({ next: null, series: null });

/** The node for `attrs`' values of `labels`, or undefined when that path was never added. */
function trieFind(root: Trie, labels: readonly string[], attrs: Attributes): Trie | undefined {
  let node: Trie | undefined = root;
  for (let i = 0; i < labels.length && node !== undefined; i++) node = node.next?.get(attrs[labels[i]!] ?? ABSENT);
  return node;
}

/** The node for `attrs`' values of `labels`, created along the way. */
function trieAdd(root: Trie, labels: readonly string[], attrs: Attributes): Trie {
  let node = root;
  for (const l of labels) {
    const v = attrs[l] ?? ABSENT;
    node.next ??= new Map();
    let next = node.next.get(v);
    if (next === undefined) {
      next = newTrie();
      node.next.set(v, next);
    }
    node = next;
  }
  return node;
}

export class MetricFamily {
  readonly series = new Map<string, Series>();
  /**
   * Lookup path to each unfolded series, one level per label: the record's attribute values are
   * the same string objects across a record's observations, and their hashes are cached, so a
   * hit costs a few Map gets instead of hashing a freshly concatenated key.
   */
  private trie: Trie = newTrie();
  overflowed = 0;
  dropped = 0;
  private readonly bounds: Float64Array | null;
  private readonly foldable: boolean[];

  constructor(
    readonly def: MetricDef,
    private readonly maxSeries: number,
  ) {
    this.bounds = def.kind === 'histogram' ? Float64Array.from(def.buckets ?? []) : null;
    this.foldable = def.labels.map((l) => HIGH_CARDINALITY_ATTRS.includes(l));
  }

  /** Histogram observation; `weight` > 1 records the same value that many times. */
  observe(attrs: Attributes, value: number, weight = 1): void {
    if (!Number.isFinite(value) || !(weight > 0)) return;
    const s = this.seriesFor(attrs);
    if (!s || !s.buckets || !this.bounds) return;
    let i = 0;
    // Prometheus `le` buckets: upper bound inclusive
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    s.buckets[i]! += weight;
    s.count += weight;
    s.value += value * weight;
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
  }

  /**
   * Adds a whole pre-bucketed distribution (per-bucket counts, not cumulative, last = +Inf).
   * Returns false, adding nothing, unless `bounds` are exactly this histogram's bounds.
   */
  observeBuckets(attrs: Attributes, bounds: readonly number[], counts: readonly number[], sum: number, min: number, max: number): boolean {
    const own = this.bounds;
    if (own === null || bounds.length !== own.length || counts.length !== own.length + 1) return false;
    for (let i = 0; i < own.length; i++) if (bounds[i] !== own[i]) return false;
    let n = 0;
    for (const c of counts) {
      if (!(c >= 0)) return false;
      n += c;
    }
    if (n === 0 || !Number.isFinite(sum)) return n === 0;
    const s = this.seriesFor(attrs);
    if (!s || !s.buckets) return true;
    for (let i = 0; i < counts.length; i++) s.buckets[i]! += counts[i]!;
    s.count += n;
    s.value += sum;
    if (min < s.min) s.min = min;
    if (max > s.max) s.max = max;
    return true;
  }

  add(attrs: Attributes, delta: number): void {
    if (!Number.isFinite(delta) || delta < 0) return;
    const s = this.seriesFor(attrs);
    if (s) s.value += delta;
  }

  /** Sets a counter to a monotonic total kept elsewhere, or a gauge to its current value. */
  set(attrs: Attributes, value: number): void {
    if (!Number.isFinite(value)) return;
    const s = this.seriesFor(attrs);
    if (s) s.value = value;
  }

  /** Series key of `attrs` for this family's labels (hot path: no intermediate arrays). */
  private keyOf(attrs: Attributes): string {
    const labels = this.def.labels;
    let k = '';
    for (let i = 0; i < labels.length; i++) {
      const v = attrs[labels[i]!];
      k += v === undefined ? SEP : `${v}${SEP}`;
    }
    return k;
  }

  private static keyOfValues(values: Array<AttrValue | undefined>): string {
    let k = '';
    for (const v of values) k += v === undefined ? SEP : `${v}${SEP}`;
    return k;
  }

  /** Drops every series (Prometheus registry reset). */
  clear(): void {
    this.series.clear();
    this.trie = newTrie();
  }

  private seriesFor(attrs: Attributes): Series | null {
    const hit = trieFind(this.trie, this.def.labels, attrs)?.series;
    if (hit) return hit;
    const s = this.lookupSlow(attrs);
    // Only unfolded series are remembered: the trie never grows past the series cap.
    if (s !== null && s.attributesKey === this.keyOf(attrs)) trieAdd(this.trie, this.def.labels, attrs).series = s;
    return s;
  }

  private lookupSlow(attrs: Attributes): Series | null {
    let k = this.keyOf(attrs);
    let s = this.series.get(k);
    if (s) return s;
    const values = this.def.labels.map((l) => attrs[l]);
    if (this.series.size >= this.maxSeries) {
      // fold open-ended labels; the folded series may already exist
      const folded = values.map((v, i) => (this.foldable[i] && v !== undefined ? OTHER_VALUE : v));
      k = MetricFamily.keyOfValues(folded);
      s = this.series.get(k);
      this.overflowed++;
      if (s) return s;
      // the fold of bounded labels (operation, provider, error class) gets a small reserve
      if (this.series.size >= this.maxSeries + Math.max(16, this.maxSeries >> 3)) {
        this.dropped++;
        return null;
      }
      return this.create(k, folded);
    }
    return this.create(k, values);
  }

  private create(k: string, values: Array<AttrValue | undefined>): Series {
    const attributes: Attributes = {};
    this.def.labels.forEach((l, i) => {
      const v = values[i];
      if (v !== undefined) attributes[l] = v;
    });
    const s: Series = {
      attributes,
      attributesKey: k,
      value: 0,
      buckets: this.bounds ? new Float64Array(this.bounds.length + 1) : null,
      count: 0,
      min: Infinity,
      max: -Infinity,
    };
    this.series.set(k, s);
    return s;
  }
}

/**
 * Admits at most `max` distinct combinations of the open-ended attributes (models, server,
 * data source) across all metrics; later combinations fold into `_OTHER` on every metric alike,
 * so ratios between metrics (errors / calls) stay consistent.
 */
export class LabelSetLimiter {
  /** The admitted combinations as a trie over their values (a full-depth node = admitted). */
  private readonly trie: Trie = newTrie();
  private admitted = 0;
  folded = 0;
  constructor(readonly max: number) {}

  /** Folds `attrs` in place when its open-ended values are new and the budget is spent. */
  admit(attrs: Attributes): void {
    if (trieFind(this.trie, HIGH_CARDINALITY_ATTRS, attrs) !== undefined) return; // admitted before
    if (!HIGH_CARDINALITY_ATTRS.some((a) => attrs[a] !== undefined)) return;
    if (this.admitted < this.max) {
      this.admitted++;
      trieAdd(this.trie, HIGH_CARDINALITY_ATTRS, attrs);
      return;
    }
    this.folded++;
    for (const a of HIGH_CARDINALITY_ATTRS) if (attrs[a] !== undefined) attrs[a] = OTHER_VALUE;
  }

  get size(): number {
    return this.admitted;
  }
}

export const DEFAULT_MAX_LABEL_SETS = 200;

/** All families, created from definitions on first use. */
export class MetricStore {
  readonly families = new Map<string, MetricFamily>();
  readonly startTimeMs = Date.now();
  readonly limiter: LabelSetLimiter;

  constructor(private readonly limits: FamilyLimits = { maxSeries: DEFAULT_MAX_SERIES }) {
    this.limiter = new LabelSetLimiter(limits.maxLabelSets ?? DEFAULT_MAX_LABEL_SETS);
  }

  family(def: MetricDef): MetricFamily {
    let f = this.families.get(def.name);
    if (!f) {
      f = new MetricFamily(def, this.limits.maxSeries);
      this.families.set(def.name, f);
    }
    return f;
  }

  seriesCount(): number {
    let n = 0;
    for (const f of this.families.values()) n += f.series.size;
    return n;
  }
}
