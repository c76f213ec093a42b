// `llmslo run` end to end, as root with real eBPF: the agent captures the official openai SDK
// calling the simulator, serves the calls on its Prometheus endpoint, writes them as JSONL, and
// stops cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, startPeer } from '../helpers/ebpf.ts';
import { AGENT_TEST_ENV, cli, requireRoot, startAgent } from '../helpers/agent.ts';


test('llmslo run: Prometheus and JSONL carry the captured calls', { timeout: 180_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-run-'));
  const jsonl = join(dir, 'calls.jsonl');
  const env = AGENT_TEST_ENV;
  const agent = await startAgent(['--jsonl', jsonl], env);
  try {
    const metricsUrl = agent.metricsUrl!;
    const sim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0'], /listening on (\S+)/, env);
    try {
      const truth = join(dir, 'client.jsonl');
      const ran = await run(process.execPath, [cli, 'load', '--url', sim.match[1], '--runner', 'openai', '--count', '4', '--concurrency', '1', '--quiet', '--out', truth], { env, timeoutMs: 90_000 });
      assert.equal(ran.code, 0, ran.stderr);
      const ids = readFileSync(truth, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { request_id: string }).request_id);
      // The metrics endpoint shows the four client calls (allow the agent a moment to flush).
      let text = '';
      for (let i = 0; i < 50; i++) {
        text = await (await fetch(metricsUrl)).text();
        const m = /gen_ai_client_operation_duration_seconds_count\{[^}]*gen_ai_operation_name="chat"[^}]*gen_ai_request_model="gpt-4o-mini"[^}]*\} (\d+)/.exec(text);
        if (m && Number(m[1]) >= 4) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(text, /gen_ai_client_operation_duration_seconds_count\{[^}]*gen_ai_operation_name="chat"[^}]*gen_ai_request_model="gpt-4o-mini"[^}]*\} [4-9]/);
      assert.equal(await agent.stop(), 0, agent.stderr());
      const recs = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      for (const id of ids) {
        const rec = recs.find((r) => r.provider_request_id === id && r.observed_side === 'client');
        assert.ok(rec, `call ${id} in JSONL`);
        assert.equal(rec.schema, 'llmslo.llm_call/v1');
        assert.equal(rec['http.response.status_code'], 200);
        assert.equal(rec['error.type'], null);
        assert.ok(typeof rec.ttft_s === 'number' && rec.ttft_s > 0);
        assert.ok('container.id' in rec, 'enrichment fields present');
      }
    } finally {
      sim.child.kill('SIGTERM');
    }
  } finally {
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
