// `llmslo run` end to end, as root with real eBPF: the agent captures the official openai SDK
// calling the simulator, serves the calls on its Prometheus endpoint, writes them as JSONL, and
// stops cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inCI, run, startPeer } from '../helpers/ebpf.ts';

const cli = resolve(import.meta.dirname, '../../bin/llmslo.js');

test('llmslo run: Prometheus and JSONL carry the captured calls', { timeout: 180_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    if (inCI) throw new Error('CI runs as root: this test must not skip');
    t.skip('needs root for eBPF');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-run-'));
  const jsonl = join(dir, 'calls.jsonl');
  const env = { ...process.env, LLMSLO_FROM_SOURCE: '1', LLMSLO_OUTPUTS__PROMETHEUS__LISTEN: '127.0.0.1:0' };
  const agent = spawn(process.execPath, [cli, 'run', '--jsonl', jsonl], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  agent.stderr!.on('data', (d) => (stderr += d));
  try {
    const metricsUrl = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`agent did not start: ${stderr}`)), 60_000);
      const check = () => {
        const m = /metrics at (\S+?);?\s/.exec(stderr) ?? /metrics at (\S+)$/m.exec(stderr);
        if (m) {
          clearTimeout(timer);
          res(m[1].replace(/;$/, ''));
        }
      };
      agent.stderr!.on('data', check);
      agent.on('exit', (c) => rej(new Error(`agent exited ${c}: ${stderr}`)));
    });
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
      agent.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => agent.on('exit', (c) => r(c)));
      assert.equal(code, 0, stderr);
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
    if (agent.exitCode === null) agent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
