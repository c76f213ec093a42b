// Parser accuracy against the simulator's ground truth:
//
//   node --import tsx bench/parser/sim_accuracy.ts
//
// Runs the in-process LLM simulator (src/sim) behind a recording TCP proxy that plays the capture
// plane, sends every API format x every fault through it (keep-alive connections via fetch),
// feeds the recorded byte streams through createCallPipeline and compares each record with the
// simulator's truth record (joined by request id; calls that never got a response head are
// joined by path in order): error.type, status, usage, content chunks.
import type { StreamEvent } from '../../src/capture/stream.ts';
import { createCallPipeline } from '../../src/llm/pipeline.ts';
import type { CallRecord, LlmCallRecord } from '../../src/llm/records.ts';
import { startSim } from '../../test/sim/helpers.ts';
import { now, startTap } from '../../test/llm/tap.ts';

const s = await startSim();
const simPort = Number(new URL(s.url).port);
const events: StreamEvent[] = [];
const tap = await startTap(simPort, events);
const base = `http://127.0.0.1:${(tap.address() as import('node:net').AddressInfo).port}`;
const post = async (path: string, body: unknown): Promise<void> => {
  try {
    const r = await fetch(base + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    await r.text();
  } catch {
    /* resets */
  }
};
const msgs = [{ role: 'user', content: 'hello there' }];
const reqs: [string, unknown][] = [
  ['/v1/chat/completions', { model: 'gpt-4o', messages: msgs, stream: true, stream_options: { include_usage: true } }],
  ['/v1/chat/completions', { model: 'gpt-4o', messages: msgs, stream: true }],
  ['/v1/chat/completions', { model: 'gpt-4o', messages: msgs }],
  ['/v1/responses', { model: 'gpt-4o', input: 'hi', stream: true }],
  ['/v1/responses', { model: 'gpt-4o', input: 'hi' }],
  ['/v1/messages', { model: 'claude-x', max_tokens: 50, messages: msgs, stream: true }],
  ['/v1/messages', { model: 'claude-x', max_tokens: 50, messages: msgs }],
  ['/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }],
  ['/v1beta/models/gemini-2.5-flash:streamGenerateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }],
  ['/v1beta/models/gemini-2.5-flash:generateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }],
  ['/api/chat', { model: 'llama3', messages: msgs }],
  ['/api/generate', { model: 'llama3', prompt: 'hi', stream: false }],
  ['/v1/embeddings', { model: 'text-embedding-3-small', input: 'hi' }],
  ['/api/embed', { model: 'all-minilm', input: ['a', 'b'] }],
];
const faults = [null, 'rate_limited', 'quota_exhausted', 'overloaded', 'server_error', 'context_length_exceeded', 'model_not_found', 'auth', 'stream_error', 'stream_interrupted', 'connection_reset'];
for (const fault of faults) {
  await s.control('DELETE', '/_sim/faults');
  if (fault) await s.control('POST', '/_sim/faults', { fault, rate: 1, after_tokens: 2 });
  for (const [p, b] of reqs) await post(p, b);
}
await new Promise((r) => setTimeout(r, 200));
tap.close();
const truth = await s.stop();
const recs: CallRecord[] = [];
const pl = createCallPipeline({}, (r) => recs.push(r));
for (const e of events) pl.onEvent(e);
pl.flush(now());
console.log('records', recs.length, 'truth', truth.length, 'stats', JSON.stringify(pl.stats().calls), JSON.stringify(pl.stats().http));
const byId = new Map(recs.map((r) => [(r as LlmCallRecord).provider_request_id, r as LlmCallRecord]));
// calls without a response head carry no request id: pair them by path, in order
const unjoined = new Map<string, LlmCallRecord[]>();
for (const r of recs as LlmCallRecord[]) if (r.provider_request_id === null) unjoined.set(r['url.path'], [...(unjoined.get(r['url.path']) ?? []), r]);
let bad = 0;
// Timing: the simulator and the proxy share this process's CLOCK_MONOTONIC, so a record's
// first_token / first_chunk / response_end can be compared with when the server wrote them.
const deltas: Record<string, number[]> = { first_chunk: [], first_token: [], response_end: [] };
for (const t of truth) {
  const r = byId.get(t.request_id) ?? (t.headers === null ? unjoined.get(t.path.split('?')[0]!)?.shift() : undefined);
  const problems: string[] = [];
  if (!r) problems.push('no record');
  else {
    if (r['error.type'] !== t.expected_error_type) problems.push(`error ${r['error.type']} != ${t.expected_error_type}`);
    if (t.usage && r.tokens_source === 'usage') {
      if (r['gen_ai.usage.output_tokens'] !== t.usage.output_tokens && t.operation !== 'embeddings') problems.push(`out ${r['gen_ai.usage.output_tokens']} != ${t.usage.output_tokens}`);
      if (r['gen_ai.usage.input_tokens'] !== t.usage.input_tokens) problems.push(`in ${r['gen_ai.usage.input_tokens']} != ${t.usage.input_tokens}`);
    }
    if (t.stream && r.content_chunks !== t.content_chunks) problems.push(`content_chunks ${r.content_chunks} != ${t.content_chunks}`);
    if (r['http.response.status_code'] !== t.status) problems.push(`status ${r['http.response.status_code']} != ${t.status}`);
    if (t.stream && t.outcome === 'ok') {
      const ts = r.timestamps_ns;
      if (t.first_chunk && ts.first_chunk !== null) deltas.first_chunk!.push((ts.first_chunk - t.first_chunk.mono_ns) / 1e6);
      if (t.first_token && ts.first_token !== null) deltas.first_token!.push((ts.first_token - t.first_token.mono_ns) / 1e6);
      if (t.end && ts.response_end !== null) deltas.response_end!.push((ts.response_end - t.end.mono_ns) / 1e6);
    }
  }
  if (problems.length) {
    bad++;
    console.log(t.api, t.path.slice(0, 50), t.stream, 'fault=' + t.fault, t.outcome, '|', problems.join('; '), r ? `partial=${r.partial_reasons} src=${r['error.source']} code=${r['error.provider_code']} ts=${r.tokens_source}` : '');
  }
}
console.log(`mismatches: ${bad} of ${truth.length} calls`);
const q = (a: number[], p: number): number => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.ceil(p * a.length) - 1)] ?? NaN;
for (const [k, a] of Object.entries(deltas))
  console.log(`timing ${k}: record - server write, ms: n=${a.length} min=${Math.min(...a).toFixed(3)} p50=${q(a, 0.5).toFixed(3)} p95=${q(a, 0.95).toFixed(3)} max=${Math.max(...a).toFixed(3)}`);

// ---- retrieval: the simulated Qdrant ----
{
  const { SimVectorDb } = await import('../../src/sim/vectordb.ts');
  const db = new SimVectorDb({ port: 0, latencyMs: { dist: 'uniform', min: 1, max: 3 } });
  const dbUrl = await db.start();
  const evs: StreamEvent[] = [];
  const dtap = await startTap(Number(new URL(dbUrl).port), evs);
  const dbase = `http://127.0.0.1:${(dtap.address() as import('node:net').AddressInfo).port}`;
  const call = async (method: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const r = await fetch(dbase + path, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  await call('PUT', '/collections/docs', { vectors: { size: 4, distance: 'Cosine' } });
  await call('PUT', '/collections/docs/points', { points: Array.from({ length: 20 }, (_, i) => ({ id: i + 1, vector: [i, 1, 2, 3], payload: { n: i } })) });
  const seen: { path: string; status: number; count: number | null; topK: number }[] = [];
  const countOf = (j: Record<string, unknown>): number | null => {
    const r = j['result'];
    if (Array.isArray(r)) return r.reduce((n: number, x) => n + (Array.isArray(x) ? x.length : 1), 0);
    if (r && typeof r === 'object' && Array.isArray((r as { points?: unknown[] }).points)) return (r as { points: unknown[] }).points.length;
    return null;
  };
  for (const [path, body, topK] of [
    ['/collections/docs/points/search', { vector: [1, 1, 2, 3], limit: 3 }, 3],
    ['/collections/docs/points/query', { query: [1, 1, 2, 3], limit: 4 }, 4],
    ['/collections/docs/points/search/batch', { searches: [{ vector: [1, 1, 2, 3], limit: 2 }, { vector: [5, 1, 2, 3], limit: 2 }] }, null],
    ['/collections/nope/points/search', { vector: [1, 1, 2, 3], limit: 3 }, 3],
  ] as [string, unknown, number | null][]) {
    const r = await call('POST', path, body);
    seen.push({ path, status: r.status, count: r.status < 300 ? countOf(r.json) : null, topK: topK ?? -1 });
  }
  await new Promise((r) => setTimeout(r, 100));
  dtap.close();
  await db.stop();
  const rr: CallRecord[] = [];
  const p2 = createCallPipeline({}, (r) => rr.push(r));
  for (const e of evs) p2.onEvent(e);
  p2.flush(now());
  const ret = rr.filter((r) => r.schema === 'llmslo.retrieval_call/v1') as import('../../src/llm/records.ts').RetrievalCallRecord[];
  let rbad = 0;
  seen.forEach((s, i) => {
    const r = ret[i];
    const problems: string[] = [];
    if (!r) problems.push('no record');
    else {
      if (r['url.path'] !== s.path) problems.push(`path ${r['url.path']}`);
      if (r['http.response.status_code'] !== s.status) problems.push(`status ${r['http.response.status_code']} != ${s.status}`);
      if (r.result_count !== s.count) problems.push(`result_count ${r.result_count} != ${s.count}`);
      if (s.topK >= 0 && r['gen_ai.request.top_k'] !== s.topK) problems.push(`top_k ${r['gen_ai.request.top_k']} != ${s.topK}`);
      if ((s.status >= 400) !== (r['error.type'] !== null)) problems.push(`error ${r['error.type']}`);
    }
    if (problems.length) {
      rbad++;
      console.log('retrieval', s.path, problems.join('; '));
    }
  });
  console.log(`retrieval: ${ret.length} records (upserts and collection admin are not retrieval), mismatches: ${rbad} of ${seen.length} searches`);
}
