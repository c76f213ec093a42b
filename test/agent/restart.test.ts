// Restarting the agent mid-traffic: records it had already written stay in the JSONL file, and
// the restarted agent captures new connections (real eBPF, as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, startPeer } from '../helpers/ebpf.ts';
import { cli, requireRoot, startAgent, type RunningAgent } from '../helpers/agent.ts';

const env = { ...process.env, LLMSLO_FROM_SOURCE: '1', LLMSLO_OUTPUTS__PROMETHEUS__ENABLED: 'false' };

function ids(file: string): string[] {
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { request_id: string }).request_id);
}

test('agent restart keeps what it emitted and captures new connections', { timeout: 240_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-restart-'));
  const jsonl = join(dir, 'calls.jsonl');
  const sim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0'], /listening on (\S+)/, env);
  let agent: RunningAgent | null = null;
  try {
    const url = sim.match[1];
    const loadArgs = (out: string, count: number) => [cli, 'load', '--url', url, '--runner', 'openai', '--count', String(count), '--concurrency', '2', '--max-tokens', '16', '--quiet', '--out', out];
    agent = await startAgent(['--jsonl', jsonl], env);
    const before = join(dir, 'before.jsonl');
    assert.equal((await run(process.execPath, loadArgs(before, 4), { env, timeoutMs: 60_000 })).code, 0);
    // Restart while traffic is flowing: a load runs across the stop and the start.
    const across = run(process.execPath, loadArgs(join(dir, 'across.jsonl'), 6), { env, timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await agent.stop(), 0, 'clean exit on SIGTERM');
    const emitted = readFileSync(jsonl, 'utf8');
    agent = await startAgent(['--jsonl', jsonl], env);
    assert.equal((await across).code, 0);
    const after = join(dir, 'after.jsonl');
    assert.equal((await run(process.execPath, loadArgs(after, 4), { env, timeoutMs: 60_000 })).code, 0);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await agent.stop(), 0);
    agent = null;
    const all = readFileSync(jsonl, 'utf8');
    assert.ok(all.startsWith(emitted), 'everything written before the restart is still there, unchanged');
    const recs = all.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const seen = new Set(recs.filter((r) => r.observed_side === 'client').map((r) => r.provider_request_id));
    for (const id of ids(before)) assert.ok(seen.has(id), `pre-restart call ${id} recorded`);
    for (const id of ids(after)) assert.ok(seen.has(id), `post-restart call ${id} recorded (new connections captured)`);
  } finally {
    if (agent && agent.child.exitCode === null) agent.child.kill('SIGKILL');
    sim.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
