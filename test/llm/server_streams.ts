// Synthetic capture streams for server_request tests: an application's inbound requests on
// server-side connections, and the wire fixtures' outbound calls made by the same process.
import assert from 'node:assert/strict';
import type { StreamEvent } from '../../src/capture/stream.ts';
import { createCallPipeline, type PipelineOptions } from '../../src/llm/pipeline.ts';
import type { CallRecord, OutboundCallRecord, ServerRequestRecord } from '../../src/llm/records.ts';
import { T0, fixtureEvents, loadFixtures, type WireFixture } from './wire.ts';

export const FX = new Map(loadFixtures().map((f) => [f.name, f]));
export const ms = (x: number): number => T0 + Math.round(x * 1e6);
export const APP = 7001;

/** An inbound request on a server-side connection of `pid`: request at `atMs`, response [respAtMs, endMs]. */
export function inbound(connId: number, pid: number, o: { atMs: number; endMs: number; path?: string; status?: number; traceparent?: string; close?: boolean }): StreamEvent[] {
  const body = '{"question":"what is the SLO of checkout?"}';
  const headers = [`host: rag.local:8080`, `content-type: application/json`, `content-length: ${body.length}`];
  if (o.traceparent) headers.push(`traceparent: ${o.traceparent}`);
  const resp = '{"answer":"99.9%"}';
  const status = o.status ?? 200;
  const conn = { connId, pid, tid: pid, cgroupId: 9, local: { address: '127.0.0.1', port: 8080 }, remote: { address: '127.0.0.1', port: 40000 + connId }, tls: false, serverName: null };
  const evs: StreamEvent[] = [
    { kind: 'open', tsNs: ms(o.atMs - 1), conn },
    { kind: 'data', connId, direction: 'ingress', tsNs: ms(o.atMs), bytes: Buffer.from(`POST ${o.path ?? '/ask'} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`), missingAfter: 0, tls: false },
    { kind: 'data', connId, direction: 'egress', tsNs: ms(o.endMs), bytes: Buffer.from(`HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${resp.length}\r\n\r\n${resp}`), missingAfter: 0, tls: false },
  ];
  if (o.close) evs.push({ kind: 'close', connId, tsNs: ms(o.endMs + 1), reason: 'remote_close' });
  return evs;
}

/** A wire fixture's outbound call made by `pid`, shifted to start at `atMs`, optionally with a traceparent. */
export function outbound(name: string, connId: number, pid: number, atMs: number, traceparent?: string): StreamEvent[] {
  const base = FX.get(name);
  assert.ok(base, name);
  const fx: WireFixture = traceparent ? { ...base, request: { ...base.request, headers: { ...(base.request.headers ?? {}), traceparent } } } : base;
  const shift = Math.round(atMs * 1e6);
  return fixtureEvents(fx, connId)
    .filter((e) => e.kind !== 'close')
    .map((e) => (e.kind === 'open' ? { ...e, tsNs: e.tsNs + shift, conn: { ...e.conn, pid, tid: pid } } : { ...e, tsNs: e.tsNs + shift }));
}

export function runAll(streams: StreamEvent[][], opts: PipelineOptions = {}) {
  const evs = streams.flat().map((e, i) => ({ e, i }));
  evs.sort((a, b) => a.e.tsNs - b.e.tsNs || a.i - b.i);
  const records: CallRecord[] = [];
  const p = createCallPipeline({ clock: (ns) => 1_780_000_000_000 + ns / 1e6, ...opts }, (r) => records.push(r));
  for (const { e } of evs) p.onEvent(e);
  p.flush(T0 + 1e15);
  const servers = records.filter((r): r is ServerRequestRecord => r.schema === 'llmslo.server_request/v1');
  const calls = records.filter((r): r is OutboundCallRecord => r.schema !== 'llmslo.server_request/v1');
  return { records, servers, calls, stats: p.stats() };
}


/** The RAG-like scenario: POST /ask [0, 600 ms] with embeddings [10, 90], search [100, 112], chat [120, 540]; a POST /healthz of another process. */
export function ragScenario() {
  return runAll([
    inbound(1, APP, { atMs: 0, endMs: 600 }),
    outbound('openai_embeddings', 2, APP, 10),
    outbound('qdrant_search', 3, APP, 100),
    outbound('openai_chat_stream_usage', 4, APP, 120),
    inbound(5, APP + 5, { atMs: 700, endMs: 701, path: '/healthz' }),
  ]);
}
