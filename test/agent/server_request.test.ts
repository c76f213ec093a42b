// Inbound requests of an application end to end (real eBPF, as root): `llmslo sim rag` serves
// POST /ask by calling `llmslo sim provider` (embeddings, streamed chat) and `llmslo sim vectordb`
// (Qdrant query). The agent must write llmslo.server_request/v1 records for /ask with the
// retrieval and LLM calls of the same process linked to them and 0 < retrieval_share < 1, and
// export a SERVER span per request in the caller's trace. A second, uninstrumented app (no
// traceparent anywhere) checks that linked CLIENT spans become children of the SERVER span.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPeer } from '../helpers/ebpf.ts';
import { cli, requireRoot, startAgent, type RunningAgent } from '../helpers/agent.ts';
import { startReceiver } from '../export/otlp_receiver.ts';
import type { LlmCallRecord, RetrievalCallRecord, ServerRequestRecord } from '../../src/llm/records.ts';
import { assertValid } from '../llm/validate.ts';

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const PLAIN_APP = resolve(import.meta.dirname, '../helpers/plain_rag_app.ts');

async function ask(url: string, traceparent?: string, path = '/ask'): Promise<void> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(traceparent ? { traceparent } : {}) },
    body: JSON.stringify({ question: 'What is the latency SLO of checkout?', max_tokens: 24 }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  await res.text();
}

test('agent: server_request records for the RAG app, linked calls, retrieval share and SERVER spans', { timeout: 240_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-server-req-'));
  const jsonl = join(dir, 'records.jsonl');
  const ragTruth = join(dir, 'rag-truth.jsonl');
  const env = {
    ...process.env,
    LLMSLO_FROM_SOURCE: '1',
    LLMSLO_OUTPUTS__PROMETHEUS__ENABLED: 'false',
    LLMSLO_OUTPUTS__JSONL__PATH: jsonl,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    LLMSLO_OUTPUTS__OTLP__EXPORT_INTERVAL_S: '1',
  };
  const peers: Array<{ child: import('node:child_process').ChildProcess }> = [];
  let agent: RunningAgent | null = null;
  try {
    const provider = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0'], /listening on (\S+)/, env);
    peers.push(provider);
    const vdb = await startPeer(process.execPath, [cli, 'sim', 'vectordb', '--port', '0', '--latency-ms', '20'], /listening on (\S+)/, env);
    peers.push(vdb);
    agent = await startAgent([], env);
    const rag = await startPeer(process.execPath, [cli, 'sim', 'rag', '--port', '0', '--llm', provider.match[1]!, '--vectordb', vdb.match[1]!, '--max-tokens', '24', '--truth', ragTruth], /listening on (\S+)/, env);
    peers.push(rag);
    const plain = await startPeer(process.execPath, ['--import', 'tsx', PLAIN_APP, provider.match[1]!, vdb.match[1]!, 'docs'], /listening on (\S+)/, env);
    peers.push(plain);

    // one request at a time: no concurrency, so no ambiguity even without trace ids
    const sent: Array<{ trace: string; parent: string }> = [];
    for (let i = 0; i < 3; i++) {
      const trace = randomBytes(16).toString('hex');
      const parent = randomBytes(8).toString('hex');
      sent.push({ trace, parent });
      await ask(rag.match[1]!, `00-${trace}-${parent}-01`);
    }
    for (let i = 0; i < 2; i++) await ask(plain.match[1]!);
    // concurrent requests: with trace ids each call still finds its request; without, calls that
    // several open requests could own are ambiguous, never misattributed
    const concurrent = Array.from({ length: 4 }, () => ({ trace: randomBytes(16).toString('hex'), parent: randomBytes(8).toString('hex') }));
    await Promise.all(concurrent.map(({ trace, parent }) => ask(rag.match[1]!, `00-${trace}-${parent}-01`)));
    await Promise.all(Array.from({ length: 4 }, () => ask(plain.match[1]!, undefined, '/ask-concurrent')));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await agent.stop(), 0); // shutdown flushes every exporter
    agent = null;

    const records = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { schema: string });
    const servers = records.filter((r): r is ServerRequestRecord => r.schema === 'llmslo.server_request/v1');
    const calls = records.filter((r): r is LlmCallRecord | RetrievalCallRecord => r.schema !== 'llmslo.server_request/v1' && r.schema !== 'llmslo.slo_alert/v1');
    for (const s of servers) assertValid(s);

    // --- the RAG app (it propagates W3C trace context on its outbound calls)
    const ragAsks = servers.filter((s) => s.process.pid === rag.child.pid && s['http.route'] === '/ask');
    assert.equal(ragAsks.length, 7, `server requests: ${servers.map((s) => `${s.process.pid} ${s['http.request.method']} ${s['http.route']}`).join(', ')}`);
    for (const { trace, parent } of sent) {
      const s = ragAsks.find((x) => x.trace_id === trace);
      assert.ok(s, `a server_request for trace ${trace}`);
      assert.equal(s.span_id, parent);
      assert.equal(s['http.request.method'], 'POST');
      assert.equal(s['http.response.status_code'], 200);
      assert.equal(s.partial, false, s.partial_reasons.join());
      assert.ok(s.duration_s! > 0);
      assert.ok(s.outbound.retrieval.count >= 2, JSON.stringify(s.outbound));
      assert.ok(s.outbound.retrieval.embeddings >= 1 && s.outbound.retrieval.vector_search >= 1, JSON.stringify(s.outbound));
      assert.ok(s.outbound.llm.count >= 1, JSON.stringify(s.outbound));
      assert.equal(s.outbound.ambiguous, 0);
      assert.ok(s.retrieval_share! > 0 && s.retrieval_share! < 1, String(s.retrieval_share));
      assert.ok(s.outbound.retrieval.union_s <= s.duration_s!);
      // the calls made for it point at its SERVER span
      const mine = calls.filter((c) => c.process.pid === rag.child.pid && c.trace_id === trace && c.observed_side === 'client');
      assert.ok(mine.length >= 3, `calls in trace ${trace}: ${mine.length}`);
      for (const c of mine) assert.deepEqual(c.enclosing_request, s.server_span);
      // SERVER span: the caller's trace, child of the caller's span, with the preset id
      const span = receiver.spans.find((x) => x.kind === SPAN_KIND_SERVER && x.spanId === s.server_span.span_id);
      assert.ok(span, `SERVER span ${s.server_span.span_id} (got ${receiver.spans.map((x) => `${x.kind}:${x.name}`).join(', ')})`);
      assert.equal(span.name, 'POST /ask');
      assert.equal(span.traceId, trace);
      assert.equal(span.parentSpanId, parent);
      assert.ok(Number(span.attributes['llmslo.retrieval_share']) > 0);
      // the CLIENT spans of its calls are in the same trace (children of the app's own spans)
      const clientSpans = receiver.spans.filter((x) => x.kind === SPAN_KIND_CLIENT && x.traceId === trace);
      assert.ok(clientSpans.some((x) => x.name.startsWith('retrieval')) && clientSpans.some((x) => x.name.startsWith('chat')), clientSpans.map((x) => x.name).join(', '));
    }

    // --- against the RAG app's own clock (same CLOCK_MONOTONIC): the kernel sees the request before
    // the app's handler runs and the last response byte right when it ends; in-process client
    // spans enclose the wire time of each call
    type Stamp = { mono_ns: number };
    type Truth = { trace_id: string; received: Stamp; end: Stamp; spans: Array<{ name: string; kind: string; start: Stamp; end: Stamp | null }> };
    for (let i = 0; i < 50 && readFileSync(ragTruth, 'utf8').trim().split('\n').length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    const truths = readFileSync(ragTruth, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Truth);
    for (const { trace } of sent) {
      const s = ragAsks.find((x) => x.trace_id === trace)!;
      const tr = truths.find((x) => x.trace_id === trace);
      assert.ok(tr, `rag truth for ${trace}`);
      const t = s.timestamps_ns;
      assert.ok(t.request_start <= tr.received.mono_ns + 1e6 && tr.received.mono_ns - t.request_start < 50e6, `request start ${t.request_start} vs handler ${tr.received.mono_ns}`);
      assert.ok(Math.abs(t.response_end! - tr.end.mono_ns) < 50e6, `response end ${t.response_end} vs app ${tr.end.mono_ns}`);
      const spanS = (prefix: string): number => tr.spans.filter((x) => x.kind === 'client' && x.name.startsWith(prefix) && x.end).reduce((a, x) => a + (x.end!.mono_ns - x.start.mono_ns) / 1e9, 0);
      const appRetrieval = spanS('embeddings') + spanS('retrieval');
      assert.ok(s.outbound.retrieval.sum_s <= appRetrieval + 0.002 && s.outbound.retrieval.sum_s > appRetrieval * 0.3, `retrieval ${s.outbound.retrieval.sum_s} s vs app spans ${appRetrieval} s`);
      assert.ok(s.outbound.llm.sum_s <= spanS('chat') + 0.002, `llm ${s.outbound.llm.sum_s} s vs app span ${spanS('chat')} s`);
    }

    for (const { trace } of concurrent) {
      const s = ragAsks.find((x) => x.trace_id === trace);
      assert.ok(s, `a server_request for concurrent trace ${trace}`);
      assert.equal(s.outbound.ambiguous, 0, JSON.stringify(s.outbound));
      assert.equal(s.outbound.retrieval.embeddings, 1, JSON.stringify(s.outbound));
      assert.equal(s.outbound.retrieval.vector_search, 1, JSON.stringify(s.outbound));
      assert.equal(s.outbound.llm.count, 1, JSON.stringify(s.outbound));
      for (const c of calls.filter((x) => x.trace_id === trace && x.observed_side === 'client')) assert.deepEqual(c.enclosing_request, s.server_span);
    }
    const plainConcurrent = servers.filter((s) => s.process.pid === plain.child.pid && s['http.route'] === '/ask-concurrent');
    assert.equal(plainConcurrent.length, 4);
    const plainCalls = calls.filter((c) => c.process.pid === plain.child.pid && c.observed_side === 'client');
    const linkedTo = new Map(plainConcurrent.map((s) => [s.server_span.span_id, s]));
    // each of the 12 calls of the concurrent phase is attributed to at most one request, and only to one that contains it
    let attributed = 0;
    for (const c of plainCalls) {
      const s = c.enclosing_request ? linkedTo.get(c.enclosing_request.span_id) : undefined;
      if (!s) continue;
      attributed++;
      assert.ok(c.timestamps_ns.request_start >= s.timestamps_ns.request_start && c.timestamps_ns.response_end! <= s.timestamps_ns.response_end!);
    }
    const counted = plainConcurrent.reduce((a, s) => a + s.outbound.llm.count + s.outbound.retrieval.count, 0);
    assert.equal(counted, attributed);
    assert.ok(plainConcurrent.some((s) => s.outbound.ambiguous > 0), 'overlapping requests without trace ids see ambiguous calls');

    // --- the uninstrumented app: no traceparent anywhere, so its calls become the SERVER span's children
    const plainAsks = servers.filter((s) => s.process.pid === plain.child.pid && s['http.route'] === '/ask');
    assert.equal(plainAsks.length, 2);
    for (const s of plainAsks) {
      assert.equal(s.trace_id, null);
      assert.ok(s.outbound.retrieval.count >= 2 && s.outbound.llm.count >= 1, JSON.stringify(s.outbound));
      assert.ok(s.retrieval_share! > 0 && s.retrieval_share! < 1, String(s.retrieval_share));
      const span = receiver.spans.find((x) => x.kind === SPAN_KIND_SERVER && x.spanId === s.server_span.span_id);
      assert.ok(span, 'SERVER span of the plain app');
      assert.equal(span.traceId, s.server_span.trace_id);
      const children = receiver.spans.filter((x) => x.parentSpanId === s.server_span.span_id);
      const names = children.map((x) => x.name);
      assert.ok(children.every((x) => x.kind === SPAN_KIND_CLIENT && x.traceId === s.server_span.trace_id));
      assert.ok(names.some((n) => n.startsWith('embeddings')), names.join(', '));
      assert.ok(names.some((n) => n.startsWith('retrieval')), names.join(', '));
      assert.ok(names.some((n) => n.startsWith('chat')), names.join(', '));
    }
    // metrics went out over OTLP too
    const names = new Set(receiver.metricExports.flat().map((m) => m.name));
    assert.ok(names.has('llmslo.server_request.duration'), [...names].join(', '));
    assert.ok(names.has('llmslo.retrieval.share_ratio'), [...names].join(', '));
  } finally {
    if (agent && agent.child.exitCode === null) agent.child.kill('SIGKILL');
    for (const p of peers.reverse()) p.child.kill('SIGTERM');
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
