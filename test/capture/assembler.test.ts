// Stream assembly on synthetic kernel records (no root needed): continuation joining, payload
// caps as gaps, TLS records waiting for their binding, SNI, close reasons, memory bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CapturePipeline } from '../../src/capture/pipeline.ts';
import { encodeConn, encodeData, encodeReset, encodeTlsBind } from '../../src/capture/encoder.ts';
import { DataFlags } from '../../src/capture/layout.ts';
import { parseClientHelloSni } from '../../src/capture/tls-hello.ts';
import type { StreamEvent, DataChunk } from '../../src/capture/stream.ts';

function pipe(payloadCap = 16384) {
  const events: StreamEvent[] = [];
  const p = new CapturePipeline({ payloadCap, sink: { onEvent: (e) => events.push(e), flush: () => {} }, processes: undefined });
  return { p, events, data: () => events.filter((e): e is DataChunk => e.kind === 'data') };
}

const tuple = { lport: 40000, rport: 8080 };

/** The ClientHello Node's TLS stack sends for `servername`, caught by a fake server that only records. */
async function realClientHello(servername: string): Promise<Buffer> {
  const { connect } = await import('node:tls');
  const { createServer } = await import('node:net');
  return new Promise<Buffer>((resolve) => {
    const srv = createServer((s) => s.once('data', (d) => { resolve(d); s.destroy(); srv.close(); }));
    srv.listen(0, '127.0.0.1', () => {
      const c = connect({ host: '127.0.0.1', port: (srv.address() as { port: number }).port, servername });
      c.on('error', () => {});
    });
  });
}

test('continuation records of one call are joined; bytes past the cap become a gap', () => {
  const { p, data } = pipe(8192);
  const body = Buffer.alloc(10000, 'a');
  p.feedBatch(Buffer.concat([
    encodeData({ tsNs: 100, pid: 7, connId: 1, tuple, direction: 'ingress', msgLen: 10000, offset: 0, payload: body.subarray(0, 4096) }),
    encodeData({ tsNs: 100, pid: 7, connId: 1, tuple, direction: 'ingress', msgLen: 10000, offset: 4096, payload: body.subarray(4096, 8192) }),
  ]));
  const d = data();
  assert.equal(d.length, 1);
  assert.equal(d[0].bytes.length, 8192);
  assert.equal(d[0].missingAfter, 10000 - 8192);
  assert.equal(d[0].tsNs, 100);
});

test('a continuation whose start was lost is dropped, and the next message still arrives', () => {
  const { p, data } = pipe();
  p.feedBatch(Buffer.concat([
    encodeData({ tsNs: 100, pid: 7, connId: 1, tuple, direction: 'ingress', msgLen: 9000, offset: 4096, payload: Buffer.alloc(4096) }),
    encodeData({ tsNs: 200, pid: 7, connId: 1, tuple, direction: 'ingress', payload: 'HTTP/1.1 200 OK\r\n\r\n' }),
  ]));
  assert.equal(data().length, 1);
  assert.equal(Buffer.from(data()[0].bytes).toString(), 'HTTP/1.1 200 OK\r\n\r\n');
  assert.equal(p.assembler.stats.incompleteMessages, 1);
});

test('TLS records before their binding wait for it and land on the bound connection in order', () => {
  const { p, events } = pipe();
  p.feedBatch(Buffer.concat([
    encodeData({ tsNs: 10, pid: 9, connId: 0, sslPtr: 0xabc, tuple: { lport: 0, rport: 0, family: 0 }, direction: 'egress', source: 'node', payload: 'POST /v1/messages HTTP/1.1\r\n' }),
    encodeTlsBind({ tsNs: 11, pid: 9, sslPtr: 0xabc, connId: 5, tuple: { lport: 5555, rport: 443 } }),
    encodeData({ tsNs: 12, pid: 9, connId: 5, sslPtr: 0xabc, tuple: { lport: 5555, rport: 443 }, direction: 'ingress', source: 'node', payload: 'HTTP/1.1 200 OK\r\n' }),
  ]));
  const kinds = events.map((e) => (e.kind === 'data' ? `${e.kind}:${e.direction}:${e.connId}` : `${e.kind}`));
  assert.deepEqual(kinds, ['open', 'data:egress:5', 'data:ingress:5']);
  const open = events[0];
  assert.ok(open.kind === 'open');
  assert.equal(open.conn.tls, true);
  assert.equal(open.conn.remote?.port, 443);
});

test('unbound TLS records that never get a binding are delivered on their own connection, not lost', () => {
  const { p, data } = pipe();
  p.feedBatch(encodeData({ tsNs: 10, pid: 9, connId: 0, sslPtr: 0xdef, tuple: { lport: 0, rport: 0, family: 0 }, direction: 'egress', source: 'libssl', payload: 'GET / HTTP/1.1\r\n\r\n' }));
  assert.equal(data().length, 0);
  p.feedBatch(encodeConn({ tsNs: 10 + 3e9, pid: 1, connId: 77, tuple, oldState: 7, newState: 2 }));
  assert.equal(data().length, 1);
  assert.ok(data()[0].connId >= 2 ** 52);
  assert.equal(p.assembler.stats.tlsUnboundExpired, 1);
});

test('unbound TLS memory is bounded', () => {
  const events: StreamEvent[] = [];
  const p = new CapturePipeline({ payloadCap: 16384, unboundMaxBytes: 10_000, sink: { onEvent: (e) => events.push(e), flush: () => {} } });
  for (let i = 0; i < 100; i++) {
    p.feedBatch(encodeData({ tsNs: 10 + i, pid: 9, connId: 0, sslPtr: 0x1000 + i, tuple: { lport: 0, rport: 0, family: 0 }, direction: 'egress', source: 'node', payload: Buffer.alloc(1000) }));
  }
  assert.ok(p.assembler.stats.tlsUnboundDropped >= 90);
});

test('close reasons: peer reset, local close, refused', () => {
  const { p, events } = pipe();
  const open = (connId: number) => encodeData({ tsNs: 1, pid: 3, connId, tuple, direction: 'egress', payload: 'GET / HTTP/1.1\r\n\r\n' });
  p.feedBatch(Buffer.concat([
    open(1), encodeConn({ tsNs: 2, pid: 3, connId: 1, tuple, oldState: 1, newState: 4 }), encodeConn({ tsNs: 3, pid: 3, connId: 1, tuple, oldState: 4, newState: 7 }),
    open(2), encodeConn({ tsNs: 2, pid: 3, connId: 2, tuple, oldState: 1, newState: 8 }), encodeConn({ tsNs: 3, pid: 3, connId: 2, tuple, oldState: 8, newState: 7 }),
  ]));
  assert.equal(events.filter((e) => e.kind === 'close').length, 0, 'closes wait out their grace period');
  p.flush(1e12);
  const closes = events.filter((e) => e.kind === 'close').map((e) => (e.kind === 'close' ? `${e.connId}:${e.reason}` : ''));
  assert.deepEqual(closes, ['1:local_close', '2:remote_close']);
});

test('a connect that never established is a connect_failed event: refused after a reset, else a timeout', () => {
  const { p, events } = pipe();
  const t = { laddr: [10, 0, 0, 1], raddr: [10, 0, 0, 9], lport: 40001, rport: 443 };
  p.feedBatch(Buffer.concat([
    encodeConn({ tsNs: 1, pid: 7, cgroupId: 55, connId: 11, tuple: t, oldState: 7, newState: 2 }),
    encodeReset({ tsNs: 2, pid: 7, connId: 11, tuple: t, state: 2, dir: 'received' }),
    encodeConn({ tsNs: 3, pid: 7, cgroupId: 55, connId: 11, tuple: t, oldState: 2, newState: 7, durationNs: 2 }),
    encodeConn({ tsNs: 4, pid: 7, connId: 12, tuple: { ...t, lport: 40002 }, oldState: 7, newState: 2 }),
    encodeConn({ tsNs: 3e9, pid: 7, connId: 12, tuple: { ...t, lport: 40002 }, oldState: 2, newState: 7, durationNs: 3e9 - 4 }),
    // an established connection without data that closes is not a failed connect
    encodeConn({ tsNs: 5, pid: 7, connId: 13, tuple: t, oldState: 2, newState: 1 }),
    encodeConn({ tsNs: 6, pid: 7, connId: 13, tuple: t, oldState: 1, newState: 7 }),
  ]));
  p.flush(1e12); // closes wait out their grace period
  const failed = events.filter((e) => e.kind === 'connect_failed');
  assert.equal(failed.length, 2);
  const [a, b] = failed;
  assert.ok(a?.kind === 'connect_failed' && b?.kind === 'connect_failed');
  assert.equal(a.reason, 'refused');
  assert.equal(a.conn.connId, 11);
  assert.equal(a.conn.pid, 7);
  assert.equal(a.conn.cgroupId, 55);
  assert.deepEqual(a.conn.remote, { address: '10.0.0.9', port: 443 });
  assert.equal(a.attemptNs, 2);
  assert.equal(b.reason, 'timeout');
  assert.equal(b.attemptNs, 3e9 - 4);
  assert.equal(events.length, 2, 'no open or close for connections without data');
});

test('a TLS connection that closes without plaintext after an alert, or closed by this side, is a tls_no_data event', async () => {
  const hello = await realClientHello('llm.example');
  const { p, events } = pipe();
  const t = { laddr: [10, 0, 0, 1], raddr: [10, 0, 0, 9], lport: 40100, rport: 443 };
  const encryptedAlert = Buffer.from([23, 3, 3, 0, 19, ...new Array(19).fill(7)]);
  const ccsThenAlert = Buffer.concat([Buffer.from([20, 3, 3, 0, 1, 1]), encryptedAlert]);
  const plainAlert = Buffer.from([21, 3, 3, 0, 2, 2, 48]); // fatal unknown_ca
  const conn = (id: number, ...msgs: Array<[Buffer, 'egress' | 'ingress']>) => [
    encodeData({ tsNs: 10, pid: 9, cgroupId: 5, connId: id, tuple: { ...t, lport: 40100 + id }, direction: 'egress', payload: hello }),
    ...msgs.map(([b, d], i) => encodeData({ tsNs: 20 + i, pid: 9, connId: id, tuple: { ...t, lport: 40100 + id }, direction: d, payload: b })),
    encodeConn({ tsNs: 30, pid: 9, connId: id, tuple: { ...t, lport: 40100 + id }, oldState: 4, newState: 7 }),
  ];
  p.feedBatch(Buffer.concat([
    ...conn(1, [encryptedAlert, 'egress']), // TLS 1.3: the client rejects the certificate
    ...conn(2, [plainAlert, 'ingress']), // the server rejects us in the clear
    ...conn(3, [ccsThenAlert, 'egress']), // middlebox-compatibility ChangeCipherSpec first
    ...conn(4), // no alert, and no side said it closed first: nothing
    ...conn(5, [encryptedAlert, 'egress'], [Buffer.from([23, 3, 3, 0, 40, ...new Array(40).fill(1)]), 'ingress']), // ciphertext other than alerts is dropped as always
  ]));
  p.flush(1e12);
  const failed = events.filter((e) => e.kind === 'tls_no_data');
  assert.deepEqual(
    failed.map((e) => (e.kind === 'tls_no_data' ? [e.conn.connId, e.alertDirection, e.alertDescription, e.conn.serverName, e.helloNs, e.tsNs] : [])),
    [[1, 'egress', null, 'llm.example', 10, 30], [2, 'ingress', 48, 'llm.example', 10, 30], [3, 'egress', null, 'llm.example', 10, 30], [5, 'egress', null, 'llm.example', 10, 30]],
  );
  // no alert, this side closing first (FIN_WAIT1): the consumer decides (Node rejecting a certificate)
  p.feedBatch(Buffer.concat([
    encodeData({ tsNs: 40, pid: 9, cgroupId: 5, connId: 6, tuple: { ...t, lport: 40106 }, direction: 'egress', payload: hello }),
    encodeConn({ tsNs: 45, pid: 9, connId: 6, tuple: { ...t, lport: 40106 }, oldState: 1, newState: 4 }),
    encodeConn({ tsNs: 50, pid: 9, connId: 6, tuple: { ...t, lport: 40106 }, oldState: 4, newState: 7 }),
  ]));
  p.flush(1e12);
  const closedByUs = events.filter((e) => e.kind === 'tls_no_data' && e.conn.connId === 6);
  assert.equal(closedByUs.length, 1);
  assert.ok(closedByUs[0]?.kind === 'tls_no_data');
  assert.equal(closedByUs[0].reason, 'local_close');
  assert.equal(closedByUs[0].alertDirection, null);
  const f = failed[0];
  assert.ok(f?.kind === 'tls_no_data');
  assert.deepEqual(f.conn.remote, { address: '10.0.0.9', port: 443 });
  assert.equal(f.conn.cgroupId, 5);
  assert.equal(f.conn.tls, true);
  assert.equal(events.filter((e) => e.kind !== 'tls_no_data').length, 0, 'no open, data or close for them');
});

test('data read just after a reset is delivered on its connection, before the close', () => {
  const { p, events } = pipe();
  p.feedBatch(Buffer.concat([
    encodeData({ tsNs: 1e6, pid: 3, connId: 9, tuple, direction: 'egress', payload: 'POST /v1/chat/completions HTTP/1.1\r\n\r\n' }),
    encodeConn({ tsNs: 2e6, pid: 3, connId: 9, tuple, oldState: 1, newState: 7 }),
    encodeData({ tsNs: 3e6, pid: 3, connId: 9, tuple, direction: 'ingress', payload: 'data: [DONE]\n\n' }),
    encodeData({ tsNs: 500e6, pid: 4, connId: 10, tuple, direction: 'egress', payload: 'GET / HTTP/1.1\r\n\r\n' }),
  ]));
  const seq = events.filter((e) => e.kind !== 'open' && ('connId' in e ? e.connId === 9 : false)).map((e) => e.kind === 'data' ? `data:${e.direction}` : e.kind);
  assert.deepEqual(seq, ['data:egress', 'data:ingress', 'close']);
});

test('ciphertext on a socket is never delivered as plaintext', () => {
  const { p, data } = pipe();
  p.feedBatch(Buffer.concat([
    encodeData({ tsNs: 1, pid: 3, connId: 11, tuple, direction: 'egress', payload: Buffer.from([0x17, 3, 3, 0, 32, ...Buffer.alloc(32, 7)]) }),
    encodeData({ tsNs: 2, pid: 3, connId: 11, tuple, direction: 'ingress', payload: Buffer.from([0x15, 3, 3, 0, 2, 1, 0]) }),
  ]));
  assert.equal(data().length, 0);
  assert.equal(p.assembler.stats.ciphertextDropped, 2);
});

test('SNI is read from a real ClientHello and junk yields null', async () => {
  const hello = await realClientHello('api.openai.example');
  assert.equal(parseClientHelloSni(hello), 'api.openai.example');
  for (let i = 0; i < hello.length; i += 7) assert.doesNotThrow(() => parseClientHelloSni(hello.subarray(0, i)));
  assert.equal(parseClientHelloSni(Buffer.from('GET / HTTP/1.1\r\n')), null);
});

test('an empty TRUNCATED record ends a message at once (more iovecs than the kernel walks)', () => {
  const { p, data } = pipe();
  p.feedBatch(Buffer.concat([
    encodeData({ tsNs: 100, pid: 7, connId: 1, tuple, direction: 'egress', msgLen: 1140, offset: 0, payload: Buffer.alloc(1000, 'a') }),
    encodeData({ tsNs: 100, pid: 7, connId: 1, tuple, direction: 'egress', msgLen: 1140, offset: 1000, payload: Buffer.alloc(0), flags: 1 }),
  ]));
  assert.equal(data().length, 1);
  assert.equal(data()[0].missingAfter, 140);
});

test('an incomplete message is delivered before the other direction, keeping order', () => {
  const { p, events } = pipe();
  p.feedBatch(Buffer.concat([
    encodeData({ tsNs: 100, pid: 7, connId: 1, tuple, direction: 'egress', msgLen: 2000, offset: 0, payload: Buffer.alloc(1000, 'a') }),
    encodeData({ tsNs: 200, pid: 7, connId: 1, tuple, direction: 'ingress', payload: 'HTTP/1.1 200 OK\r\n\r\n' }),
  ]));
  const order = events.filter((e) => e.kind === 'data').map((e) => (e.kind === 'data' ? `${e.direction}@${e.tsNs}:${e.missingAfter}` : ''));
  assert.deepEqual(order, ['egress@100:1000', 'ingress@200:0']);
});

test('sizes-only records (a muted connection) reach the sink as sizes, in order with the rest', () => {
  const flags = DataFlags.sizesOnly;
  const head = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n';
  const feed = (p: CapturePipeline) =>
    p.feedBatch(Buffer.concat([
      encodeData({ tsNs: 100, pid: 7, connId: 1, tuple, direction: 'egress', payload: head }),
      // a message in assembly on the connection: the sizes record after it must not overtake it
      encodeData({ tsNs: 110, pid: 7, connId: 1, tuple, direction: 'egress', msgLen: 6000, offset: 0, payload: Buffer.alloc(4096, 'a') }),
      encodeData({ tsNs: 120, pid: 7, connId: 1, tuple, direction: 'egress', msgLen: 300, flags, payload: '' }),
      encodeData({ tsNs: 130, pid: 7, connId: 1, tuple, direction: 'ingress', msgLen: 40, flags, payload: '' }),
      encodeData({ tsNs: 140, pid: 7, connId: 1, tuple, direction: 'egress', msgLen: 250, flags, payload: '' }),
      // a connection never seen before: decoded as a data record (it opens the connection)
      encodeData({ tsNs: 150, pid: 7, connId: 2, tuple, direction: 'egress', msgLen: 10, flags, payload: '' }),
    ]));
  // a sink with the fast path, and one without it: the same transfers
  const fast: string[] = [];
  const p1 = new CapturePipeline({ payloadCap: 65536, sink: { onEvent: (e) => fast.push(e.kind === 'data' ? `data ${e.connId} ${e.direction} ${e.bytes.length}+${e.missingAfter} @${e.tsNs}` : `${e.kind}`), onSizes: (c, d, n, ts) => fast.push(`sizes ${c} ${d} ${n} @${ts}`), flush: () => {} } });
  feed(p1);
  assert.deepEqual(fast, ['open', 'data 1 egress 52+0 @100', 'data 1 egress 4096+1904 @110', 'data 1 egress 0+300 @120', 'sizes 1 ingress 40 @130', 'sizes 1 egress 250 @140', 'open', 'data 2 egress 0+10 @150']);
  const { p: p2, data } = pipe(65536);
  feed(p2);
  assert.deepEqual(data().map((d) => `${d.connId} ${d.direction} ${d.bytes.length}+${d.missingAfter} @${d.tsNs}`), ['1 egress 52+0 @100', '1 egress 4096+1904 @110', '1 egress 0+300 @120', '1 ingress 0+40 @130', '1 egress 0+250 @140', '2 egress 0+10 @150']);
});

test('the periodic tick reaches the sink with the kernel time; records alone do not tick it', () => {
  const ticks: number[] = [];
  const p = new CapturePipeline({ payloadCap: 16384, sink: { onEvent: () => {}, tick: (now) => ticks.push(now), flush: () => {} }, processes: undefined });
  p.feedBatch(encodeData({ tsNs: 500, pid: 7, connId: 1, tuple, direction: 'egress', msgLen: 3, offset: 0, payload: Buffer.from('GET') }));
  assert.deepEqual(ticks, [], 'no tick per record (the hot path)');
  p.tick(1_000);
  p.tick(800); // a drain timer behind the newest record: time does not go back
  assert.deepEqual(ticks, [1_000, 1_000]);
});
