// The agent end to end with every real client (official openai and @anthropic-ai/sdk packages,
// Python, curl) over TLS and plaintext, with a rate-limit fault (real eBPF, as root): JSONL and
// the Prometheus endpoint carry the calls with the right labels, counts and error classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, startPeer } from '../helpers/ebpf.ts';
import { AGENT_TEST_ENV, cli, requireRoot, startAgent, type RunningAgent } from '../helpers/agent.ts';


function addFault(url: string, ca: Buffer | undefined, body: object): Promise<void> {
  return new Promise((res, rej) => {
    const u = new URL('/_sim/faults', url);
    const opts = { method: 'POST', ca, headers: { 'content-type': 'application/json' } };
    const done = (r: IncomingMessage) => {
      r.resume();
      r.on('end', () => res());
    };
    const req = u.protocol === 'https:' ? httpsRequest(u, opts, done) : httpRequest(u, opts, done);
    req.on('error', rej);
    req.end(JSON.stringify(body));
  });
}

test('agent with openai, anthropic, Python and curl over TLS and plaintext', { timeout: 300_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-clients-'));
  const jsonl = join(dir, 'calls.jsonl');
  const env = AGENT_TEST_ENV;
  const caFile = join(dir, 'ca.pem');
  const tlsSim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0', '--tls', '--ca-out', caFile], /listening on (\S+)/, env);
  const plainSim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0'], /listening on (\S+)/, env);
  let agent: RunningAgent | null = null;
  try {
    agent = await startAgent(['--jsonl', jsonl], env);
    const metricsUrl = agent.metricsUrl!;
    await new Promise((r) => setTimeout(r, 1000)); // TLS targets of the simulators attached
    const ca = readFileSync(caFile);
    const truths: Array<{ file: string; port: number; runner: string }> = [];
    for (const [url, extra] of [[tlsSim.match[1], ['--ca', caFile]], [plainSim.match[1], []]] as const) {
      // Every 5th call is rate limited.
      await addFault(url, url.startsWith('https') ? ca : undefined, { fault: 'rate_limited', rate: 0.2 });
      for (const [runner, api] of [['openai', 'chat'], ['anthropic', 'messages'], ['python', 'chat'], ['curl', 'chat']] as const) {
        const file = join(dir, `${runner}-${url.startsWith('https') ? 'tls' : 'plain'}.jsonl`);
        truths.push({ file, port: Number(new URL(url).port), runner });
        const ran = await run(process.execPath, [cli, 'load', '--url', url, '--runner', runner, '--api', api, '--count', '5', '--concurrency', '1', '--max-tokens', '8', '--quiet', '--out', file, ...extra], { env, timeoutMs: 90_000 });
        assert.equal(ran.code, 0, `${runner}: ${ran.stderr}`);
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    const metrics = await (await fetch(metricsUrl)).text();
    assert.equal(await agent.stop(), 0);
    agent = null;
    const recs = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    let limited = 0;
    for (const tr of truths) {
      for (const c of readFileSync(tr.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { request_id: string; status: number })) {
        const rec = recs.find((r) => r.provider_request_id === c.request_id && r['server.port'] === tr.port && r.observed_side === 'client');
        assert.ok(rec, `${tr.runner} call ${c.request_id} on port ${tr.port} recorded`);
        assert.equal(rec['http.response.status_code'], c.status, `${tr.runner} status`);
        assert.equal(rec.capture, tr.port === Number(new URL(tlsSim.match[1]).port) ? 'tls' : 'plain');
        assert.equal(rec['error.type'], c.status === 429 ? 'rate_limited' : null, `${tr.runner} error class`);
        if (c.status === 429) limited++;
        assert.equal(rec['gen_ai.provider.name'], tr.runner === 'anthropic' ? 'anthropic' : 'openai_compatible');
        // The simulator runs on this node too: its end of the call is recorded, derived from the
        // client end's parse (records.mirrored_server_side: derive) with the server's own times.
        const srv = recs.find((r) => r.provider_request_id === c.request_id && r['server.port'] === tr.port && r.observed_side === 'server');
        assert.ok(srv, `${tr.runner} call ${c.request_id}: the simulator's end recorded`);
        const simPid = tr.port === Number(new URL(tlsSim.match[1]).port) ? tlsSim.child.pid : plainSim.child.pid;
        assert.equal((srv.process as { pid: number }).pid, simPid, 'the server record is the simulator process');
        for (const k of ['http.response.status_code', 'error.type', 'gen_ai.usage.output_tokens', 'gen_ai.request.model', 'chunks', 'content_chunks'])
          assert.deepEqual(srv[k], rec[k], `${tr.runner} server record ${k}`);
        assert.deepEqual(srv.partial_reasons, [], `${tr.runner} server record complete`);
        const cts = rec.timestamps_ns as Record<string, number | null>;
        const sts = srv.timestamps_ns as Record<string, number | null>;
        assert.ok(sts.request_end! >= cts.request_start!, 'the server read the request after the client started sending it');
        assert.ok(sts.response_start! <= cts.response_start!, 'the server wrote the response head before the client read it');
        assert.ok(sts.response_end! <= cts.response_end!, 'and its last byte');
        if (cts.first_token !== null) assert.ok(sts.first_token! <= cts.first_token, 'and the first token');
      }
    }
    assert.match(metrics, /gen_ai_server_request_duration_seconds_count\{[^}]*\} \d+/, 'server-side metrics from the derived records');
    const derived = /llmslo_mirrored_server_ends_total\{llmslo_reason="derived"\} (\d+)/.exec(metrics);
    assert.ok(derived !== null && Number(derived[1]) >= 30, `server records derived, not parsed: ${derived?.[0]}`);
    assert.match(metrics, /llmslo_mirrored_server_ends_total\{llmslo_reason="unaligned"\} 0\b/);
    assert.ok(limited > 0, 'the fault hit some calls');
    // Prometheus: the anthropic calls under their provider label, and the rate-limited ones by class.
    assert.match(metrics, /gen_ai_client_operation_duration_seconds_count\{[^}]*gen_ai_provider_name="anthropic"[^}]*\} \d+/);
    assert.match(metrics, /error_type="rate_limited"/);
  } finally {
    if (agent && agent.child.exitCode === null) agent.child.kill('SIGKILL');
    tlsSim.child.kill('SIGTERM');
    plainSim.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
