// Connection muting (LiveCapture.muteConnection): as root with real eBPF, a muted connection
// ships no more payload records — over plaintext sockets and over TLS through libssl — while its
// peer's records, its close and the kernel's muted counters still come; the mute ends with the
// connection. Muted to sizes, it ships one payload-less record per message instead, whose sizes
// add up to what moved.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CaptureHarness, requireRoot } from '../helpers/ebpf.ts';
import type { DataChunk } from '../../src/capture/stream.ts';

const pairScript = resolve(import.meta.dirname, '../fixtures/capture/two_phase_pair.py');

/** Runs the two-phase peer: resolves at "ready" with a function that starts phase 2 and waits for "done". */
function startPair(args: string[]): Promise<{ pid: number; clientPort: number; serverPort: number; phase2: () => Promise<void> }> {
  const child = spawn('/usr/bin/python3', [pairScript, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.on('exit', () => clearTimeout(timer));
  let out = '';
  const waitLine = (re: RegExp): Promise<RegExpMatchArray> =>
    new Promise((ok, fail) => {
      const check = (): boolean => {
        const m = re.exec(out);
        if (m) ok(m);
        return m !== null;
      };
      if (check()) return;
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (check()) child.stdout!.off('data', onData);
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => fail(new Error(`peer exited (${code}) before ${re}: ${out}`)));
    });
  return waitLine(/^ready (\d+) (\d+)$/m).then((m) => ({
    pid: child.pid!,
    clientPort: Number(m[1]),
    serverPort: Number(m[2]),
    phase2: async () => {
      child.stdin!.end('go\n');
      await waitLine(/^done$/m);
    },
  }));
}

async function muteMidConnection(t: TestContext, tls: boolean, certDir: string, keep: 'drop' | 'sizes'): Promise<void> {
  const h = CaptureHarness.open(t);
  if (!h) return;
  try {
    const pair = await startPair(tls ? ['--tls', join(certDir, 'cert.pem'), join(certDir, 'key.pem')] : []);
    const connOn = (port: number) => h.stream.find((e) => e.kind === 'open' && e.conn.pid === pair.pid && e.conn.local?.port === port);
    const dataOf = (id: number) => h.stream.filter((e): e is DataChunk => e.kind === 'data' && e.connId === id);
    const seen = await h.waitFor(() => {
      const c = connOn(pair.clientPort);
      return c?.kind === 'open' && dataOf(c.conn.connId).some((d) => Buffer.from(d.bytes).includes('POST /v1/chat/completions'));
    });
    assert.ok(seen, 'phase 1: the request head is captured on the client connection');
    const client = connOn(pair.clientPort)!;
    const server = connOn(pair.serverPort)!;
    assert.ok(client.kind === 'open' && server.kind === 'open');
    const clientId = client.conn.connId;
    const serverId = server.conn.connId;
    assert.equal(client.conn.tls, tls);
    const before = h.capture.stats().kernelByName;
    const clientRecordsBefore = dataOf(clientId).length;

    h.capture.muteConnection(clientId, keep);
    assert.equal(h.capture.mutedConnections, 1);
    await pair.phase2();
    const closed = await h.waitFor(() => h.stream.some((e) => e.kind === 'close' && e.connId === clientId) && dataOf(serverId).reduce((n, d) => n + d.bytes.length, 0) >= (tls ? 0 : 68) + 1000 + 2000);
    assert.ok(closed, 'phase 2: the server end captured in full and the client end closed');

    const afterMute = dataOf(clientId).slice(clientRecordsBefore);
    if (keep === 'drop') assert.equal(afterMute.length, 0, 'no record of the muted client end after the mute');
    else {
      assert.ok(afterMute.length >= 2, `a record per message: ${afterMute.length}`);
      assert.ok(afterMute.every((d) => d.bytes.length === 0), 'no payload byte');
      const moved = (dir: 'egress' | 'ingress') => afterMute.filter((d) => d.direction === dir).reduce((n, d) => n + d.missingAfter, 0);
      assert.equal(moved('egress'), 1000, 'the client wrote 1000 bytes');
      assert.equal(moved('ingress'), 2000, 'and read 2000');
    }
    const serverBytes = (dir: 'egress' | 'ingress') => dataOf(serverId).filter((d) => d.direction === dir).reduce((n, d) => n + d.bytes.length, 0);
    assert.ok(serverBytes('ingress') >= 1000, `server read the 1000 bytes: ${serverBytes('ingress')}`);
    assert.equal(serverBytes('egress'), 2000, 'server wrote the 2000-byte response');
    const after = h.capture.stats().kernelByName;
    assert.ok(after.muted_calls! - before.muted_calls! >= 2, `client write and read(s) were muted: ${after.muted_calls! - before.muted_calls!}`);
    assert.equal(after.muted_bytes! - before.muted_bytes!, 3000, 'the client moved 1000 + 2000 bytes, none shipped');
    assert.equal(h.capture.mutedConnections, 0, 'the close ended the mute');
    assert.equal(after.ringbuf_drops, 0);
  } finally {
    h.close();
  }
}

test('a muted connection ships no payloads; its peer, its close and the counters still come', { timeout: 90_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const certDir = mkdtempSync(join(tmpdir(), 'llmslo-mute-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    await t.test('plaintext (socket syscalls)', (st) => muteMidConnection(st, false, certDir, 'drop'));
    await t.test('TLS (libssl uprobes)', (st) => muteMidConnection(st, true, certDir, 'drop'));
    await t.test('sizes only, plaintext', (st) => muteMidConnection(st, false, certDir, 'sizes'));
    await t.test('sizes only, TLS', (st) => muteMidConnection(st, true, certDir, 'sizes'));
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
});
