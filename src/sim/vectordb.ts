// A Qdrant-compatible REST subset holding real vectors with exact (brute-force) similarity
// search: collections, points upsert/get/count/delete, search, search/batch and the
// universal query API. Responses use Qdrant's {result, status, time} envelope and error
// shape. Latency and faults are controllable like the provider's (/_sim/faults, /_sim/config).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stamp, monoMs, type Stamp } from './clock.ts';
import { Rng, sample, parseDistribution, type DistributionSpec } from './random.ts';
import { TimerWheel } from './timer-wheel.ts';
import { FaultTable, parseFaultSpec, type ActiveFault } from './faults.ts';
import { JsonlSink } from './jsonl-sink.ts';
import { SimInputError, isPlainObject } from './errors.ts';
import { BodyTooLarge, listen, parseJson, readBody, sendJson, type Listening } from './http-util.ts';
import type { TlsMaterial } from './tls.ts';

type Distance = 'Cosine' | 'Dot' | 'Euclid' | 'Manhattan';
type PointId = number | string;

interface Collection {
  name: string;
  size: number;
  distance: Distance;
  ids: PointId[];
  index: Map<string, number>;
  vectors: Float32Array;
  payloads: Array<Record<string, unknown> | null>;
  count: number;
}

const MAX_TOTAL_FLOATS = 32 * 1024 * 1024; // 128 MB of vectors, then upserts are refused
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface VectorDbOptions {
  port: number;
  host?: string;
  tls?: TlsMaterial;
  truthPath?: string | null;
  /** Base latency added to every search, ms. */
  latencyMs?: DistributionSpec;
  seed?: number;
}

class QdrantError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function idKey(id: PointId): string {
  return typeof id === 'number' ? `n${id}` : `s${id.toLowerCase()}`;
}

function parseId(raw: unknown): PointId {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
  if (typeof raw === 'string' && UUID.test(raw)) return raw.toLowerCase();
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return Number(raw);
  throw new QdrantError(400, `Format error in JSON body: value ${JSON.stringify(raw)} is not a valid point ID, valid values are either an unsigned integer or a UUID`);
}

function score(distance: Distance, a: Float32Array, aOff: number, q: Float32Array, size: number): number {
  let s = 0;
  switch (distance) {
    case 'Cosine':
    case 'Dot':
      for (let i = 0; i < size; i++) s += a[aOff + i] * q[i];
      return s;
    case 'Euclid':
      for (let i = 0; i < size; i++) {
        const d = a[aOff + i] - q[i];
        s += d * d;
      }
      return Math.sqrt(s);
    case 'Manhattan':
      for (let i = 0; i < size; i++) s += Math.abs(a[aOff + i] - q[i]);
      return s;
  }
}

function normalise(v: Float32Array): void {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
}

export class SimVectorDb {
  private readonly collections = new Map<string, Collection>();
  private readonly wheel = new TimerWheel();
  private readonly rng: Rng;
  readonly faults: FaultTable;
  private readonly truth: JsonlSink;
  private listening: Listening | null = null;
  private latency: DistributionSpec;
  private totalFloats = 0;
  private seq = 0;
  private opId = 0;

  constructor(private readonly opts: VectorDbOptions) {
    this.rng = new Rng(opts.seed ?? 1);
    this.faults = new FaultTable(new Rng((opts.seed ?? 1) ^ 0xdb));
    this.truth = new JsonlSink(opts.truthPath ?? null);
    this.latency = opts.latencyMs ?? { dist: 'lognormal', median: 3, sigma: 0.3 };
  }

  async start(): Promise<string> {
    this.listening = await listen((req, res) => this.handle(req, res), { port: this.opts.port, host: this.opts.host ?? '127.0.0.1', tls: this.opts.tls });
    return this.listening.url;
  }

  async stop(): Promise<void> {
    await this.listening?.close();
    this.wheel.stop();
    await this.truth.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    const t0 = monoMs();
    const received = stamp();
    const url = new URL(req.url ?? '/', 'http://vdb.local');
    const requestId = `vdb_${(++this.seq).toString(16).padStart(8, '0')}${this.rng.hex(8)}`;
    const rec = {
      schema: 'llmslo.sim_vectordb_truth/v1',
      request_id: requestId,
      method: req.method,
      path: url.pathname,
      op: '',
      collection: null as string | null,
      traceparent: typeof req.headers.traceparent === 'string' ? req.headers.traceparent : null,
      client: { address: req.socket.remoteAddress ?? null, port: req.socket.remotePort ?? null },
      received,
      end: null as Stamp | null,
      status: 0,
      fault: null as string | null,
      points_scanned: 0,
      limit: null as number | null,
    };
    const done = (status: number, body: unknown) => {
      rec.status = status;
      if (!res.destroyed) sendJson(res, status, body, { 'x-request-id': requestId });
      rec.end = stamp();
      if (!url.pathname.startsWith('/_sim/')) this.truth.write(rec);
    };
    this.route(req, url, rec)
      .then(async (r) => {
        if (r.delay > 0) await this.wheel.until(t0 + r.delay);
        if (r.fault && (r.fault.fault === 'connection_reset' || r.fault.fault === 'stream_interrupted')) {
          rec.end = stamp();
          rec.status = 0;
          this.truth.write(rec);
          req.socket.destroy();
          return;
        }
        done(r.status, r.raw ? r.body : { result: r.body, status: 'ok', time: (monoMs() - t0) / 1000 });
      })
      .catch((err: unknown) => {
        if (err instanceof QdrantError) return done(err.status, { status: { error: err.message }, time: (monoMs() - t0) / 1000 });
        if (err instanceof SimInputError) return done(400, { error: err.message });
        process.stderr.write(`llmslo sim vectordb: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        done(500, { status: { error: 'Service internal error' }, time: 0 });
      });
  }

  private async json(req: IncomingMessage): Promise<Record<string, unknown>> {
    let buf: Buffer;
    try {
      buf = await readBody(req, 64 * 1024 * 1024);
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new QdrantError(413, `Payload error: ${err.message}`);
      throw err;
    }
    if (buf.length === 0) return {};
    const p = parseJson(buf);
    if (!p.ok) throw new QdrantError(400, `Format error in JSON body: ${p.message}`);
    if (!isPlainObject(p.value)) throw new QdrantError(400, 'Format error in JSON body: expected a JSON object');
    return p.value;
  }

  private coll(name: string): Collection {
    const c = this.collections.get(name);
    if (!c) throw new QdrantError(404, `Not found: Collection \`${name}\` doesn't exist!`);
    return c;
  }

  private async route(
    req: IncomingMessage,
    url: URL,
    rec: { op: string; collection: string | null; fault: string | null; points_scanned: number; limit: number | null },
  ): Promise<{ status: number; body: unknown; delay: number; fault?: ActiveFault | null; raw?: boolean }> {
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === '_sim') return this.control(req, method, parts[1]);
    if (parts.length === 0 && method === 'GET') return { status: 200, body: { title: 'qdrant - vector search engine (llmslo simulator)', version: '1.12.0-sim' }, delay: 0, raw: true };
    if ((parts[0] === 'healthz' || parts[0] === 'readyz' || parts[0] === 'livez') && method === 'GET') return { status: 200, body: 'healthz check passed', delay: 0, raw: true };
    if (parts[0] !== 'collections') throw new QdrantError(404, `Not found: ${method} ${url.pathname}`);
    if (parts.length === 1 && method === 'GET') {
      rec.op = 'list_collections';
      return { status: 200, body: { collections: [...this.collections.keys()].map((name) => ({ name })) }, delay: 0 };
    }
    const name = parts[1];
    rec.collection = name;
    // Faults apply per collection (the fault's `model` field names the collection).
    const fault = this.faults.pick(name);
    let delay = sample(this.latency, this.rng);
    if (fault) {
      rec.fault = fault.fault;
      if (fault.fault === 'slow_ttft' || fault.fault === 'slow_headers' || fault.fault === 'stall') delay += fault.delay_ms ?? 2000;
      const status = { rate_limited: 429, quota_exhausted: 429, overloaded: 503, server_error: fault.status ?? 500, auth: 401, model_not_found: 404, context_length_exceeded: 400 }[fault.fault as string];
      if (status) {
        const err = new QdrantError(status, status === 503 ? 'Service unavailable: too many requests in flight' : status === 429 ? 'Too many requests: rate limit exceeded' : `Service internal error: simulated ${fault.fault}`);
        await this.wheel.until(monoMs() + delay);
        throw err;
      }
    }
    if (parts.length === 2) {
      if (method === 'PUT') {
        rec.op = 'create_collection';
        return { status: 200, body: this.createCollection(name, await this.json(req)), delay: 0, fault };
      }
      if (method === 'GET') {
        rec.op = 'get_collection';
        const c = this.coll(name);
        return { status: 200, body: { status: 'green', optimizer_status: 'ok', points_count: c.count, indexed_vectors_count: c.count, segments_count: 1, config: { params: { vectors: { size: c.size, distance: c.distance } } }, payload_schema: {} }, delay: 0, fault };
      }
      if (method === 'DELETE') {
        rec.op = 'delete_collection';
        const c = this.collections.get(name);
        if (c) this.totalFloats -= c.vectors.length;
        return { status: 200, body: this.collections.delete(name), delay: 0, fault };
      }
    }
    if (parts[2] === 'exists' && method === 'GET') return { status: 200, body: { exists: this.collections.has(name) }, delay: 0 };
    if (parts[2] === 'points') {
      const c = this.coll(name);
      const action = parts.slice(3).join('/');
      if (action === '' && method === 'PUT') {
        rec.op = 'upsert';
        return { status: 200, body: this.upsert(c, await this.json(req)), delay: 0, fault };
      }
      if (action === 'search' && method === 'POST') {
        rec.op = 'search';
        const b = await this.json(req);
        const r = this.search(c, b.vector, b, rec);
        return { status: 200, body: r, delay, fault };
      }
      if (action === 'search/batch' && method === 'POST') {
        rec.op = 'search_batch';
        const b = await this.json(req);
        if (!Array.isArray(b.searches)) throw new QdrantError(400, 'Format error in JSON body: missing field `searches`');
        return { status: 200, body: b.searches.map((s) => (isPlainObject(s) ? this.search(c, s.vector, s, rec) : [])), delay, fault };
      }
      if (action === 'query' && method === 'POST') {
        rec.op = 'query';
        const b = await this.json(req);
        let q = b.query;
        if (isPlainObject(q) && 'nearest' in q) q = q.nearest;
        return { status: 200, body: { points: this.search(c, q, b, rec) }, delay, fault };
      }
      if (action === 'count' && method === 'POST') {
        rec.op = 'count';
        return { status: 200, body: { count: c.count }, delay: 0, fault };
      }
      if (action === 'delete' && method === 'POST') {
        rec.op = 'delete_points';
        const b = await this.json(req);
        if (!Array.isArray(b.points)) throw new QdrantError(400, 'Format error in JSON body: missing field `points`');
        for (const raw of b.points) this.deletePoint(c, parseId(raw));
        return { status: 200, body: { operation_id: ++this.opId, status: 'completed' }, delay: 0, fault };
      }
      if (parts.length === 4 && method === 'GET') {
        rec.op = 'get_point';
        const id = parseId(parts[3]);
        const i = c.index.get(idKey(id));
        if (i === undefined) throw new QdrantError(404, `Not found: No point with id ${id} found`);
        return { status: 200, body: { id: c.ids[i], payload: c.payloads[i] ?? {}, vector: Array.from(c.vectors.subarray(i * c.size, (i + 1) * c.size)) }, delay: 0, fault };
      }
    }
    throw new QdrantError(404, `Not found: ${method} ${url.pathname}`);
  }

  private createCollection(name: string, b: Record<string, unknown>): boolean {
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(name)) throw new QdrantError(400, `Validation error in path parameters: [name: collection name must match [A-Za-z0-9_.-]{1,255}]`);
    if (this.collections.has(name)) throw new QdrantError(409, `Wrong input: Collection \`${name}\` already exists!`);
    const v = b.vectors;
    if (!isPlainObject(v)) throw new QdrantError(400, 'Format error in JSON body: missing field `vectors`');
    if (typeof v.size !== 'number' || !Number.isInteger(v.size) || v.size < 1 || v.size > 65536) throw new QdrantError(400, 'Validation error in JSON body: [vectors.size: value must be an integer in 1..65536]');
    if (!['Cosine', 'Dot', 'Euclid', 'Manhattan'].includes(v.distance as string)) throw new QdrantError(400, `Format error in JSON body: unknown variant \`${String(v.distance)}\`, expected one of \`Cosine\`, \`Euclid\`, \`Dot\`, \`Manhattan\``);
    this.collections.set(name, { name, size: v.size, distance: v.distance as Distance, ids: [], index: new Map(), vectors: new Float32Array(v.size * 64), payloads: [], count: 0 });
    return true;
  }

  private vector(c: Collection, raw: unknown): Float32Array {
    if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new QdrantError(400, 'Format error in JSON body: vector must be an array of numbers');
    if (raw.length !== c.size) throw new QdrantError(400, `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${raw.length}`);
    const v = Float32Array.from(raw as number[]);
    if (c.distance === 'Cosine') normalise(v);
    return v;
  }

  private upsert(c: Collection, b: Record<string, unknown>): unknown {
    if (!Array.isArray(b.points)) throw new QdrantError(400, 'Format error in JSON body: missing field `points`');
    // Validate everything first so a bad point leaves the collection unchanged.
    const points = b.points.map((p) => {
      if (!isPlainObject(p)) throw new QdrantError(400, 'Format error in JSON body: each point must be an object');
      return { id: parseId(p.id), vector: this.vector(c, p.vector), payload: isPlainObject(p.payload) ? p.payload : null };
    });
    const fresh = points.filter((p) => !c.index.has(idKey(p.id))).length;
    if (this.totalFloats + fresh * c.size > MAX_TOTAL_FLOATS) throw new QdrantError(507, `Service internal error: simulator storage limit reached (${MAX_TOTAL_FLOATS} floats)`);
    for (const p of points) {
      const key = idKey(p.id);
      let i = c.index.get(key);
      if (i === undefined) {
        i = c.count++;
        if (c.count * c.size > c.vectors.length) {
          const grown = new Float32Array(Math.max(c.vectors.length * 2, c.count * c.size));
          grown.set(c.vectors);
          c.vectors = grown;
        }
        c.ids[i] = p.id;
        c.index.set(key, i);
        this.totalFloats += c.size;
      }
      c.vectors.set(p.vector, i * c.size);
      c.payloads[i] = p.payload;
    }
    return { operation_id: ++this.opId, status: 'completed' };
  }

  private deletePoint(c: Collection, id: PointId): void {
    const i = c.index.get(idKey(id));
    if (i === undefined) return;
    const last = c.count - 1;
    if (i !== last) {
      c.vectors.copyWithin(i * c.size, last * c.size, (last + 1) * c.size);
      c.ids[i] = c.ids[last];
      c.payloads[i] = c.payloads[last];
      c.index.set(idKey(c.ids[i]), i);
    }
    c.index.delete(idKey(id));
    c.ids.length = last;
    c.payloads.length = last;
    c.count = last;
    this.totalFloats -= c.size;
  }

  private search(c: Collection, rawVector: unknown, b: Record<string, unknown>, rec: { points_scanned: number; limit: number | null }): unknown[] {
    let raw = rawVector;
    if (isPlainObject(raw) && Array.isArray(raw.vector)) raw = raw.vector; // named-vector form {name, vector}
    const q = this.vector(c, raw);
    const limit = b.limit ?? b.top ?? 10;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 10000) throw new QdrantError(400, 'Validation error in JSON body: [limit: value must be an integer in 1..10000]');
    const threshold = typeof b.score_threshold === 'number' ? b.score_threshold : null;
    const lowerIsBetter = c.distance === 'Euclid' || c.distance === 'Manhattan';
    // Exact top-k with a small sorted buffer.
    const top: Array<[number, number]> = [];
    for (let i = 0; i < c.count; i++) {
      const s = score(c.distance, c.vectors, i * c.size, q, c.size);
      if (threshold !== null && (lowerIsBetter ? s > threshold : s < threshold)) continue;
      if (top.length < limit || (lowerIsBetter ? s < top[top.length - 1][0] : s > top[top.length - 1][0])) {
        top.push([s, i]);
        top.sort((a, x) => (lowerIsBetter ? a[0] - x[0] : x[0] - a[0]));
        if (top.length > limit) top.pop();
      }
    }
    rec.points_scanned += c.count;
    rec.limit = limit;
    const withPayload = b.with_payload === true || Array.isArray(b.with_payload);
    const withVector = b.with_vector === true || b.with_vectors === true;
    return top.map(([s, i]) => ({
      id: c.ids[i],
      version: 0,
      score: s,
      payload: withPayload ? (c.payloads[i] ?? {}) : null,
      vector: withVector ? Array.from(c.vectors.subarray(i * c.size, (i + 1) * c.size)) : null,
    }));
  }

  private async control(req: IncomingMessage, method: string, what: string | undefined): Promise<{ status: number; body: unknown; delay: number; raw: true }> {
    const out = (status: number, body: unknown) => ({ status, body, delay: 0, raw: true as const });
    const body = async () => {
      const buf = await readBody(req, 1024 * 1024);
      const p = parseJson(buf);
      if (!p.ok) throw new SimInputError(p.message);
      return p.value;
    };
    if (what === 'faults') {
      if (method === 'GET') return out(200, { faults: this.faults.list() });
      if (method === 'DELETE') return out(200, { cleared: this.faults.clear() });
      if (method === 'POST') {
        const v = await body();
        const specs = Array.isArray(v) ? v.map((x, i) => parseFaultSpec(`faults[${i}]`, x)) : [parseFaultSpec('fault', v)];
        return out(201, { added: specs.map((s) => this.faults.add(s)) });
      }
    }
    if (what === 'config') {
      if (method === 'GET') return out(200, { latency_ms: this.latency });
      if (method === 'PATCH' || method === 'POST') {
        const v = await body();
        if (!isPlainObject(v)) throw new SimInputError('config: body must be a JSON object');
        for (const k of Object.keys(v)) if (k !== 'latency_ms') throw new SimInputError(`config: unknown field '${k}' (expected latency_ms)`);
        try {
          this.latency = parseDistribution('latency_ms', v.latency_ms);
        } catch (err) {
          throw new SimInputError((err as Error).message);
        }
        return out(200, { latency_ms: this.latency });
      }
    }
    if (what === 'stats' && method === 'GET') {
      return out(200, { collections: Object.fromEntries([...this.collections].map(([n, c]) => [n, c.count])), total_floats: this.totalFloats, truth: { written: this.truth.written, dropped: this.truth.dropped } });
    }
    return out(404, { error: `unknown control endpoint ${method} /_sim/${what ?? ''} (faults, config, stats)` });
  }
}
