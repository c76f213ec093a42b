// A test OTLP/HTTP receiver: node:http server that decodes protobuf export requests with a small
// wire-format reader and the field numbers of opentelemetry-proto (common, resource, trace,
// metrics and logs v1). It can also answer with a chosen status to test failures.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

type Field = { n: number; wt: number; v: bigint | Uint8Array };

/** Protobuf wire reader: a message as a list of (field number, wire type, raw value). */
export function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let p = 0;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const varint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (p >= buf.length) throw new Error('truncated varint');
      const b = buf[p++]!;
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
    }
  };
  while (p < buf.length) {
    const tag = Number(varint());
    const n = tag >>> 3;
    const wt = tag & 7;
    if (wt === 0) out.push({ n, wt, v: varint() });
    else if (wt === 1) {
      out.push({ n, wt, v: dv.getBigUint64(p, true) });
      p += 8;
    } else if (wt === 2) {
      const len = Number(varint());
      if (p + len > buf.length) throw new Error('truncated bytes');
      out.push({ n, wt, v: buf.subarray(p, p + len) });
      p += len;
    } else if (wt === 5) {
      out.push({ n, wt, v: BigInt(dv.getUint32(p, true)) });
      p += 4;
    } else throw new Error(`wire type ${wt}`);
  }
  return out;
}

const bytes = (f: Field): Uint8Array => f.v as Uint8Array;
const str = (f: Field): string => Buffer.from(bytes(f)).toString('utf8');
const hex = (f: Field): string => Buffer.from(bytes(f)).toString('hex');
const f64 = (f: Field): number => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(f.v as bigint);
  return b.readDoubleLE(0);
};
const all = (fs: Field[], n: number): Field[] => fs.filter((f) => f.n === n);
const one = (fs: Field[], n: number): Field | undefined => fs.find((f) => f.n === n);

export type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

// common.proto: AnyValue {string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7}
function anyValue(buf: Uint8Array): Value {
  const f = fields(buf)[0];
  if (!f) return null;
  switch (f.n) {
    case 1: return str(f);
    case 2: return f.v === 1n;
    case 3: return Number(BigInt.asIntN(64, f.v as bigint));
    case 4: return f64(f);
    case 5: return all(fields(bytes(f)), 1).map((x) => anyValue(bytes(x)));
    case 6: return keyValues(all(fields(bytes(f)), 1));
    case 7: return Buffer.from(bytes(f)).toString('hex');
    default: return null;
  }
}

// KeyValue {key 1, value 2}
function keyValues(kvs: Field[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of kvs) {
    const fs = fields(bytes(kv));
    const k = one(fs, 1);
    const v = one(fs, 2);
    if (k) out[str(k)] = v ? anyValue(bytes(v)) : null;
  }
  return out;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, Value>;
  events: Array<{ name: string; timeNs: bigint }>;
  status: { code: number; message: string };
  resource: Record<string, Value>;
  scope: string;
}

// ExportTraceServiceRequest {resource_spans 1}; ResourceSpans {resource 1, scope_spans 2};
// ScopeSpans {scope 1, spans 2}; Span {trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6,
// start 7, end 8, attributes 9, events 11, status 15}; Event {time 1, name 2}; Status {message 2, code 3}
export function decodeTraces(buf: Uint8Array): OtlpSpan[] {
  const out: OtlpSpan[] = [];
  for (const rs of all(fields(buf), 1)) {
    const rsf = fields(bytes(rs));
    const resF = one(rsf, 1);
    const resource = resF ? keyValues(all(fields(bytes(resF)), 1)) : {};
    for (const ss of all(rsf, 2)) {
      const ssf = fields(bytes(ss));
      const scopeF = one(ssf, 1);
      const scope = scopeF ? str(one(fields(bytes(scopeF)), 1)!) : '';
      for (const sp of all(ssf, 2)) {
        const f = fields(bytes(sp));
        const st = one(f, 15);
        const stf = st ? fields(bytes(st)) : [];
        out.push({
          traceId: hex(one(f, 1)!),
          spanId: hex(one(f, 2)!),
          parentSpanId: one(f, 4) ? hex(one(f, 4)!) : '',
          name: str(one(f, 5)!),
          kind: Number(one(f, 6)?.v ?? 0n),
          startNs: (one(f, 7)?.v as bigint) ?? 0n,
          endNs: (one(f, 8)?.v as bigint) ?? 0n,
          attributes: keyValues(all(f, 9)),
          events: all(f, 11).map((e) => {
            const ef = fields(bytes(e));
            return { timeNs: (one(ef, 1)?.v as bigint) ?? 0n, name: str(one(ef, 2)!) };
          }),
          status: { code: Number(one(stf, 3)?.v ?? 0n), message: one(stf, 2) ? str(one(stf, 2)!) : '' },
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

export interface OtlpHistogramPoint {
  attributes: Record<string, Value>;
  count: number;
  sum: number;
  bucketCounts: number[];
  bounds: number[];
}

export interface OtlpMetric {
  name: string;
  unit: string;
  type: 'gauge' | 'sum' | 'histogram' | 'other';
  monotonic: boolean;
  temporality: number;
  histogram: OtlpHistogramPoint[];
  numbers: Array<{ attributes: Record<string, Value>; value: number }>;
}

function packedDoubles(f: Field[]): number[] {
  const out: number[] = [];
  for (const x of f) {
    if (x.wt === 1) out.push(f64(x));
    else {
      const b = Buffer.from(bytes(x));
      for (let i = 0; i + 8 <= b.length; i += 8) out.push(b.readDoubleLE(i));
    }
  }
  return out;
}
const packedFixed64 = (f: Field[]): number[] => {
  const out: number[] = [];
  for (const x of f) {
    if (x.wt === 1) out.push(Number(x.v as bigint));
    else {
      const b = Buffer.from(bytes(x));
      for (let i = 0; i + 8 <= b.length; i += 8) out.push(Number(b.readBigUInt64LE(i)));
    }
  }
  return out;
};

// ExportMetricsServiceRequest {resource_metrics 1}; ResourceMetrics {resource 1, scope_metrics 2};
// ScopeMetrics {scope 1, metrics 2}; Metric {name 1, description 2, unit 3, gauge 5, sum 7, histogram 9};
// Sum {data_points 1, temporality 2, is_monotonic 3}; Histogram {data_points 1, temporality 2};
// NumberDataPoint {as_double 4, as_int 6, attributes 7}; HistogramDataPoint {count 4, sum 5,
// bucket_counts 6, explicit_bounds 7, attributes 9}
export function decodeMetrics(buf: Uint8Array): OtlpMetric[] {
  const out: OtlpMetric[] = [];
  for (const rm of all(fields(buf), 1)) {
    for (const sm of all(fields(bytes(rm)), 2)) {
      for (const mf of all(fields(bytes(sm)), 2)) {
        const f = fields(bytes(mf));
        const m: OtlpMetric = { name: str(one(f, 1)!), unit: one(f, 3) ? str(one(f, 3)!) : '', type: 'other', monotonic: false, temporality: 0, histogram: [], numbers: [] };
        const data = one(f, 5) ?? one(f, 7) ?? one(f, 9);
        if (data) {
          m.type = data.n === 5 ? 'gauge' : data.n === 7 ? 'sum' : 'histogram';
          const df = fields(bytes(data));
          m.temporality = Number(one(df, 2)?.v ?? 0n);
          m.monotonic = one(df, 3)?.v === 1n;
          for (const dp of all(df, 1)) {
            const pf = fields(bytes(dp));
            if (m.type === 'histogram') {
              const sumF = one(pf, 5);
              m.histogram.push({ attributes: keyValues(all(pf, 9)), count: Number(one(pf, 4)?.v ?? 0n), sum: sumF ? f64(sumF) : NaN, bucketCounts: packedFixed64(all(pf, 6)), bounds: packedDoubles(all(pf, 7)) });
            } else {
              const d = one(pf, 4);
              const i = one(pf, 6);
              m.numbers.push({ attributes: keyValues(all(pf, 7)), value: d ? f64(d) : i ? Number(BigInt.asIntN(64, i.v as bigint)) : 0 });
            }
          }
        }
        out.push(m);
      }
    }
  }
  return out;
}

export interface OtlpLog {
  timeNs: bigint;
  severityNumber: number;
  severityText: string;
  body: Value;
  attributes: Record<string, Value>;
  traceId: string;
  spanId: string;
  eventName: string;
}

// ExportLogsServiceRequest {resource_logs 1}; ResourceLogs {resource 1, scope_logs 2};
// ScopeLogs {scope 1, log_records 2}; LogRecord {time 1, severity_number 2, severity_text 3,
// body 5, attributes 6, trace_id 9, span_id 10, event_name 12}
export function decodeLogs(buf: Uint8Array): OtlpLog[] {
  const out: OtlpLog[] = [];
  for (const rl of all(fields(buf), 1)) {
    for (const sl of all(fields(bytes(rl)), 2)) {
      for (const lr of all(fields(bytes(sl)), 2)) {
        const f = fields(bytes(lr));
        out.push({
          timeNs: (one(f, 1)?.v as bigint) ?? 0n,
          severityNumber: Number(one(f, 2)?.v ?? 0n),
          severityText: one(f, 3) ? str(one(f, 3)!) : '',
          body: one(f, 5) ? anyValue(bytes(one(f, 5)!)) : null,
          attributes: keyValues(all(f, 6)),
          traceId: one(f, 9) ? hex(one(f, 9)!) : '',
          spanId: one(f, 10) ? hex(one(f, 10)!) : '',
          eventName: one(f, 12) ? str(one(f, 12)!) : '',
        });
      }
    }
  }
  return out;
}

export interface Receiver {
  url: string;
  spans: OtlpSpan[];
  logs: OtlpLog[];
  /** Every metrics export request, decoded (cumulative: the last one has the totals). */
  metricExports: OtlpMetric[][];
  requests: Record<'traces' | 'metrics' | 'logs', number>;
  contentTypes: Set<string>;
  /** Status to answer with (200 decodes; anything else is counted and refused). */
  status: number;
  retryAfter: string | null;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const rec: Omit<Receiver, 'url' | 'close'> = { spans: [], logs: [], metricExports: [], requests: { traces: 0, metrics: 0, logs: 0 }, contentTypes: new Set(), status: 200, retryAfter: null };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const signal = (req.url ?? '').replace('/v1/', '') as 'traces' | 'metrics' | 'logs';
      if (!(signal in rec.requests)) {
        res.writeHead(404).end();
        return;
      }
      rec.requests[signal]++;
      rec.contentTypes.add(String(req.headers['content-type']));
      if (rec.status !== 200) {
        res.writeHead(rec.status, rec.retryAfter !== null ? { 'retry-after': rec.retryAfter } : {}).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (signal === 'traces') rec.spans.push(...decodeTraces(body));
      else if (signal === 'logs') rec.logs.push(...decodeLogs(body));
      else rec.metricExports.push(decodeMetrics(body));
      // an empty Export*ServiceResponse
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.alloc(0));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(rec, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
