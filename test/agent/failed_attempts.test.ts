// `llmslo run` as root with real eBPF: when an LLM server that answered calls becomes unreachable,
// a client's attempts that never send a request are failed calls — a refused connect
// (connection_refused) and a failed name lookup (dns_failure, through a real resolver answering
// SERVFAIL) — in JSONL and on the Prometheus endpoint, though no HTTP byte ever flowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run, startPeer } from '../helpers/ebpf.ts';
import { cli, requireRoot, startAgent } from '../helpers/agent.ts';

const refuser = resolve(import.meta.dirname, '../fixtures/capture/dns_refuser.py');
const NAME = 'llm-test.example';
const RESOLVER = '127.0.0.77';

test('a refused connect to and a failed lookup of an LLM server that answered before are failed calls', { timeout: 180_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-unsent-'));
  const jsonl = join(dir, 'calls.jsonl');
  const env = { ...process.env, LLMSLO_FROM_SOURCE: '1', LLMSLO_OUTPUTS__PROMETHEUS__LISTEN: '127.0.0.1:0' };
  const agent = await startAgent(['--jsonl', jsonl], env);
  const dns = await startPeer('/usr/bin/python3', [refuser, RESOLVER, '2'], /^listening$/);
  try {
    const metricsUrl = /metrics at (\S+?);/.exec(agent.stderr())![1]!;
    const sim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0'], /listening on (\S+)/, env);
    const url = sim.match[1]!;
    const port = Number(new URL(url).port);
    const body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}';
    const curlArgs = (host: string) => ['-sS', '-o', '/dev/null', '-H', 'content-type: application/json', '--data', body, `http://${host}:${port}/v1/chat/completions`];
    try {
      const ran = await run(process.execPath, [cli, 'load', '--url', url, '--runner', 'openai', '--count', '2', '--concurrency', '1', '--quiet', '--out', join(dir, 'client.jsonl')], { env, timeoutMs: 90_000 });
      assert.equal(ran.code, 0, ran.stderr);
      // the same server under a name: the agent learns the name from the Host header
      const named = await run('curl', ['--resolve', `${NAME}:${port}:127.0.0.1`, ...curlArgs(NAME)]);
      assert.equal(named.code, 0, named.stderr);
    } finally {
      sim.child.kill('SIGTERM');
      if (sim.child.exitCode === null) await new Promise((r) => sim.child.once('exit', r));
    }
    // the server is down now: the next call cannot even connect
    const refused = await run('curl', curlArgs('127.0.0.1'));
    assert.equal(refused.code, 7, `curl: connection refused expected: ${refused.stderr}`);
    // and its name no longer resolves: a resolver answering SERVFAIL, seen through a resolv.conf
    // bind-mounted in a mount namespace of its own (the host's is untouched)
    const resolvConf = join(dir, 'resolv.conf');
    writeFileSync(resolvConf, `nameserver ${RESOLVER}\noptions attempts:1 timeout:2\n`);
    const unresolved = await run('unshare', ['-m', 'sh', '-c', `mount --bind ${resolvConf} /etc/resolv.conf && exec curl ${curlArgs(NAME).map((a) => `'${a}'`).join(' ')}`]);
    assert.equal(unresolved.code, 6, `curl: could not resolve expected: ${unresolved.stderr}`);

    let text = '';
    for (let i = 0; i < 50; i++) {
      text = await (await fetch(metricsUrl)).text();
      if (/error_type="connection_refused"/.test(text) && /error_type="dns_failure"/.test(text)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(text, /gen_ai_client_operation_duration_seconds_count\{[^}]*error_type="connection_refused"[^}]*\} 1\b/);
    assert.match(text, /gen_ai_client_operation_duration_seconds_count\{[^}]*error_type="dns_failure"[^}]*\} 1\b/);
    assert.equal(await agent.stop(), 0, agent.stderr());
    const recs = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ok = recs.filter((r) => r.observed_side === 'client' && r['error.type'] === null && r['server.port'] === port);
    assert.equal(ok.length, 3, 'the three calls before the outage');
    const model = ok[0]!['gen_ai.request.model'];

    const conn = recs.filter((r) => r['error.type'] === 'connection_refused');
    assert.equal(conn.length, 1, JSON.stringify(conn));
    const c = conn[0]!;
    assert.equal(c.schema, 'llmslo.llm_call/v1');
    assert.equal((c.process as { pid: number }).pid, refused.pid, "curl's attempt");
    assert.equal(c['server.port'], port);
    assert.equal(c['gen_ai.provider.name'], ok[0]!['gen_ai.provider.name']);
    assert.equal(c['gen_ai.request.model'], model, "this workload's model at that endpoint");
    assert.equal(c['gen_ai.operation.name'], 'chat');
    assert.equal(c['error.source'], 'transport');
    assert.equal(c['http.response.status_code'], null);
    assert.ok(typeof c.duration_s === 'number' && c.duration_s >= 0 && c.duration_s < 5, `connect attempt ${c.duration_s}`);

    const lookups = recs.filter((r) => r['error.type'] === 'dns_failure');
    assert.equal(lookups.length, 1, `A and AAAA of one lookup are one failed call: ${JSON.stringify(lookups)}`);
    const d = lookups[0]!;
    assert.equal((d.process as { pid: number }).pid, unresolved.pid);
    assert.equal(d['error.provider_code'], 'SERVFAIL');
    assert.equal(d['server.address'], NAME);
    assert.equal(d['server.port'], port);
    assert.equal(d['gen_ai.request.model'], model);
  } finally {
    dns.child.kill('SIGTERM');
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
