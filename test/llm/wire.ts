// Test helper: turns a wire transcript fixture (test/fixtures/wire/*.json) into the capture
// plane's StreamEvents with exact timestamps, and runs them through the pipeline.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CloseReason, ConnectionInfo, StreamEvent } from '../../src/capture/stream.ts';
import { createCallPipeline } from '../../src/llm/pipeline.ts';
import type { PipelineOptions, PipelineStats } from '../../src/llm/pipeline.ts';
import type { CallRecord } from '../../src/llm/records.ts';

export const WIRE_DIR = new URL('../fixtures/wire/', import.meta.url).pathname;

export interface WirePiece {
  /** ms after the request was sent */
  at_ms: number;
  /** text of the body piece (before transfer encoding) */
  data: string;
}

export interface WireFixture {
  name: string;
  description?: string;
  source?: string;
  tls?: boolean;
  host?: string;
  port?: number;
  request: { method?: string; path: string; headers?: Record<string, string>; body?: unknown; body_text?: string };
  response?: {
    status: number;
    reason?: string;
    headers?: Record<string, string>;
    head_at_ms?: number;
    /** chunked (default) or content-length framing */
    framing?: 'chunked' | 'length' | 'close';
    pieces: WirePiece[];
    /** ms of the terminating zero chunk (default: with the last piece) */
    end_at_ms?: number;
    /** omit the final zero-size chunk (stream cut) */
    unterminated?: boolean;
  };
  close?: { at_ms: number; reason: CloseReason };
  expect: Record<string, unknown>;
}

export function loadFixtures(): WireFixture[] {
  return readdirSync(WIRE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ ...(JSON.parse(readFileSync(join(WIRE_DIR, f), 'utf8')) as WireFixture), name: f.replace(/\.json$/, '') }));
}

export const T0 = 5_000_000_000_000; // ns, arbitrary monotonic origin
const ms = (x: number): number => T0 + Math.round(x * 1e6);

export interface Segment {
  direction: 'egress' | 'ingress';
  tsNs: number;
  bytes: Buffer;
}

/** The bytes each side writes, in time order (one segment per write). */
export function fixtureSegments(fx: WireFixture): Segment[] {
  const segs: Segment[] = [];
  const req = fx.request;
  const bodyText = req.body_text ?? (req.body === undefined ? '' : JSON.stringify(req.body));
  const body = Buffer.from(bodyText, 'utf8');
  const headers: Record<string, string> = { host: fx.host ?? 'api.openai.com', 'user-agent': 'test', ...(req.headers ?? {}) };
  if (body.length > 0) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(body.length);
  }
  const head = `${req.method ?? 'POST'} ${req.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  // request head and body as two writes 0.1 ms apart (as SDKs do)
  segs.push({ direction: 'egress', tsNs: ms(0), bytes: Buffer.from(head, 'latin1') });
  if (body.length > 0) segs.push({ direction: 'egress', tsNs: ms(0.1), bytes: body });
  const resp = fx.response;
  if (resp) {
    const framing = resp.framing ?? 'chunked';
    const rh: Record<string, string> = { ...(resp.headers ?? {}) };
    const total = Buffer.concat(resp.pieces.map((p) => Buffer.from(p.data, 'utf8')));
    if (framing === 'chunked') rh['transfer-encoding'] = 'chunked';
    else if (framing === 'length') rh['content-length'] = String(total.length);
    const rhead = `HTTP/1.1 ${resp.status} ${resp.reason ?? 'OK'}\r\n${Object.entries(rh).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    const headAt = resp.head_at_ms ?? resp.pieces[0]?.at_ms ?? 1;
    segs.push({ direction: 'ingress', tsNs: ms(headAt), bytes: Buffer.from(rhead, 'latin1') });
    resp.pieces.forEach((p, i) => {
      const data = Buffer.from(p.data, 'utf8');
      let bytes = data;
      if (framing === 'chunked') {
        const parts = [Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')];
        const last = i === resp.pieces.length - 1;
        if (last && resp.end_at_ms === undefined && !resp.unterminated) parts.push(Buffer.from('0\r\n\r\n'));
        bytes = Buffer.concat(parts);
      }
      segs.push({ direction: 'ingress', tsNs: ms(p.at_ms), bytes });
    });
    if (framing === 'chunked' && resp.end_at_ms !== undefined && !resp.unterminated)
      segs.push({ direction: 'ingress', tsNs: ms(resp.end_at_ms), bytes: Buffer.from('0\r\n\r\n') });
  }
  return segs;
}

export function connInfo(fx: WireFixture, connId = 1): ConnectionInfo {
  return {
    connId,
    pid: 4242,
    tid: 4242,
    cgroupId: 77,
    local: { address: '10.0.0.2', port: 51000 + connId },
    remote: { address: '10.0.0.9', port: fx.port ?? (fx.tls === false ? 80 : 443) },
    tls: fx.tls !== false,
    serverName: fx.tls === false ? null : (fx.host ?? 'api.openai.com'),
  };
}

/** Events as a client-side capture sees them. */
export function fixtureEvents(fx: WireFixture, connId = 1): StreamEvent[] {
  const info = connInfo(fx, connId);
  const evs: StreamEvent[] = [{ kind: 'open', tsNs: ms(-1), conn: info }];
  for (const s of fixtureSegments(fx)) evs.push({ kind: 'data', connId, direction: s.direction, tsNs: s.tsNs, bytes: s.bytes, missingAfter: 0, tls: info.tls });
  const closeAt = fx.close ? ms(fx.close.at_ms) : ms(1e6);
  evs.push({ kind: 'close', connId, tsNs: closeAt, reason: fx.close?.reason ?? 'local_close' });
  return evs;
}

/** The same exchange seen from the server process: directions swap. */
export function asServerSide(evs: StreamEvent[]): StreamEvent[] {
  return evs.map((e) => {
    if (e.kind === 'data') return { ...e, direction: e.direction === 'egress' ? 'ingress' : 'egress' };
    if (e.kind === 'open') return { ...e, conn: { ...e.conn, local: e.conn.remote, remote: e.conn.local } };
    if (e.kind === 'close') {
      const flip: Partial<Record<CloseReason, CloseReason>> = { local_close: 'remote_close', remote_close: 'local_close', reset_sent: 'reset_received', reset_received: 'reset_sent' };
      return { ...e, reason: flip[e.reason] ?? e.reason };
    }
    return e;
  });
}

export function run(evs: StreamEvent[], opts: PipelineOptions = {}): { records: CallRecord[]; stats: PipelineStats } {
  const records: CallRecord[] = [];
  const p = createCallPipeline({ clock: (ns) => 1_780_000_000_000 + ns / 1e6, ...opts }, (r) => records.push(r));
  for (const e of evs) p.onEvent(e);
  p.flush(T0 + 1e15);
  return { records, stats: p.stats() };
}

/** Split every data event's bytes at the given cut points (same ts for all pieces). */
export function resplit(evs: StreamEvent[], cuts: (len: number, idx: number) => number[]): StreamEvent[] {
  const out: StreamEvent[] = [];
  evs.forEach((e, idx) => {
    if (e.kind !== 'data' || e.bytes.length < 2) {
      out.push(e);
      return;
    }
    const points = [...new Set(cuts(e.bytes.length, idx).filter((c) => c > 0 && c < e.bytes.length))].sort((a, b) => a - b);
    let prev = 0;
    for (const c of [...points, e.bytes.length]) {
      out.push({ ...e, bytes: e.bytes.subarray(prev, c) });
      prev = c;
    }
  });
  return out;
}

/** Check that `actual` contains `expected` (deep, numbers within 1e-9 relative). */
export function subsetMismatches(actual: unknown, expected: unknown, path = ''): string[] {
  if (typeof expected === 'number' && typeof actual === 'number') {
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)) ? [] : [`${path}: ${actual} != ${expected}`];
  }
  if (expected === null || typeof expected !== 'object') return Object.is(actual, expected) ? [] : [`${path}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return [`${path}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`];
    return expected.flatMap((x, i) => subsetMismatches(actual[i], x, `${path}[${i}]`));
  }
  if (typeof actual !== 'object' || actual === null) return [`${path}: ${JSON.stringify(actual)} is not an object`];
  return Object.entries(expected).flatMap(([k, v]) => subsetMismatches((actual as Record<string, unknown>)[k], v, path ? `${path}.${k}` : k));
}
