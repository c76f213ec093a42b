// Every record the pipeline emits validates against the JSON Schemas in schemas/.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asServerSide, fixtureEvents, loadFixtures, resplit, run } from './wire.ts';
import { assertValid, validators } from './validate.ts';

export { assertValid };

describe('JSON Schemas', () => {
  const fixtures = loadFixtures();
  test('every fixture record validates (client side, server side, excerpts on, estimation off)', () => {
    let n = 0;
    for (const fx of fixtures) {
      for (const evs of [fixtureEvents(fx), asServerSide(fixtureEvents(fx))]) {
        for (const opts of [{}, { keepExcerpts: { maxChars: 40 } }, { estimateTokens: false }]) {
          for (const r of run(evs, opts).records) {
            assertValid(r);
            n++;
          }
        }
      }
    }
    assert.ok(n >= fixtures.length * 6);
  });
  test('partial records (truncated captures) validate too', () => {
    let n = 0;
    for (const fx of fixtures) {
      const evs = fixtureEvents(fx);
      // cut every response body write short and report the rest as missing
      let seenHead = false;
      let cuts = 0;
      const cut = evs.map((e) => {
        if (e.kind !== 'data' || e.direction !== 'ingress') return e;
        if (!seenHead) {
          seenHead = true;
          return e;
        }
        if (e.bytes.length <= 20) return e;
        cuts++;
        return { ...e, bytes: e.bytes.subarray(0, e.bytes.length - 7), missingAfter: 7 };
      });
      for (const r of run(resplit(cut, (len) => [len >> 1])).records) {
        assertValid(r);
        if (cuts > 0) assert.equal(r.partial, true, fx.name);
        n++;
      }
    }
    assert.ok(n > 0);
  });
  test('the schema rejects a record with an unknown error class', () => {
    const r = run(fixtureEvents(fixtures.find((f) => f.name === 'openai_chat_stream_usage')!)).records[0]!;
    const v = validators['llmslo.llm_call/v1']!;
    assert.ok(v(r));
    assert.equal(v({ ...r, 'error.type': 'weird' }), false);
    const { time: _t, ...noTime } = r;
    assert.equal(v(noTime), false);
  });
});
