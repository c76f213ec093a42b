import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from '../../src/protocols/sse.ts';
import type { SseEvent } from '../../src/protocols/sse.ts';
import { NdjsonSplitter } from '../../src/protocols/ndjson.ts';

function parse(pieces: (string | Buffer)[], maxEventBytes = 1 << 20): { events: (SseEvent & { ts: number })[]; comments: number; oversize: number } {
  const events: (SseEvent & { ts: number })[] = [];
  const counters = { events: 0, comments: 0, oversizeEvents: 0 };
  const p = new SseParser((data, event, ts, id) => events.push({ data, event, id, ts }), { maxEventBytes }, counters);
  pieces.forEach((x, i) => p.push(typeof x === 'string' ? Buffer.from(x) : x, i));
  p.end();
  return { events, comments: counters.comments, oversize: counters.oversizeEvents };
}

describe('SSE parser', () => {
  test('LF, CRLF and bare CR line ends give the same events', () => {
    const lf = 'event: a\ndata: one\n\ndata: two\n\n';
    for (const text of [lf, lf.replace(/\n/g, '\r\n'), lf.replace(/\n/g, '\r')]) {
      const { events } = parse([text]);
      assert.deepEqual(events.map((e) => [e.event, e.data]), [['a', 'one'], [null, 'two']], JSON.stringify(text));
    }
  });
  test('data: without a space (TGI), multi-line data joined with \\n, only one leading space stripped', () => {
    const { events } = parse(['data:{"a":1}\n\ndata: x\ndata:  y\ndata\n\n']);
    assert.deepEqual(events.map((e) => e.data), ['{"a":1}', 'x\n y\n']);
  });
  test('comments and keep-alives are counted, not dispatched; events without data are not dispatched', () => {
    const { events, comments } = parse([': OPENROUTER PROCESSING\n\n:\n\nevent: ping\n\nid: 7\ndata: z\n\n']);
    assert.deepEqual(events.map((e) => [e.data, e.id]), [['z', '7']]);
    assert.equal(comments, 2);
  });
  test('an event is timed by the chunk that completes it (its blank line)', () => {
    const { events } = parse(['data: hel', 'lo\n', '\n', 'data: x\n\ndata: y\n', '\n']);
    assert.deepEqual(events.map((e) => [e.data, e.ts]), [['hello', 2], ['x', 3], ['y', 4]]);
  });
  test('an event cut between reads at its start is offered whole to the fast path with the next read', () => {
    const events: string[] = [];
    const offered: string[] = [];
    const counters = { events: 0, comments: 0, oversizeEvents: 0 };
    const p = new SseParser((data) => events.push(data), { maxEventBytes: 1 << 20 }, counters);
    // a fast path that takes only whole `data: F…` events
    p.fastEvent = (s, pos) => {
      offered.push(s.slice(pos));
      if (!s.startsWith('data: F', pos)) return -1;
      const end = s.indexOf('\n\n', pos);
      return end < 0 ? -1 : end + 2;
    };
    for (const piece of ['data: F1\n\ndata: F', '2\n\n', 'event: e\ndata: x', 'y\n\n', ': c', 'omment\n\ndata: z\n\n']) p.push(Buffer.from(piece), 0);
    assert.deepEqual(offered.slice(0, 3), ['data: F1\n\ndata: F', 'data: F', 'data: F2\n\n'], 'the cut event is offered again joined with the rest');
    assert.deepEqual(events, ['xy', 'z'], 'an event cut after its first line and a cut comment take the line parser as before');
    assert.equal(counters.events, 4);
    assert.equal(counters.comments, 1);
  });
  test('CRLF split between two chunks is one line end, not two', () => {
    const { events } = parse(['data: a\r', '\ndata: b\r\n\r', '\n']);
    assert.deepEqual(events.map((e) => e.data), ['a\nb']);
  });
  test('every byte split of a Gemini CRLF stream gives the same events', () => {
    const text = 'data: {"candidates":[{"content":{"parts":[{"text":"é ü"}]}}]}\r\n\r\ndata: {"x":2}\r\n\r\n';
    const whole = parse([text]).events.map((e) => e.data);
    const bytes = Buffer.from(text);
    for (let i = 1; i < bytes.length; i++) {
      const got = parse([bytes.subarray(0, i), bytes.subarray(i)]).events.map((e) => e.data);
      assert.deepEqual(got, whole, `split at ${i}`);
    }
    assert.equal(whole.length, 2);
  });
  test('a trailing event without its blank line is not dispatched', () => {
    assert.deepEqual(parse(['data: a\n\ndata: b\n']).events.map((e) => e.data), ['a']);
  });
  test('oversize events are dropped whole and counted; the next event is fine', () => {
    const big = 'data: ' + 'x'.repeat(5000) + '\n\n';
    const { events, oversize } = parse([big.slice(0, 3000), big.slice(3000) + 'data: ok\n\n'], 1024);
    assert.deepEqual(events.map((e) => e.data), ['ok']);
    assert.equal(oversize, 1);
  });
  test('after a gap the partial event is dropped and parsing resumes at the next blank line', () => {
    const events: string[] = [];
    const p = new SseParser((data) => events.push(data), { maxEventBytes: 1 << 16 }, { events: 0, comments: 0, oversizeEvents: 0 });
    p.push(Buffer.from('data: one\n\ndata: tw'), 1);
    p.gap();
    p.push(Buffer.from('o-rest"}\n\ndata: three\n\n'), 2);
    assert.deepEqual(events, ['one', 'three']);
  });
});

describe('NDJSON splitter', () => {
  test('lines across chunks, CRLF tolerated, blank lines skipped, last line without LF at end', () => {
    const lines: [string, number][] = [];
    const s = new NdjsonSplitter((l, ts) => lines.push([l, ts]), 1 << 16, { lines: 0, oversizeLines: 0 });
    s.push(Buffer.from('{"a":1}\n{"b"'), 1);
    s.push(Buffer.from(':2}\r\n\n{"c":3}'), 2);
    s.end(3);
    assert.deepEqual(lines, [['{"a":1}', 1], ['{"b":2}', 2], ['{"c":3}', 3]]);
  });
  test('oversize lines are dropped and counted', () => {
    const lines: string[] = [];
    const c = { lines: 0, oversizeLines: 0 };
    const s = new NdjsonSplitter((l) => lines.push(l), 16, c);
    s.push(Buffer.from('{"x":"' + 'y'.repeat(40)), 1);
    s.push(Buffer.from('"}\n{"ok":1}\n'), 2);
    assert.deepEqual(lines, ['{"ok":1}']);
    assert.equal(c.oversizeLines, 1);
  });
});

describe('JSON array splitter', async () => {
  const { JsonArraySplitter } = await import('../../src/protocols/json_array.ts');
  const split = (pieces: string[]): [string, number][] => {
    const out: [string, number][] = [];
    const s = new JsonArraySplitter((e, ts) => out.push([e, ts]), 1 << 16, { elements: 0, oversizeElements: 0 });
    pieces.forEach((p, i) => s.push(Buffer.from(p), i));
    return out;
  };
  test('elements with brackets, braces, quotes and escapes inside strings; every split point', () => {
    const els = [{ a: 'x]}"{[' }, { b: [1, { c: '\\"' }] }, { d: 'é' }];
    const text = '[' + els.map((e) => JSON.stringify(e)).join(',\r\n') + ']';
    const whole = split([text]).map(([e]) => JSON.parse(e) as unknown);
    assert.deepEqual(whole, els);
    const bytes = Buffer.from(text);
    for (let i = 1; i < bytes.length; i++) {
      const got: string[] = [];
      const s = new JsonArraySplitter((e) => got.push(e), 1 << 16, { elements: 0, oversizeElements: 0 });
      s.push(bytes.subarray(0, i), 0);
      s.push(bytes.subarray(i), 1);
      assert.deepEqual(got.map((e) => JSON.parse(e) as unknown), els, `split at ${i}`);
    }
  });
  test('an element is timed by the piece that closes it', () => {
    assert.deepEqual(split(['[{"a":', '1},{"b"', ':2}]']).map(([, ts]) => ts), [1, 2]);
  });
});
