// DNS capture as root with real eBPF: a resolver's query and answer are shipped whether its UDP
// socket is connected (glibc, Go) or names the server per message with sendto/recvfrom (musl, as
// in Alpine images), with the server as the connection's remote end either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { CaptureHarness, requireRoot, run, startPeer } from '../helpers/ebpf.ts';
import { parseDnsMessage } from '../../src/protocols/dns.ts';
import type { ConnectionOpen, DataChunk } from '../../src/capture/stream.ts';

const dnsServer = resolve(import.meta.dirname, '../fixtures/capture/dns_server.py');
const RESOLVER = '127.0.0.78';

// one A query for NAME, answer awaited; argv[1]: "connected" or "unconnected"
const client = `import socket, struct, sys
q = struct.pack('>HHHHHH', 0x4242, 0x0100, 1, 0, 0, 0) + b''.join(bytes([len(l)]) + l.encode() for l in 'llm-dns.example'.split('.')) + b'\\0\\0\\1\\0\\1'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
if sys.argv[1] == 'connected':
    s.connect(('${RESOLVER}', 53)); s.send(q); r = s.recv(512)
else:
    s.sendto(q, ('${RESOLVER}', 53)); r, _ = s.recvfrom(512)
print(r[3] & 15)`;

test('resolver queries and answers are captured on connected and unconnected UDP sockets', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const h = CaptureHarness.open(t);
  if (!h) return;
  const server = await startPeer('/usr/bin/python3', [dnsServer, RESOLVER, '3'], /^listening$/);
  try {
    for (const mode of ['connected', 'unconnected']) {
      const ran = await run('/usr/bin/python3', ['-c', client, mode]);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout.trim(), '3', 'the server answered NXDOMAIN');
      const opened = (): ConnectionOpen | undefined => h.stream.find((e): e is ConnectionOpen => e.kind === 'open' && e.conn.pid === ran.pid);
      const dataOf = (id: number): DataChunk[] => h.stream.filter((e): e is DataChunk => e.kind === 'data' && e.connId === id);
      const ok = await h.waitFor(() => {
        const c = opened();
        return c !== undefined && dataOf(c.conn.connId).length >= 2;
      });
      assert.ok(ok, `${mode}: query and answer captured`);
      const o = opened()!;
      assert.deepEqual(o.conn.remote, { address: RESOLVER, port: 53 }, `${mode}: the server is the remote end`);
      const [query, answer] = dataOf(o.conn.connId);
      assert.equal(query!.direction, 'egress');
      assert.deepEqual(parseDnsMessage(query!.bytes), { id: 0x4242, response: false, rcode: 0, name: 'llm-dns.example', qtype: 1 });
      assert.equal(answer!.direction, 'ingress');
      assert.deepEqual(parseDnsMessage(answer!.bytes), { id: 0x4242, response: true, rcode: 3, name: 'llm-dns.example', qtype: 1 });
    }
  } finally {
    server.child.kill('SIGTERM');
    h.close();
  }
});
