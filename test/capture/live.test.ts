// Real eBPF capture, as root: real clients (Node, Python, curl) talk to a local peer over plain
// HTTP and TLS; the peer records the exact bytes it received and sent, and the capture must
// reproduce them byte for byte, on the right connection, in the right direction, for the right pid.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CaptureHarness, requireRoot, run, startPeer } from '../helpers/ebpf.ts';
import { defaultWakeupBytes, LiveCapture } from '../../src/capture/live.ts';
import { TcpState } from '../../src/capture/layout.ts';
import { CapturePipeline, monotonicNowNs } from '../../src/capture/pipeline.ts';
import { readRecording, RecordingWriter } from '../../src/capture/recording.ts';
import type { ConnectionInfo, DataChunk, StreamEvent } from '../../src/capture/stream.ts';

const here = import.meta.dirname;
const serverScript = resolve(here, '../fixtures/capture/exact-server.mjs');
const PY = '/usr/bin/python3';
const BODY = '{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"hi"}]}';

interface ServerConn {
  remotePort: number;
  localPort: number;
  received: Buffer;
  sent: Buffer;
}

function serverConns(lines: string[]): ServerConn[] {
  return lines
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { remotePort: number; localPort: number; received: string; sent: string })
    .map((c) => ({ ...c, received: Buffer.from(c.received, 'base64'), sent: Buffer.from(c.sent, 'base64') }));
}

function opens(h: CaptureHarness, pid: number): ConnectionInfo[] {
  return h.stream.filter((e): e is Extract<StreamEvent, { kind: 'open' }> => e.kind === 'open' && e.conn.pid === pid).map((e) => e.conn);
}

function bytesOf(h: CaptureHarness, connId: number, direction: 'egress' | 'ingress'): Buffer {
  return Buffer.concat(h.stream.filter((e): e is DataChunk => e.kind === 'data' && e.connId === connId && e.direction === direction).map((e) => Buffer.from(e.bytes)));
}

function clientCommands(port: number, tls: boolean): Array<{ name: string; cmd: string; args: string[]; env?: NodeJS.ProcessEnv }> {
  type Cmd = { name: string; cmd: string; args: string[]; env?: NodeJS.ProcessEnv };
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/v1/chat/completions`;
  const nodeHttp = `const m=require('${tls ? 'https' : 'http'}');const r=m.request('${url}',{method:'POST',rejectUnauthorized:false,headers:{'content-type':'application/json','content-length':Buffer.byteLength(process.argv[1])}},res=>{res.resume();res.on('end',()=>process.exit(0))});r.end(process.argv[1]);`;
  const py = `import sys,ssl,urllib.request\nctx=ssl.create_default_context();ctx.check_hostname=False;ctx.verify_mode=ssl.CERT_NONE\nreq=urllib.request.Request('${url}',data=sys.argv[1].encode(),headers={'content-type':'application/json'})\nr=urllib.request.urlopen(req,context=ctx) if '${tls}'=='true' else urllib.request.urlopen(req)\nr.read()`;
  const cmds: Cmd[] = [
    { name: 'curl', cmd: 'curl', args: ['-sS', '-k', '-o', '/dev/null', '-H', 'content-type: application/json', '--data', BODY, url] },
    { name: 'python', cmd: PY, args: ['-c', py, BODY] },
    { name: `node ${tls ? 'https' : 'http'}`, cmd: process.execPath, args: ['-e', nodeHttp, BODY] },
  ];
  if (tls) {
    cmds.push({
      name: 'node fetch',
      cmd: process.execPath,
      args: ['-e', `fetch('${url}',{method:'POST',headers:{'content-type':'application/json'},body:process.argv[1]}).then(r=>r.text()).then(()=>process.exit(0))`, BODY],
      env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0', NODE_NO_WARNINGS: '1' },
    });
  }
  return cmds;
}

async function exchangeAndCheck(t: TestContext, h: CaptureHarness, tls: boolean, certDir: string): Promise<void> {
  const args = tls ? [serverScript, '--tls', join(certDir, 'cert.pem'), join(certDir, 'key.pem')] : [serverScript];
  const server = await startPeer(process.execPath, args, /^listening (\d+)$/);
  const port = Number(server.match[1]);
  const serverPid = server.child.pid!;
  try {
    for (const c of clientCommands(port, tls)) {
      await t.test(`${tls ? 'TLS' : 'plaintext'} via ${c.name}`, async () => {
        const t0 = monotonicNowNs();
        const ran = await run(c.cmd, c.args, { env: c.env });
        assert.equal(ran.code, 0, `${c.name} failed: ${ran.stderr}`);
        const t1 = monotonicNowNs();
        // The client's connection, as captured.
        const got = await h.waitFor(() => {
          const mine = opens(h, ran.pid);
          if (mine.length === 0) return false;
          const sc = serverConns(server.lines).find((s) => s.remotePort === mine[0].local?.port);
          return !!sc && bytesOf(h, mine[0].connId, 'ingress').length >= sc.sent.length;
        });
        const mine = opens(h, ran.pid);
        assert.ok(got, `no complete capture for ${c.name} (pid ${ran.pid}); connections seen: ${JSON.stringify(mine)}`);
        assert.equal(mine.length, 1, 'exactly one connection for the client');
        const conn = mine[0];
        assert.equal(conn.tls, tls);
        assert.equal(conn.remote?.address, '127.0.0.1');
        assert.equal(conn.remote?.port, port);
        const sc = serverConns(server.lines).find((s) => s.remotePort === conn.local?.port)!;
        assert.ok(sc, 'server saw the client port the capture reports');
        assert.ok(sc.received.toString().includes(BODY), 'server got the request body');
        assert.deepEqual(bytesOf(h, conn.connId, 'egress'), sc.received, 'client egress == bytes the server received');
        assert.deepEqual(bytesOf(h, conn.connId, 'ingress'), sc.sent, 'client ingress == bytes the server sent');
        for (const e of h.stream) {
          if (e.kind === 'data' && e.connId === conn.connId) {
            assert.ok(e.tsNs >= t0 && e.tsNs <= t1 + 1e9, `timestamp ${e.tsNs} outside [${t0}, ${t1}]`);
            assert.equal(e.tls, tls);
            assert.equal(e.missingAfter, 0);
          }
        }
        // The same exchange from the server's side of the connection.
        const srv = opens(h, serverPid).find((o) => o.remote?.port === conn.local?.port);
        assert.ok(srv, 'server side of the connection captured');
        assert.equal(srv.local?.port, port);
        assert.equal(srv.tls, tls);
        await h.waitFor(() => bytesOf(h, srv.connId, 'egress').length >= sc.sent.length, 5000);
        assert.deepEqual(bytesOf(h, srv.connId, 'ingress'), sc.received);
        assert.deepEqual(bytesOf(h, srv.connId, 'egress'), sc.sent);
        // Plain connections: the kernel saw connect and close for the client.
        if (!tls) {
          const conns = h.raw.filter((e) => e.type === 'conn' && e.connId === conn.connId);
          assert.ok(conns.some((e) => e.type === 'conn' && e.oldState === TcpState.synSent && e.newState === TcpState.established && e.durationNs > 0), 'connect latency');
        }
      });
    }
  } finally {
    server.child.kill('SIGTERM');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

test('live capture with real eBPF', { timeout: 240_000 }, async (t) => {
  const h = CaptureHarness.open(t);
  if (!h) return;
  const certDir = mkdtempSync(join(tmpdir(), 'llmslo-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });

    await exchangeAndCheck(t, h, false, certDir);
    await exchangeAndCheck(t, h, true, certDir);

    await t.test('many concurrent TLS connections in one Node process keep their bytes apart', async () => {
      const server = await startPeer(process.execPath, [serverScript, '--tls', join(certDir, 'cert.pem'), join(certDir, 'key.pem')], /^listening (\d+)$/);
      try {
        const port = Number(server.match[1]);
        // 60 requests, 8 at a time, a new connection each: SSL* addresses get freed and reused.
        const script = `const https=require('https');let started=0,done=0;const N=60;
          function one(){if(started>=N)return;const i=started++;const body=JSON.stringify({model:'m',n:i,pad:'x'.repeat(i*37)});
          const r=https.request({host:'127.0.0.1',port:${port},method:'POST',path:'/v1/chat/completions?i='+i,rejectUnauthorized:false,agent:false,headers:{'content-type':'application/json','content-length':Buffer.byteLength(body)}},res=>{res.resume();res.on('end',()=>{if(++done===N)process.exit(0);one();});});
          r.on('error',e=>{console.error(e);process.exit(1)});r.end(body);}
          for(let k=0;k<8;k++)one();`;
        const ran = await run(process.execPath, ['-e', script], { timeoutMs: 60_000 });
        assert.equal(ran.code, 0, ran.stderr);
        const ok = await h.waitFor(() => serverConns(server.lines).length >= 60 && serverConns(server.lines).every((sc) => {
          const c = opens(h, ran.pid).find((o) => o.local?.port === sc.remotePort);
          return !!c && bytesOf(h, c.connId, 'ingress').length >= sc.sent.length;
        }), 20_000);
        assert.ok(ok, `captured ${opens(h, ran.pid).length} client connections of 60`);
        for (const sc of serverConns(server.lines)) {
          const c: ConnectionInfo = opens(h, ran.pid).find((o) => o.local?.port === sc.remotePort)!;
          assert.deepEqual(bytesOf(h, c.connId, 'egress'), sc.received, `request bytes on port ${sc.remotePort}`);
          assert.deepEqual(bytesOf(h, c.connId, 'ingress'), sc.sent, `response bytes on port ${sc.remotePort}`);
          const srv: ConnectionInfo | undefined = opens(h, server.child.pid!).find((o) => o.remote?.port === sc.remotePort);
          assert.ok(srv, 'server side captured');
          assert.deepEqual(bytesOf(h, srv.connId, 'ingress'), sc.received);
          assert.deepEqual(bytesOf(h, srv.connId, 'egress'), sc.sent);
        }
      } finally {
        server.child.kill('SIGTERM');
      }
    });

    await t.test('large messages: continuation records up to the cap, the rest is an exact gap', async () => {
      const server = await startPeer(process.execPath, [serverScript], /^listening (\d+)$/);
      try {
        const port = Number(server.match[1]);
        // 100 KB body, sent by curl and by Python (differently split into syscalls).
        const body = Array.from({ length: 100_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
        const bodyFile = join(certDir, 'big.json');
        writeFileSync(bodyFile, body);
        for (const [cmd, args] of [
          ['curl', ['-sS', '-o', '/dev/null', '--data-binary', `@${bodyFile}`, `http://127.0.0.1:${port}/v1/embeddings`]],
          [PY, ['-c', `import urllib.request;urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:${port}/v1/embeddings',data=open('${bodyFile}','rb').read())).read()`]],
        ] as const) {
          const ran = await run(cmd, [...args]);
          assert.equal(ran.code, 0, ran.stderr);
          const ok = await h.waitFor(() => {
            const c = opens(h, ran.pid)[0];
            return !!c && serverConns(server.lines).some((sc) => sc.remotePort === c.local?.port) && h.stream.some((e) => e.kind === 'close' && e.connId === c.connId);
          });
          assert.ok(ok, `${cmd}: connection captured and closed`);
          const conn: ConnectionInfo = opens(h, ran.pid)[0];
          const sc: ServerConn = serverConns(server.lines).find((x) => x.remotePort === conn.local?.port)!;
          // Walk the captured egress: every captured byte sits exactly where the server got it,
          // and captured + missing adds up to everything the client sent.
          let pos = 0;
          let missing = 0;
          for (const e of h.stream) {
            if (e.kind !== 'data' || e.connId !== conn.connId || e.direction !== 'egress') continue;
            assert.ok(Buffer.from(e.bytes).equals(sc.received.subarray(pos, pos + e.bytes.length)), `${cmd}: bytes at ${pos}`);
            assert.ok(e.bytes.length <= 16 * 1024, 'never more than the payload cap per call');
            pos += e.bytes.length + e.missingAfter;
            missing += e.missingAfter;
          }
          assert.equal(pos, sc.received.length, `${cmd}: captured + gaps == bytes sent`);
          assert.ok(missing > 0, `${cmd}: a 100 KB body exceeds the cap somewhere`);
        }
      } finally {
        server.child.kill('SIGTERM');
      }
    });

    await t.test('libssl SSL_write retried on a full socket is captured once', async () => {
      const server = await startPeer(process.execPath, [serverScript, '--tls', join(certDir, 'cert.pem'), join(certDir, 'key.pem'), '--pause-ms', '400'], /^listening (\d+)$/);
      try {
        const port = Number(server.match[1]);
        // A 3 MB request through a 16 KiB send buffer to a server that stops reading: Python's
        // sendall() gets want-write from SSL_write_ex and retries the same bytes many times.
        const py = `import socket,ssl
ctx=ssl.create_default_context();ctx.check_hostname=False;ctx.verify_mode=ssl.CERT_NONE
s=socket.create_connection(('127.0.0.1',${port}));s.setsockopt(socket.SOL_SOCKET,socket.SO_SNDBUF,16384);s.settimeout(20)
t=ctx.wrap_socket(s,server_hostname='localhost')
body=b'x'*3000000
t.sendall(b'POST /v1/embeddings HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(body) + body)
while t.recv(65536): pass`;
        const ran = await run(PY, ['-c', py], { timeoutMs: 60_000 });
        assert.equal(ran.code, 0, ran.stderr);
        const ok = await h.waitFor(() => {
          const c = opens(h, ran.pid)[0];
          return !!c && serverConns(server.lines).some((sc) => sc.remotePort === c.local?.port) && h.stream.some((e) => e.kind === 'close' && e.connId === c.connId);
        }, 20_000);
        assert.ok(ok, 'connection captured and closed');
        const conn = opens(h, ran.pid)[0];
        const sc = serverConns(server.lines).find((x) => x.remotePort === conn.local?.port)!;
        let pos = 0;
        let calls = 0;
        for (const e of h.stream) {
          if (e.kind !== 'data' || e.connId !== conn.connId || e.direction !== 'egress') continue;
          calls++;
          assert.ok(Buffer.from(e.bytes).equals(sc.received.subarray(pos, pos + e.bytes.length)), `bytes at ${pos}`);
          pos += e.bytes.length + e.missingAfter;
        }
        assert.equal(pos, sc.received.length, `captured + gaps == bytes sent, once (${calls} writes)`);
        assert.equal(h.stream.filter((e) => e.kind === 'data' && e.connId === conn.connId && e.direction === 'egress' && Buffer.from(e.bytes).toString('latin1').startsWith('POST ')).length, 1, 'the request head appears once');
      } finally {
        server.child.kill('SIGTERM');
      }
    });

    await t.test('the agent never captures its own traffic', async () => {
      const server = await startPeer(process.execPath, [serverScript], /^listening (\d+)$/);
      try {
        const port = Number(server.match[1]);
        await new Promise<void>((resolveReq, reject) => {
          const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/self', headers: { 'content-length': 11 } }, (res) => {
            res.resume();
            res.on('end', () => resolveReq());
          });
          r.on('error', reject);
          r.end('SELF-MARKER');
        });
        // The server (another process) is captured receiving it; this process never is.
        assert.ok(await h.waitFor(() => h.raw.some((e) => e.type === 'data' && e.pid === server.child.pid && Buffer.from(e.payload).includes('SELF-MARKER'))), 'server side captured');
        assert.equal(h.raw.filter((e) => e.pid === process.pid).length, 0, 'no record carries the agent pid');
      } finally {
        server.child.kill('SIGTERM');
      }
    });

    await t.test('refused connection', async () => {
      const port = await freePort();
      const ran = await run('curl', ['-sS', `http://127.0.0.1:${port}/`]);
      assert.notEqual(ran.code, 0);
      const ok = await h.waitFor(() => h.raw.some((e) => e.type === 'conn' && e.pid === ran.pid && e.oldState === TcpState.synSent && e.newState === TcpState.close));
      assert.ok(ok, 'SYN_SENT -> CLOSE seen for the refusing connect');
      const connId = h.raw.find((e) => e.type === 'conn' && e.pid === ran.pid)!;
      assert.ok(connId.type === 'conn');
      assert.ok(h.raw.some((e) => e.type === 'reset' && e.resetDir === 'received' && e.connId === connId.connId), 'RST received');
    });

    await t.test('reset by the peer mid-connection', async () => {
      const server = await startPeer(process.execPath, [serverScript], /^listening (\d+)$/);
      try {
        const port = Number(server.match[1]);
        const ran = await run('curl', ['-sS', `http://127.0.0.1:${port}/reset`]);
        assert.notEqual(ran.code, 0, 'curl sees the reset');
        const ok = await h.waitFor(() => {
          const conn = opens(h, ran.pid)[0];
          return !!conn && h.stream.some((e) => e.kind === 'close' && e.connId === conn.connId);
        });
        assert.ok(ok, 'close seen');
        const conn = opens(h, ran.pid)[0];
        const close = h.stream.find((e) => e.kind === 'close' && e.connId === conn.connId);
        assert.ok(close && close.kind === 'close');
        assert.equal(close.reason, 'reset_received');
      } finally {
        server.child.kill('SIGTERM');
      }
    });

    await t.test('retransmission in a test network namespace', async (st) => {
      const ns = `llmslo-t${process.pid}`;
      try {
        execFileSync('ip', ['netns', 'add', ns]);
      } catch (err) {
        if (process.env.CI === 'true') throw err;
        st.skip(`cannot create network namespace: ${String(err)}`);
        return;
      }
      try {
        execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
        // Drop SYNs to port 9 inside the namespace only: the client retransmits them.
        execFileSync('ip', ['netns', 'exec', ns, 'nft', 'add table inet llmslo_test; add chain inet llmslo_test in { type filter hook input priority 0; }; add rule inet llmslo_test in tcp dport 9 drop']);
        const ran = await run('ip', ['netns', 'exec', ns, 'curl', '-sS', '--max-time', '2.5', 'http://127.0.0.1:9/']);
        assert.notEqual(ran.code, 0);
        const ok = await h.waitFor(() => h.raw.some((e) => e.type === 'retransmit' && e.pid === ran.pid && e.tuple.rport === 9));
        assert.ok(ok, 'retransmit event attributed to the client');
        const ev = h.raw.find((e) => e.type === 'retransmit' && e.pid === ran.pid)!;
        assert.ok(ev.type === 'retransmit');
        assert.equal(ev.state, TcpState.synSent);
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
      }
    });

    await t.test('a recording replays to the same stream', () => {
      h.capture.drain();
      const dir = mkdtempSync(join(tmpdir(), 'llmslo-rec-'));
      try {
        const file = join(dir, 'rec.llmslo');
        const w = new RecordingWriter(file, { created: new Date().toISOString(), monoNsAtStart: 0, wallMsAtStart: Date.now(), hostname: 'test', kernel: 'test', payloadCap: 16 * 1024, tool: 'test' });
        for (const b of h.batches) w.writeBatch(b);
        w.close();
        const replayed: StreamEvent[] = [];
        const p = new CapturePipeline({ payloadCap: 16 * 1024, sink: { onEvent: (e) => replayed.push(e), flush: () => {} } });
        const { frames } = readRecording(file, { onBatch: (b) => p.feedBatch(b) });
        assert.equal(frames, h.batches.length);
        // Per connection, in order (live capture may deliver a close at a timer tick a little
        // earlier relative to other connections' records than a replay does).
        const norm = (evs: StreamEvent[]) => {
          const by = new Map<number, string[]>();
          for (const e of evs) {
            const id = e.kind === 'open' || e.kind === 'connect_failed' || e.kind === 'tls_no_data' ? e.conn.connId : e.kind === 'loss' ? -1 : e.connId;
            if (!by.has(id)) by.set(id, []);
            by.get(id)!.push(JSON.stringify(e, (k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)));
          }
          return JSON.stringify([...by.entries()].sort((a, b) => a[0] - b[0]));
        };
        assert.ok(replayed.length > 0);
        assert.equal(norm(replayed), norm(h.stream));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    const s = h.capture.stats();
    assert.equal(s.kernelByName.ringbuf_drops, 0, 'no records lost');
    assert.equal(h.pipeline.decoder.badRecords, 0);
  } finally {
    h.close();
    rmSync(certDir, { recursive: true, force: true });
  }
});

test('ring settings out of range are refused before anything loads, in one line naming them', (t) => {
  if (!requireRoot(t)) return;
  assert.throws(() => LiveCapture.open({ ringBytes: 1 << 20, wakeupBytes: 1 << 20 }), /^CaptureError: ring wake-up threshold must be an integer between 1 and half the ring \(524288 bytes\), got 1048576$/);
  assert.throws(() => LiveCapture.open({ drainIntervalMs: 0 }), /^CaptureError: drain interval must be an integer between 1 and 10000 ms, got 0$/);
  assert.equal(defaultWakeupBytes(4 << 20), 256 << 10);
  assert.equal(defaultWakeupBytes(1 << 20), 64 << 10);
});
