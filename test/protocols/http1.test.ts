// HTTP/1.1 framing through the whole pipeline: keep-alive, pipelining, 100-continue, content
// codings, bodiless responses, upgrades, resynchronisation after lost bytes, non-HTTP bytes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type { StreamEvent } from '../../src/capture/stream.ts';
import type { LlmCallRecord, RetrievalCallRecord } from '../../src/llm/records.ts';
import { run } from '../llm/wire.ts';

const MS = 1e6;
const T = 9_000_000_000_000;

class Conv {
  evs: StreamEvent[] = [];
  constructor(readonly connId = 1, tls = false) {
    this.evs.push({ kind: 'open', tsNs: T, conn: { connId, pid: 10, tid: 10, cgroupId: 1, local: { address: '127.0.0.1', port: 40000 }, remote: { address: '127.0.0.1', port: 8000 }, tls, serverName: null } });
  }
  out(b: string | Buffer, atMs: number, missingAfter = 0): this {
    this.evs.push({ kind: 'data', connId: this.connId, direction: 'egress', tsNs: T + atMs * MS, bytes: typeof b === 'string' ? Buffer.from(b, 'latin1') : b, missingAfter, tls: false });
    return this;
  }
  in(b: string | Buffer, atMs: number, missingAfter = 0): this {
    this.evs.push({ kind: 'data', connId: this.connId, direction: 'ingress', tsNs: T + atMs * MS, bytes: typeof b === 'string' ? Buffer.from(b, 'latin1') : b, missingAfter, tls: false });
    return this;
  }
  close(atMs: number, reason: 'local_close' | 'remote_close' | 'reset_received' = 'local_close'): StreamEvent[] {
    this.evs.push({ kind: 'close', connId: this.connId, tsNs: T + atMs * MS, reason });
    return this.evs;
  }
}

const chatReq = (model: string, extra: Record<string, string> = {}, body?: string): string => {
  const b = body ?? JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
  const h = Object.entries({ host: 'vllm:8000', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(b)), ...extra }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `POST /v1/chat/completions HTTP/1.1\r\n${h}\r\n${b}`;
};
const chatBody = (model: string, text = 'ok'): string =>
  JSON.stringify({ id: 'c1', object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
const jsonResp = (body: string | Buffer, extra: Record<string, string> = {}): Buffer => {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const h = Object.entries({ 'content-type': 'application/json', 'content-length': String(b.length), ...extra }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${h}\r\n`), b]);
};
const llm = (rs: unknown[]): LlmCallRecord[] => rs as LlmCallRecord[];

describe('HTTP/1.1 framing', () => {
  test('keep-alive: sequential exchanges on one connection pair in order', () => {
    const c = new Conv().out(chatReq('m1'), 0).in(jsonResp(chatBody('r1')), 10).out(chatReq('m2'), 20).in(jsonResp(chatBody('r2')), 35);
    const { records } = run(c.close(50));
    const r = llm(records);
    assert.deepEqual(r.map((x) => [x['gen_ai.request.model'], x['gen_ai.response.model'], x.duration_s, x.partial]), [['m1', 'r1', 0.01, false], ['m2', 'r2', 0.015, false]]);
  });
  test('pipelining: two requests back to back, then two responses in one read', () => {
    const c = new Conv().out(chatReq('m1') + chatReq('m2'), 0).in(Buffer.concat([jsonResp(chatBody('r1')), jsonResp(chatBody('r2'))]), 10);
    const r = llm(run(c.close(20)).records);
    assert.deepEqual(r.map((x) => [x['gen_ai.request.model'], x['gen_ai.response.model']]), [['m1', 'r1'], ['m2', 'r2']]);
  });
  test('100-continue: interim response does not end the exchange; request_end is the body write', () => {
    const body = JSON.stringify({ model: 'm1', messages: [] });
    const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: ${body.length}\r\n\r\n`;
    const c = new Conv().out(head, 0).in('HTTP/1.1 100 Continue\r\n\r\n', 1).out(body, 2).in(jsonResp(chatBody('r1')), 30);
    const r = llm(run(c.close(40)).records);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.timestamps_ns.request_end, T + 2 * MS);
    assert.equal(r[0]!['http.response.status_code'], 200);
    assert.equal(r[0]!['gen_ai.request.model'], 'm1');
  });
  for (const [enc, fn] of [
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['br', zlib.brotliCompressSync],
  ] as const) {
    test(`compressed non-stream body (${enc}) is decoded`, () => {
      const c = new Conv().out(chatReq('m1'), 0).in(jsonResp(fn(Buffer.from(chatBody('r1'))), { 'content-encoding': enc }), 10);
      const r = llm(run(c.close(20)).records);
      assert.equal(r[0]!['gen_ai.response.model'], 'r1');
      assert.equal(r[0]!['gen_ai.usage.output_tokens'], 1);
      assert.equal(r[0]!.partial, false);
    });
  }
  test('gzip-compressed SSE stream keeps per-chunk timing', () => {
    const events = ['{"model":"g","choices":[{"index":0,"delta":{"content":"a"}}]}', '{"model":"g","choices":[{"index":0,"delta":{"content":"b"}}]}', '[DONE]'].map((d) => `data: ${d}\n\n`);
    // one gzip member split across two chunked pieces: decoded incrementally as bytes arrive
    const full = zlib.gzipSync(Buffer.from(events.join('')));
    const head = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n';
    const chunk = (b: Buffer): Buffer => Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b, Buffer.from('\r\n')]);
    const a = full.subarray(0, 20);
    const b = full.subarray(20);
    const c = new Conv().out(chatReq('m1', {}, JSON.stringify({ model: 'm1', messages: [], stream: true })), 0).in(head, 5).in(chunk(a), 6).in(Buffer.concat([chunk(b), Buffer.from('0\r\n\r\n')]), 9);
    const r = llm(run(c.close(20)).records);
    assert.equal(r[0]!.content_chunks, 2);
    assert.equal(r[0]!['error.type'], null);
    assert.equal(r[0]!.timestamps_ns.response_end, T + 9 * MS);
  });
  test('HEAD and 204 responses have no body; the next exchange still parses', () => {
    const c = new Conv().out('HEAD /v1/models HTTP/1.1\r\nhost: x\r\n\r\n', 0).in('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n', 1)
      .out('DELETE /thing HTTP/1.1\r\nhost: x\r\n\r\n', 2).in('HTTP/1.1 204 No Content\r\n\r\n', 3)
      .out(chatReq('m1'), 4).in(jsonResp(chatBody('r1')), 8);
    const { records, stats } = run(c.close(10));
    assert.equal(records.length, 1);
    assert.equal(stats.http.exchanges, 3);
    assert.equal(stats.http.resyncs, 0);
  });
  test('upgrade (101) passes the rest over without harm', () => {
    const c = new Conv().out('GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n', 0)
      .in('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n', 1)
      .out(Buffer.from([0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 2).in(Buffer.from([0x81, 0x03, 0x61, 0x62, 0x63]), 3);
    const { records, stats } = run(c.close(10));
    assert.equal(records.length, 0);
    assert.equal(stats.http.tunnels, 1);
    assert.equal(stats.http.resyncs, 0);
    assert.equal(stats.calls.internalErrors, 0);
  });
  test('non-HTTP connections (TLS records on a plain socket, HTTP/2 preface) are ignored and counted', () => {
    const c1 = new Conv(1).out(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), 0);
    const c2 = new Conv(2).out('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 0);
    const { records, stats } = run([...c1.close(5), ...c2.close(5)]);
    assert.equal(records.length, 0);
    assert.equal(stats.http.nonHttpConnections, 2);
  });
  test('chunked bodies with extensions and trailers', () => {
    const body = chatBody('r1');
    const resp = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${(10).toString(16)};ext=1\r\n${body.slice(0, 10)}\r\n${(body.length - 10).toString(16)}\r\n${body.slice(10)}\r\n0\r\nx-trailer: 1\r\n\r\n`;
    const r = llm(run(new Conv().out(chatReq('m1'), 0).in(resp, 5).close(9)).records);
    assert.equal(r[0]!['gen_ai.response.model'], 'r1');
    assert.equal(r[0]!.partial, false);
  });
  test('read-until-close body ends at the close', () => {
    const resp = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${chatBody('r1')}`;
    const r = llm(run(new Conv().out(chatReq('m1'), 0).in(resp, 5).close(9, 'remote_close')).records);
    assert.equal(r[0]!['gen_ai.response.model'], 'r1');
    assert.equal(r[0]!['error.type'], null);
    assert.equal(r[0]!.timestamps_ns.response_end, T + 9 * MS);
  });
});

describe('partial captures', () => {
  test('a gap inside a Content-Length body keeps framing: the call is partial, the next one is whole', () => {
    const resp1 = jsonResp(chatBody('r1'));
    const c = new Conv().out(chatReq('m1'), 0).in(resp1.subarray(0, resp1.length - 30), 10, 30).out(chatReq('m2'), 20).in(jsonResp(chatBody('r2')), 30);
    const { records, stats } = run(c.close(40));
    const r = llm(records);
    assert.equal(r.length, 2);
    assert.equal(r[0]!.partial, true);
    assert.ok(r[0]!.partial_reasons.includes('response_gap'));
    assert.equal(r[0]!['gen_ai.response.model'], null, 'never invent data from a broken body');
    assert.equal(r[1]!.partial, false);
    assert.equal(r[1]!['gen_ai.response.model'], 'r2');
    assert.equal(stats.http.resyncs, 0);
  });
  test('a gap that swallows a message boundary resynchronises on the next status line', () => {
    const resp1 = jsonResp(chatBody('r1'));
    // the end of response 1 and the whole of response 2 are lost; response 3 is captured
    const c = new Conv().out(chatReq('m1'), 0).out(chatReq('m2'), 1).out(chatReq('m3'), 2)
      .in(resp1.subarray(0, 50), 10, 5000).in(Buffer.concat([Buffer.from('tail of something"}'), jsonResp(chatBody('r3'))]), 30);
    const { records, stats } = run(c.close(40));
    const r = llm(records);
    const byModel = Object.fromEntries(r.map((x) => [x['gen_ai.request.model'], x]));
    assert.equal(r.length, 3);
    assert.equal(byModel['m3']!['gen_ai.response.model'], 'r3');
    assert.ok(byModel['m3']!.partial_reasons.includes('resynced'));
    assert.ok(byModel['m1']!.partial);
    assert.ok(byModel['m2']!.partial_reasons.includes('response_lost'));
    assert.ok(stats.http.resyncs >= 1);
  });
  test('agent started mid-connection: the first bytes are the middle of a stream; the next exchange is followed', () => {
    const c = new Conv().in('"content":"x"}}]}\n\ndata: [DONE]\n\n\r\n0\r\n\r\n', 0).out(chatReq('m2'), 10).in(jsonResp(chatBody('r2')), 20);
    const { records, stats } = run(c.close(30));
    const r = llm(records);
    assert.equal(r.length, 1);
    assert.equal(r[0]!['gen_ai.response.model'], 'r2');
    assert.equal(r[0]!.observed_side, 'client');
    assert.equal(stats.calls.internalErrors, 0);
  });
  test('a request head larger than the cap is dropped and counted; the connection recovers', () => {
    const huge = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(2000)}\r\n\r\n{}`;
    const c = new Conv().out(huge, 0).in(jsonResp(chatBody('r1')), 5).out(chatReq('m2'), 10).in(jsonResp(chatBody('r2')), 20);
    const { records, stats } = run(c.close(30), { limits: { maxHeadBytes: 1024 } });
    assert.equal(stats.http.headTooLarge, 1);
    const r = llm(records);
    assert.equal(r.at(-1)!['gen_ai.response.model'], 'r2');
  });
  test('request bodies over the cap are counted and the call is flagged, not guessed', () => {
    const big = JSON.stringify({ model: 'm1', messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    const r = llm(run(new Conv().out(chatReq('m1', {}, big), 0).in(jsonResp(chatBody('r1')), 5).close(9), { limits: { maxRequestBodyBytes: 1000 } }).records);
    assert.equal(r[0]!['gen_ai.request.model'], null);
    assert.ok(r[0]!.partial_reasons.includes('request_body_truncated'));
  });
  test('capture loss marks the calls in flight partial', () => {
    const c = new Conv().out(chatReq('m1'), 0);
    c.evs.push({ kind: 'loss', tsNs: T + 1 * MS, lostRecords: 12 });
    c.in(jsonResp(chatBody('r1')), 5);
    const { records, stats } = run(c.close(9));
    assert.ok(llm(records)[0]!.partial_reasons.includes('capture_loss'));
    assert.equal(stats.lostRecords, 12);
  });
  test('data for a connection never opened is still parsed (counted)', () => {
    const c = new Conv().out(chatReq('m1'), 0).in(jsonResp(chatBody('r1')), 5);
    const evs = c.close(9).filter((e) => e.kind !== 'open');
    const { records, stats } = run(evs);
    assert.equal(records.length, 1);
    assert.equal(stats.connections.unknownDataConn, 1);
  });
  test('connection refused / reset before any response', () => {
    const a = new Conv(1).out(chatReq('m1'), 0).close(5, 'reset_received');
    const evs: StreamEvent[] = [...a];
    const b = new Conv(2).out(chatReq('m2'), 0);
    b.evs.push({ kind: 'close', connId: 2, tsNs: T + 3 * MS, reason: 'refused' });
    const r = llm(run([...evs, ...b.evs]).records);
    const byModel = Object.fromEntries(r.map((x) => [x['gen_ai.request.model'], x['error.type']]));
    assert.deepEqual(byModel, { m1: 'connection_reset', m2: 'connection_refused' });
  });
});

describe('retrieval through HTTP', () => {
  test('vector search is a RetrievalCall; plain search without knn is not', () => {
    const knn = JSON.stringify({ knn: { field: 'v', query_vector: [1, 2], k: 3 } });
    const plain = JSON.stringify({ query: { match: { title: 'x' } } });
    const req = (b: string): string => `POST /idx/_search HTTP/1.1\r\nhost: es:9200\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\n\r\n${b}`;
    const c = new Conv().out(req(knn), 0).in(jsonResp(JSON.stringify({ hits: { hits: [{}, {}] } })), 4).out(req(plain), 5).in(jsonResp(JSON.stringify({ hits: { hits: [] } })), 9);
    const r = run(c.close(10)).records as RetrievalCallRecord[];
    assert.equal(r.length, 1);
    assert.equal(r[0]!.result_count, 2);
    assert.equal(r[0]!['gen_ai.request.top_k'], 3);
    assert.equal(r[0]!.duration_s, 0.004);
  });
});

describe('other protocols', () => {
  test('a connection that never shows HTTP is given up after a bounded number of bytes', () => {
    // a Postgres-like startup message then binary traffic
    const c = new Conv().out(Buffer.from([0, 0, 0, 8, 0, 3, 0, 0]), 0);
    const blob = Buffer.alloc(64 * 1024);
    for (let i = 0; i < blob.length; i += 7) blob[i] = 0x44; // 'D' rows with NUL-filled fields
    for (let i = 0; i < 8; i++) c.in(blob, 1 + i).out(blob, 1.5 + i);
    const { records, stats } = run(c.close(20), { limits: { maxPreHttpBytes: 256 * 1024 } });
    assert.equal(records.length, 0);
    assert.equal(stats.http.nonHttpConnections, 1);
    assert.ok(stats.http.resyncBytesSkipped <= 256 * 1024 + 8192, String(stats.http.resyncBytesSkipped));
  });
  test('a keep-alive HTTP connection is never given up, however many bytes it carries', () => {
    const c = new Conv();
    for (let i = 0; i < 40; i++) c.out(chatReq('m' + i), i * 2).in(jsonResp(chatBody('r' + i, 'x'.repeat(10000))), i * 2 + 1);
    const { records, stats } = run(c.close(100), { limits: { maxPreHttpBytes: 4096 } });
    assert.equal(records.length, 40);
    assert.equal(stats.http.nonHttpConnections, 0);
  });
});

describe('joined mid-stream', () => {
  test('a long text stream joined mid-way is scanned, not given up: the next exchange is followed', () => {
    const c = new Conv();
    for (let i = 0; i < 100; i++) c.in(`data: {"choices":[{"index":0,"delta":{"content":"${'y'.repeat(4000)}"}}]}\n\n`, i * 0.1);
    c.out(chatReq('m2'), 20).in(jsonResp(chatBody('r2')), 21);
    const { records, stats } = run(c.close(30), { limits: { maxPreHttpBytes: 64 * 1024 } });
    assert.equal(stats.http.nonHttpConnections, 0);
    assert.equal((records as LlmCallRecord[])[0]!['gen_ai.response.model'], 'r2');
  });
});

describe('responses whose request was not captured', () => {
  const anthropicStream = [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_o","model":"claude-x","usage":{"input_tokens":7,"output_tokens":1}}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
  ];
  test('a stream whose request went by before capture started is followed from its payloads (partial)', () => {
    const body = anthropicStream.join('');
    const c = new Conv().in(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${body.length}\r\n\r\n`, 100);
    let at = 110;
    for (const ev of anthropicStream) c.in(ev, (at += 10));
    // and the connection goes on with a normal exchange
    c.out(chatReq('m2'), 200).in(jsonResp(chatBody('r2')), 210);
    const r = run(c.close(300)).records as LlmCallRecord[];
    assert.equal(r.length, 2);
    const o = r[0]!;
    assert.equal(o['gen_ai.provider.name'], 'anthropic');
    assert.equal(o['gen_ai.response.model'], 'claude-x');
    assert.equal(o['gen_ai.usage.output_tokens'], 2);
    assert.equal(o.content_chunks, 1);
    assert.equal(o.ttft_s, null, 'no request_end: no TTFT');
    assert.equal(o.timestamps_ns.request_start, T + 100 * MS);
    assert.ok(o.partial && o.partial_reasons.includes('request_not_seen'));
    assert.equal(o['error.type'], null);
    assert.equal(r[1]!['gen_ai.response.model'], 'r2');
  });
  test('a non-LLM event stream without its request gives no record', () => {
    const body = 'data: {"price":1}\n\ndata: {"price":2}\n\n';
    const c = new Conv().in(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 1);
    const { records, stats } = run(c.close(5));
    assert.equal(records.length, 0);
    assert.equal(stats.http.unpairedResponses, 1);
  });
});
