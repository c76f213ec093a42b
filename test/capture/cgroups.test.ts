// capture.exclude_cgroups: path checks, resolution of a cgroup tree to ids, and, as root with
// real eBPF, that processes in an excluded cgroup (or one below it, or one created after the
// capture started) leave no records while their peers outside stay captured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CaptureHarness, requireRoot, run, startPeer } from '../helpers/ebpf.ts';
import { cgroup2Mount, cgroupPathProblem, resolveCgroups } from '../../src/capture/cgroups.ts';
import { LiveCapture } from '../../src/capture/live.ts';
import { TcpState } from '../../src/capture/layout.ts';
import type { StreamEvent } from '../../src/capture/stream.ts';

const serverScript = resolve(import.meta.dirname, '../fixtures/capture/exact-server.mjs');

test('excluded cgroup paths must be absolute, without . or .. segments', () => {
  assert.equal(cgroupPathProblem('/system.slice/ollama.service'), null);
  assert.equal(cgroupPathProblem('/'), null);
  assert.match(cgroupPathProblem('system.slice')!, /must be absolute/);
  assert.match(cgroupPathProblem('/a/../b')!, /must not contain \. or \.\. segments/);
  assert.match(cgroupPathProblem('/a/./b')!, /must not contain/);
  assert.match(cgroupPathProblem('/a\0b')!, /NUL/);
});

test('a cgroup path resolves to its id and every id below it, bounded, with missing paths named', () => {
  const root = mkdtempSync(join(tmpdir(), 'llmslo-cg-'));
  try {
    for (const d of ['a', 'a/b', 'a/b/c', 'a/d', 'e']) mkdirSync(join(root, d));
    writeFileSync(join(root, 'a', 'cgroup.procs'), ''); // files are not cgroups
    const ino = (p: string) => statSync(join(root, p)).ino;
    const r = resolveCgroups(root, ['/a', '/missing']);
    assert.deepEqual(new Set(r.ids), new Set(['a', 'a/b', 'a/b/c', 'a/d'].map(ino)));
    assert.deepEqual(r.missing, ['/missing']);
    assert.equal(r.truncated, false);
    const capped = resolveCgroups(root, ['/a', '/e'], 3);
    assert.equal(capped.ids.length, 3);
    assert.equal(capped.truncated, true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the cgroup v2 mount point is read from mountinfo, octal escapes decoded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-mi-'));
  try {
    const f = join(dir, 'mountinfo');
    writeFileSync(f, '30 1 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n35 30 0:30 / /sys/fs/cgroup/my\\040unified rw,nosuid shared:9 - cgroup2 cgroup2 rw\n');
    assert.equal(cgroup2Mount(f), '/sys/fs/cgroup/my unified');
    writeFileSync(f, '30 1 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n');
    assert.equal(cgroup2Mount(f), null);
    assert.equal(cgroup2Mount(join(dir, 'absent')), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad excluded cgroup path is refused before anything loads, in one line', (t) => {
  if (!requireRoot(t)) return;
  assert.throws(() => LiveCapture.open({ excludeCgroups: ['kubepods'] }), /^CaptureError: excluded cgroup "kubepods" must be absolute in the cgroup v2 hierarchy \(start with \/\)$/);
});

function dataConnIds(stream: StreamEvent[]): Set<number> {
  return new Set(stream.flatMap((e) => (e.kind === 'data' ? [e.connId] : [])));
}

test('processes in excluded cgroups are not captured; their peers are', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const mount = cgroup2Mount();
  assert.ok(mount, 'a cgroup v2 hierarchy is mounted (scripts/mounts.sh)');
  const name = `llmslo-test-${process.pid}`;
  const top = join(mount, name);
  const inner = join(top, 'inner');
  mkdirSync(inner, { recursive: true });
  const logs: string[] = [];
  const h = CaptureHarness.open(t, { excludeCgroups: [`/${name}`, `/${name}-later`], excludeRescanIntervalMs: 200, log: (m) => logs.push(m) });
  if (!h) return;
  const server = await startPeer(process.execPath, [serverScript], /^listening (\d+)$/);
  const port = Number(server.match[1]);
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  const curlIn = (cgroup: string | null) =>
    run('/bin/sh', ['-c', `${cgroup ? `echo $$ > ${cgroup}/cgroup.procs && ` : ''}exec curl -sS -o /dev/null --data '{"model":"m"}' ${url}`]);
  try {
    assert.equal(h.capture.excludedCgroups, 2, 'the cgroup and the one below it');
    assert.ok(logs.some((l) => /excluding 2 cgroup\(s\) under .*; not found \(yet\): \/llmslo-test-\d+-later$/.test(l)), logs.join(' | '));

    // a client in a cgroup below an excluded one: nothing of its own; the server's side is captured
    const excluded = await curlIn(inner);
    assert.equal(excluded.code, 0, excluded.stderr);
    // a client outside: captured as always
    const outside = await curlIn(null);
    assert.equal(outside.code, 0, outside.stderr);
    const ok = await h.waitFor(() => h.stream.some((e) => e.kind === 'open' && e.conn.pid === outside.pid) && dataConnIds(h.stream).size >= 3);
    assert.ok(ok, 'the outside client and both server sides captured');
    const conns = (pid: number) => h.stream.flatMap((e) => (e.kind === 'open' && e.conn.pid === pid ? [e.conn] : []));
    assert.equal(conns(excluded.pid).length, 0, 'no connection of the excluded client');
    assert.equal(conns(outside.pid).length, 1);
    assert.ok(dataConnIds(h.stream).has(conns(outside.pid)[0]!.connId), 'the outside client has data');
    const serverSides = conns(server.child.pid!);
    assert.equal(serverSides.length, 2, 'the server (not excluded) saw both clients');
    for (const s of serverSides) assert.ok(dataConnIds(h.stream).has(s.connId));

    // a server started inside an excluded cgroup: its inbound connections leave no kernel
    // record at all, not even the TCP open (its cgroup is read from the accepted socket, which
    // inherits the listener's); the outside client's side is captured as always
    const inside = await startPeer('/bin/sh', ['-c', `echo $$ > ${inner}/cgroup.procs && exec ${process.execPath} ${serverScript}`], /^listening (\d+)$/);
    try {
      const insidePort = Number(inside.match[1]);
      const toInside = await run('curl', ['-sS', '-o', '/dev/null', '--data', '{"model":"m"}', `http://127.0.0.1:${insidePort}/v1/chat/completions`]);
      assert.equal(toInside.code, 0, toInside.stderr);
      const clientSide = await h.waitFor(() => h.raw.some((e) => e.type === 'conn' && e.tuple.rport === insidePort && e.newState === TcpState.close));
      assert.ok(clientSide, "the outside client's connection and its close are captured");
      await h.waitFor(() => false, 300); // let any server-side record arrive
      const serverSide = h.raw.filter((e) => (e.type === 'conn' || e.type === 'data') && e.tuple.lport === insidePort);
      assert.deepEqual(serverSide.map((e) => `${e.type}:${e.pid}`), [], `nothing of the excluded server, passive open included (inside ${inside.child.pid}, server ${server.child.pid}, client ${toInside.pid}): ${JSON.stringify(serverSide.map((e) => e.type === 'conn' ? [e.oldState, e.newState, e.connId, e.tuple.lport, e.tuple.rport] : null))}`);
    } finally {
      inside.child.kill('SIGTERM');
      if (inside.child.exitCode === null) await new Promise((r) => inside.child.once('exit', r));
    }

    // the server moves into a cgroup created after the capture started: its side disappears
    // from new connections once the rescan has seen the cgroup
    const later = join(mount, `${name}-later`);
    mkdirSync(later);
    writeFileSync(join(later, 'cgroup.procs'), String(server.child.pid));
    const rescanned = await h.waitFor(() => h.capture.excludedCgroups === 3, 5000);
    assert.ok(rescanned, `the new cgroup was not picked up: ${h.capture.excludedCgroups}`);
    const before = dataConnIds(h.stream);
    const after = await curlIn(null);
    assert.equal(after.code, 0, after.stderr);
    const seen = await h.waitFor(() => h.stream.some((e) => e.kind === 'data' && e.connId === conns(after.pid)[0]?.connId && e.direction === 'ingress'));
    assert.ok(seen, 'the client of the now excluded server is still captured, response included');
    await h.waitFor(() => false, 300); // let any server-side record arrive
    const fresh = [...dataConnIds(h.stream)].filter((id) => !before.has(id));
    assert.deepEqual(fresh, [conns(after.pid)[0]!.connId], 'only the client side of the new connection has data');
    assert.equal(h.capture.stats().kernelByName.ringbuf_drops, 0);
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    h.close();
    // cgroups can be removed once their processes are gone
    for (const d of [inner, top, join(mount, `${name}-later`)]) {
      try {
        rmdirSync(d);
      } catch {
        // already gone, or not created
      }
    }
  }
});
