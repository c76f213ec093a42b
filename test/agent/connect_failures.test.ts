// `llmslo run` as root with real eBPF: when an LLM endpoint that served calls goes down, a client's
// refused connection attempt to it is a failed call (error.type connection_refused) in JSONL and
// on the Prometheus endpoint, though no HTTP byte ever flowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, startPeer } from '../helpers/ebpf.ts';
import { cli, requireRoot, startAgent } from '../helpers/agent.ts';

test('a refused connect to an LLM endpoint that served calls becomes a connection_refused call', { timeout: 180_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-refused-'));
  const jsonl = join(dir, 'calls.jsonl');
  const env = { ...process.env, LLMSLO_FROM_SOURCE: '1', LLMSLO_OUTPUTS__PROMETHEUS__LISTEN: '127.0.0.1:0' };
  const agent = await startAgent(['--jsonl', jsonl], env);
  try {
    const metricsUrl = /metrics at (\S+?);/.exec(agent.stderr())![1]!;
    const sim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0'], /listening on (\S+)/, env);
    const url = sim.match[1]!;
    const port = Number(new URL(url).port);
    try {
      const ran = await run(process.execPath, [cli, 'load', '--url', url, '--runner', 'openai', '--count', '2', '--concurrency', '1', '--quiet', '--out', join(dir, 'client.jsonl')], { env, timeoutMs: 90_000 });
      assert.equal(ran.code, 0, ran.stderr);
    } finally {
      sim.child.kill('SIGTERM');
      if (sim.child.exitCode === null) await new Promise((r) => sim.child.once('exit', r));
    }
    // the provider is down now: the next call cannot even connect
    const curl = await run('curl', ['-sS', '-o', '/dev/null', '-H', 'content-type: application/json', '--data', '{"model":"gpt-4o-mini","messages":[]}', `http://127.0.0.1:${port}/v1/chat/completions`]);
    assert.equal(curl.code, 7, `curl: connection refused expected: ${curl.stderr}`);
    let text = '';
    for (let i = 0; i < 50; i++) {
      text = await (await fetch(metricsUrl)).text();
      if (/error_type="connection_refused"/.test(text)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(text, /gen_ai_client_operation_duration_seconds_count\{[^}]*error_type="connection_refused"[^}]*\} 1\b/);
    assert.equal(await agent.stop(), 0, agent.stderr());
    const recs = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ok = recs.filter((r) => r.observed_side === 'client' && r['error.type'] === null && r['server.port'] === port);
    assert.equal(ok.length, 2, 'the two calls before the outage');
    const refused = recs.filter((r) => r['error.type'] === 'connection_refused');
    assert.equal(refused.length, 1, JSON.stringify(refused));
    const r = refused[0]!;
    assert.equal(r.schema, 'llmslo.llm_call/v1');
    assert.equal((r.process as { pid: number }).pid, curl.pid, "curl's attempt");
    assert.equal(r['server.port'], port);
    assert.equal(r['gen_ai.provider.name'], ok[0]!['gen_ai.provider.name']);
    assert.equal(r['gen_ai.request.model'], ok[0]!['gen_ai.request.model'], "this workload's model at that endpoint");
    assert.equal(r['gen_ai.operation.name'], 'chat');
    assert.equal(r['error.source'], 'transport');
    assert.equal(r['http.response.status_code'], null);
    assert.ok(typeof r.duration_s === 'number' && r.duration_s >= 0 && r.duration_s < 5, `connect attempt ${r.duration_s}`);
  } finally {
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
