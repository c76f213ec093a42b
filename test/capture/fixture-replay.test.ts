// A real eBPF recording (test/fixtures/recordings/sim-clients.llmslo, made by make-fixture.ts as
// root) replayed without root through capture -> protocols -> call records, checked against the
// clients' own ground truth: every call found, right status, tokens and chunks, and kernel times
// that respect causality (the kernel sees bytes before the client's code does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CapturePipeline, clockMapper } from '../../src/capture/pipeline.ts';
import { ProcessCache, type ProcessInfo } from '../../src/capture/processes.ts';
import { readRecording, readRecordingHeader } from '../../src/capture/recording.ts';
import { createCallPipeline } from '../../src/llm/pipeline.ts';
import type { CallRecord, LlmCallRecord } from '../../src/llm/records.ts';

const dir = resolve(import.meta.dirname, '../fixtures/recordings');
const file = `${dir}/sim-clients.llmslo`;

interface Truth {
  runner: string;
  api: string;
  request_id: string;
  status: number;
  ok: boolean;
  stream: boolean;
  input_tokens: number | null;
  output_tokens: number | null;
  chunks: number | null;
  content_chunks: number | null;
  start: { mono_ns: number };
  first_token: { mono_ns: number } | null;
  end: { mono_ns: number };
}

function replayCalls(): CallRecord[] {
  const header = readRecordingHeader(file);
  const procs = new ProcessCache(1024, null);
  const out: CallRecord[] = [];
  const calls = createCallPipeline({ clock: clockMapper(header.monoNsAtStart, header.wallMsAtStart), resolveComm: (pid) => procs.get(pid).comm }, (r) => out.push(r));
  const p = new CapturePipeline({ payloadCap: header.payloadCap, processes: procs, sink: calls });
  readRecording(file, {
    onBatch: (b) => p.feedBatch(b),
    onMeta: (m) => procs.seed(((m as { processes?: ProcessInfo[] }).processes ?? [])),
  });
  p.flush(p.assembler.latestTs);
  return out;
}

test('replayed real capture matches every client call', () => {
  const truth = readFileSync(`${dir}/sim-clients.truth.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Truth);
  assert.equal(truth.length, 30);
  const calls = replayCalls().filter((r): r is LlmCallRecord => r.schema === 'llmslo.llm_call/v1');
  const clientSide = calls.filter((c) => c.observed_side === 'client');
  assert.equal(clientSide.length, truth.length, 'one client-side record per request, no extras');
  assert.equal(calls.filter((c) => c.observed_side === 'server').length, truth.length, 'and the simulator side of each');
  const captures = new Set<string>();
  for (const t of truth) {
    // Two simulator instances (TLS and plain) may hand out the same request ids: of the calls
    // with this id, take the one the kernel saw closest to the client's start.
    const c = clientSide
      .filter((x) => x.provider_request_id === t.request_id)
      .sort((a, b) => Math.abs(a.timestamps_ns.request_start - t.start.mono_ns) - Math.abs(b.timestamps_ns.request_start - t.start.mono_ns))[0];
    assert.ok(c, `call ${t.request_id} (${t.runner}/${t.api}) captured`);
    captures.add(`${t.runner}:${c.capture}`);
    assert.equal(c.partial, false, `${t.request_id}: ${c.partial_reasons.join(',')}`);
    assert.equal(c['http.response.status_code'], t.status);
    assert.equal(c['error.type'], null);
    assert.equal(c['gen_ai.operation.name'], t.api === 'embeddings' ? 'embeddings' : 'chat');
    if (t.api !== 'embeddings') assert.equal(c.stream, t.stream); // the runner records its default flag for embeddings
    const stream = t.api !== 'embeddings' && t.stream;
    if (t.input_tokens !== null) assert.equal(c['gen_ai.usage.input_tokens'], t.input_tokens, `${t.request_id} input tokens`);
    if (t.output_tokens !== null && t.api !== 'embeddings') assert.equal(c['gen_ai.usage.output_tokens'], t.output_tokens, `${t.request_id} output tokens`);
    // Content chunks: runners differ on whether a terminal marker like [DONE] counts as a chunk.
    if (stream && t.content_chunks !== null) assert.equal(c.content_chunks, t.content_chunks, `${t.request_id} content chunks`);
    const k = c.timestamps_ns;
    assert.ok(k.request_start >= t.start.mono_ns, `${t.request_id}: request seen by the kernel after the client started it`);
    assert.ok(k.response_end !== null && k.response_end <= t.end.mono_ns, `${t.request_id}: response complete in the kernel before the client saw its end`);
    if (t.first_token && k.first_token !== null) assert.ok(k.first_token <= t.first_token.mono_ns, `${t.request_id}: first token in the kernel before the client`);
  }
  // Node, Python and curl, each over TLS and plaintext.
  for (const r of ['openai', 'anthropic', 'python', 'curl']) {
    assert.ok(captures.has(`${r}:tls`) && captures.has(`${r}:plain`), `${r} over TLS and plain: ${[...captures].join(' ')}`);
  }
});

test('llmslo replay --calls prints the same records as JSONL', () => {
  const r = spawnSync(process.execPath, [resolve(import.meta.dirname, '../../bin/llmslo.js'), 'replay', '--calls', file], { encoding: 'utf8', env: { ...process.env, LLMSLO_FROM_SOURCE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as CallRecord);
  assert.equal(lines.length, 60);
  assert.ok(lines.every((l) => l.schema === 'llmslo.llm_call/v1'));
  assert.match(r.stderr, /60 call records/);
});
