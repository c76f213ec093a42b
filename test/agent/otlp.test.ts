// The agent's OTLP/HTTP export end to end (real eBPF, as root): the official openai SDK sends a
// W3C traceparent; the kernel-captured call becomes a CLIENT span in that trace, child of the
// caller's span, received as protobuf by a receiver in this test, with metrics and logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, startPeer } from '../helpers/ebpf.ts';
import { cli, requireRoot, startAgent, type RunningAgent } from '../helpers/agent.ts';
import { startReceiver } from '../export/otlp_receiver.ts';


test('agent exports CLIENT spans joining the caller trace, metrics and logs over OTLP', { timeout: 240_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-otlp-'));
  const env = {
    ...process.env,
    LLMSLO_FROM_SOURCE: '1',
    LLMSLO_OUTPUTS__PROMETHEUS__ENABLED: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    LLMSLO_OUTPUTS__OTLP__EXPORT_INTERVAL_S: '1',
  };
  let agent: RunningAgent | null = null;
  const sim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0'], /listening on (\S+)/, env);
  try {
    agent = await startAgent([], env);
    const truth = join(dir, 'client.jsonl');
    const ran = await run(process.execPath, [cli, 'load', '--url', sim.match[1], '--runner', 'openai', '--count', '3', '--concurrency', '1', '--max-tokens', '16', '--traceparent', '--quiet', '--out', truth], { env, timeoutMs: 90_000 });
    assert.equal(ran.code, 0, ran.stderr);
    const sent = readFileSync(truth, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { traceparent: string; request_id: string });
    const exitCode = await agent.stop(); // shutdown flushes every exporter
    agent = null;
    assert.equal(exitCode, 0);
    for (const s of sent) {
      const [, traceId, parentId] = s.traceparent.split('-');
      const span = receiver.spans.find((sp) => sp.traceId === traceId && sp.name === 'chat gpt-4o-mini');
      assert.ok(span, `span for trace ${traceId} (got ${receiver.spans.map((x) => `${x.name}@${x.traceId}`).join(', ')})`);
      assert.equal(span.kind, 3, 'SPAN_KIND_CLIENT');
      assert.equal(span.parentSpanId, parentId, 'child of the span that sent the traceparent');
      assert.equal(span.attributes['gen_ai.operation.name'], 'chat');
      assert.ok(span.endNs > span.startNs);
    }
    const names = new Set(receiver.metricExports.flat().map((m) => m.name));
    assert.ok(names.has('gen_ai.client.operation.duration'), `metrics: ${[...names].join(', ')}`);
    assert.ok(receiver.logs.length >= 3, 'one log record per call');
  } finally {
    if (agent && agent.child.exitCode === null) agent.child.kill('SIGKILL');
    sim.child.kill('SIGTERM');
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
