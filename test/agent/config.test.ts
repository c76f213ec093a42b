// Agent configuration: defaults, file, environment; every bad value names its field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG, loadConfig } from '../../src/agent/config.ts';

function withFile(text: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-cfg-'));
  try {
    const p = join(dir, 'llmslo.yaml');
    writeFileSync(p, text);
    fn(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('no file and no environment: the defaults', () => {
  assert.deepEqual(loadConfig(null, {}), DEFAULT_CONFIG);
});

test('file values and environment overrides, environment last', () => {
  withFile('capture:\n  payload_cap: 32768\n  ports: [8000, 11434]\noutputs:\n  jsonl:\n    path: /tmp/calls.jsonl\n', (p) => {
    const c = loadConfig(p, { LLMSLO_CAPTURE__PAYLOAD_CAP: '65536', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', LLMSLO_OUTPUTS__OTLP__HEADERS: 'x-api-key=abc' });
    assert.equal(c.capture.payload_cap, 65536);
    assert.deepEqual(c.capture.ports, [8000, 11434]);
    assert.equal(c.outputs.jsonl.path, '/tmp/calls.jsonl');
    assert.equal(c.outputs.otlp.endpoint, 'http://127.0.0.1:4318');
    assert.deepEqual(c.outputs.otlp.headers, { 'x-api-key': 'abc' });
    assert.equal(c.outputs.prometheus.listen, '127.0.0.1:9464');
  });
});

test('bad input names the file, the field and the problem in one line', () => {
  const cases: Array<[string, RegExp]> = [
    ['capture:\n  payload_cap: lots\n', /llmslo\.yaml: capture\.payload_cap: expected an integer, got string "lots"/],
    ['capture:\n  ring_mb: 3\n', /capture\.ring_mb: expected a power of two/],
    ['capture:\n  ports: [0]\n', /capture\.ports: expected a list of ports/],
    ['capture:\n  ring_mb: 1\n  wakeup_kb: 1024\n', /capture\.wakeup_kb: expected at most half the ring \(512 KiB for ring_mb 1\), got 1024/],
    ['capture:\n  drain_interval_ms: 0\n', /capture\.drain_interval_ms: expected an integer in 1\.\.10000/],
    ['capture:\n  payload_kap: 1\n', /capture\.payload_kap: unknown setting/],
    ['capture:\n  exclude_cgroups: [kubepods.slice]\n', /capture\.exclude_cgroups: "kubepods\.slice" must be absolute in the cgroup v2 hierarchy/],
    ['capture:\n  exclude_cgroups: ["/a/../b"]\n', /capture\.exclude_cgroups: "\/a\/\.\.\/b" must not contain \. or \.\. segments/],
    ['capture:\n  exclude_cgroups: /system.slice\n', /capture\.exclude_cgroups: expected a list of cgroup v2 paths, got string/],
    ['outputs:\n  prometheus:\n    listen: nowhere\n', /outputs\.prometheus\.listen: expected host:port/],
    ['outputs: [1, 2]\n', /outputs: expected a mapping, got a list/],
    ['records:\n  mirrored_server_side: maybe\n', /records\.mirrored_server_side: expected one of derive, parse, skip, got string "maybe"/],
    ['capture:\n  tls: [\n', /llmslo\.yaml:\d+:\d+: invalid YAML/],
  ];
  for (const [text, re] of cases) {
    withFile(text, (p) => {
      assert.throws(() => loadConfig(p, {}), (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'), text);
    });
  }
  assert.throws(() => loadConfig(null, { LLMSLO_CAPTURE__TLS: 'maybe' }), /LLMSLO_CAPTURE__TLS: capture\.tls: expected true or false/);
  assert.throws(() => loadConfig(null, { LLMSLO_NOPE__X: '1' }), /LLMSLO_NOPE__X: unknown setting nope\.x/);
  assert.deepEqual(loadConfig(null, { LLMSLO_CAPTURE__EXCLUDE_CGROUPS: '/system.slice/ollama.service, /kubepods.slice' }).capture.exclude_cgroups, ['/system.slice/ollama.service', '/kubepods.slice']);
  const r = loadConfig(null, { LLMSLO_RECORDS__SERVER_REQUESTS: 'false' });
  assert.equal(r.records.server_requests, false);
  assert.equal(r.records.retrieval, true);
  assert.throws(() => loadConfig('/nonexistent/llmslo.yaml', {}), /cannot read \(ENOENT\)/);
});
