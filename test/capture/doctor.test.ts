// `llmslo doctor` and the one-line errors of capture commands, as root and as an unprivileged user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { requireRoot } from '../helpers/ebpf.ts';

const cli = resolve(import.meta.dirname, '../../bin/llmslo.js');
const env = { ...process.env, LLMSLO_FROM_SOURCE: '1', HOME: '/tmp' };

test('doctor as root: every required probe attaches and OpenSSL targets are found', (t) => {
  if (!requireRoot(t)) return;
  const r = spawnSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const p of ['sys_enter_read', 'sys_exit_write', 'on_inet_sock_set_state', 'on_exec']) {
    assert.match(r.stdout, new RegExp(`^ok\\s+probe ${p}\\s+attached`, 'm'));
  }
  assert.match(r.stdout, /^ok\s+tls libssl\s+\S*libssl\.so\.3.*SSL_read/m);
  assert.match(r.stdout, /^ok\s+tls node\s+.*SSL_write/m);
  const j = spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8', env, timeout: 60_000 });
  const parsed = JSON.parse(j.stdout) as { ok: boolean; checks: Array<{ check: string; ok: boolean }> };
  assert.equal(parsed.ok, true);
});

test('without privileges: doctor names the problem, capture fails with one line', (t) => {
  if (!requireRoot(t)) return;
  const drop = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];
  const d = spawnSync('setpriv', [...drop, process.execPath, cli, 'doctor'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(d.status, 1);
  assert.match(d.stdout, /^FAIL privileges\s+not root and missing CAP_BPF\/CAP_PERFMON/m);
  const c = spawnSync('setpriv', [...drop, process.execPath, cli, 'capture', '--duration', '1'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(c.status, 1);
  assert.equal(c.stderr.trim().split('\n').length, 1, c.stderr);
  assert.match(c.stderr, /^llmslo: capture: privileges: not root and missing CAP_BPF\/CAP_PERFMON/);
});
