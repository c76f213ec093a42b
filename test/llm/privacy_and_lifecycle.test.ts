// Privacy by default (no prompt/completion text in records unless opted in, redacted then),
// flush semantics, and the entry point's counters.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamEvent } from '../../src/capture/stream.ts';
import { createCallPipeline } from '../../src/llm/pipeline.ts';
import type { LlmCallRecord } from '../../src/llm/records.ts';
import { asServerSide, fixtureEvents, loadFixtures, run, T0 } from './wire.ts';

const fixtures = loadFixtures();
const byName = (n: string) => fixtures.find((f) => f.name === n)!;

describe('privacy', () => {
  test('no record carries prompt or completion text by default', () => {
    const secrets = ['Say this is a test', 'You are terse', 'This is a test', 'Hello!', 'In labyrinthine code', 'Okay', 'Rayleigh scattering', 'hail the tools'];
    for (const fx of fixtures) {
      const json = JSON.stringify(run(fixtureEvents(fx)).records);
      for (const s of secrets) assert.ok(!json.includes(s), `${fx.name} leaks "${s}"`);
      assert.ok(!json.includes('excerpts'));
      assert.ok(!json.includes('AIzaSECRET'), 'query strings (API keys) are not exported');
    }
  });
  test('opt-in excerpts are truncated and redacted', () => {
    const fx = structuredClone(byName('openai_chat_nonstream'));
    fx.request.body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'mail me at jane.doe@example.com, key sk-abcdefghijklmnopqrstu, call +1 415 555 0100 please and then tell me a long story' }] };
    const r = run(fixtureEvents(fx), { keepExcerpts: { maxChars: 60 } }).records[0] as LlmCallRecord;
    const ex = r.excerpts!;
    assert.ok(ex.prompt !== null && ex.prompt.length <= 60);
    assert.ok(!ex.prompt.includes('jane.doe') && ex.prompt.includes('[email]'), ex.prompt);
    assert.ok(!ex.prompt.includes('sk-abc') && ex.prompt.includes('[secret]'), ex.prompt);
    assert.ok(!ex.prompt.includes('555'), ex.prompt);
    assert.equal(ex.completion, 'This is a test.');
  });
});

describe('lifecycle', () => {
  test('flush emits in-flight calls as partial, without an error class', () => {
    const evs = fixtureEvents(byName('anthropic_stream')).filter((e) => e.kind !== 'close');
    const cut = evs.slice(0, evs.length - 3); // last pieces not yet arrived
    const records: LlmCallRecord[] = [];
    const p = createCallPipeline({ clock: () => 0 }, (r) => records.push(r as LlmCallRecord));
    for (const e of cut) p.onEvent(e);
    assert.equal(records.length, 0);
    p.flush(T0 + 10e9);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.partial, true);
    assert.deepEqual(records[0]!.partial_reasons, ['flushed']);
    assert.equal(records[0]!['error.type'], null);
    assert.ok(records[0]!.content_chunks >= 1);
  });
  test('a throwing record consumer is counted, not propagated', () => {
    const p = createCallPipeline({ clock: () => 0 }, () => {
      throw new Error('consumer down');
    });
    for (const e of fixtureEvents(byName('openai_chat_stream_usage'))) p.onEvent(e);
    const s = p.stats();
    assert.equal(s.calls.internalErrors, 1);
    assert.match(String(s.calls.lastInternalError), /consumer down/);
  });
  test('two connIds of the same exchange seen from both ends give one client and one server record', () => {
    const fx = byName('openai_chat_stream_usage');
    const client = fixtureEvents(fx, 1);
    const server: StreamEvent[] = fixtureEvents(fx, 2).map((e) =>
      e.kind === 'data' ? { ...e, direction: e.direction === 'egress' ? 'ingress' : 'egress' } : e,
    );
    const merged = [...client, ...server].sort((a, b) => a.tsNs - b.tsNs);
    const r = run(merged).records as LlmCallRecord[];
    assert.deepEqual(r.map((x) => x.observed_side).sort(), ['client', 'server']);
    assert.equal(r[0]!['gen_ai.usage.output_tokens'], r[1]!['gen_ai.usage.output_tokens']);
  });
  test('mirroredServer skip: a call whose both ends are captured is followed from its client end only', () => {
    const fx = byName('openai_chat_stream_usage');
    const client = fixtureEvents(fx, 1);
    const c1 = (client[0] as Extract<StreamEvent, { kind: 'open' }>).conn;
    // the server process's end of the same TCP connection: endpoints swapped
    const mirrored = asServerSide(fixtureEvents(fx, 2)).map((e) => (e.kind === 'open' ? { ...e, conn: { ...e.conn, local: c1.remote, remote: c1.local } } : e));
    const other = asServerSide(fixtureEvents(fx, 3)).map((e) => (e.kind === 'open' ? { ...e, conn: { ...e.conn, remote: { address: '10.9.9.9', port: 5555 } } } : e));
    const merged = [...client, ...mirrored, ...other].sort((a, b) => a.tsNs - b.tsNs);
    const both = run(merged, { mirroredServer: 'parse' }).records as LlmCallRecord[];
    assert.deepEqual(both.map((x) => x.observed_side).sort(), ['client', 'server', 'server']);
    const muted: string[] = [];
    const skipped = run(merged, { mirroredServer: 'skip', muteConnection: (id, keep) => muted.push(`${id}:${keep}`) });
    const r = skipped.records as LlmCallRecord[];
    assert.deepEqual(muted, ['2:drop'], 'the capture is asked to stop shipping the mirrored end (conn 2), once');
    assert.deepEqual(r.map((x) => `${x.observed_side}:${x.conn_id}`).sort(), ['client:1', 'server:3'], 'the remote client\'s call keeps its server-side record');
    assert.equal(skipped.stats.calls.mirroredServerSkipped, 1);
    // the mirrored end's response body is dropped before HTTP parsing, not framed and discarded
    assert.ok(skipped.stats.calls.mirroredServerBytesDropped > 0, 'bytes after the response head dropped unparsed');
    assert.equal(run(merged, { mirroredServer: 'parse' }).stats.calls.mirroredServerBytesDropped, 0);
    assert.deepEqual(r.find((x) => x.observed_side === 'client'), both.find((x) => x.observed_side === 'client'), 'the client record is unchanged');
  });
  test('process.comm comes from the resolver; time from the clock', () => {
    const r = run(fixtureEvents(byName('openai_embeddings')), { resolveComm: (pid) => (pid === 4242 ? 'python3' : null), clock: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678) }).records[0]!;
    assert.deepEqual(r.process, { pid: 4242, comm: 'python3' });
    assert.equal(r.time, '2026-01-02T03:04:05.678Z');
  });
});
