// The SLO engine on records from the real call pipeline (src/llm), built from the wire fixtures
// the capture tests use: guards the field names in src/slo/record.ts against producer drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureEvents, loadFixtures, run } from '../llm/wire.ts';
import { normalizeRecord } from '../../src/slo/record.ts';
import { classifyForSlo } from '../../src/slo/classify.ts';
import { SloEngine } from '../../src/slo/engine.ts';
import { DEFAULT_BAD_ERROR_TYPES } from '../../src/slo/spec.ts';
import { specFromYaml } from './helpers/scenario.ts';

const SPECS = specFromYaml(`apiVersion: llmslo/v1
service: s
slos:
  - {name: avail, sli: {type: availability}, objective: 99}
  - {name: ttft, sli: {type: ttft, threshold: 2s}, objective: 99}
  - {name: retrieval, sli: {type: retrieval_latency, threshold: 1s}, objective: 99}
  - {name: retrieval-avail, sli: {type: availability, source: retrieval_call}, objective: 99}
`);

test('records from the real call pipeline normalise and classify as their fields say', () => {
  const records = loadFixtures().flatMap((fx) => run(fixtureEvents(fx)).records) as unknown as Record<string, unknown>[];
  assert.ok(records.length >= 20, `expected many fixture records, got ${records.length}`);
  let llm = 0;
  let retrieval = 0;
  let withTtft = 0;
  const engine = new SloEngine(SPECS);
  const expected = { avail: { good: 0, bad: 0 }, ttft: { good: 0, bad: 0 }, retrieval: { good: 0, bad: 0 } };
  for (const r of records) {
    const n = normalizeRecord(r);
    assert.ok(n.ok, `${String(r.schema)} record did not normalise: ${JSON.stringify(n)}`);
    const rec = n.record;
    assert.equal(rec.endMs, Date.parse(r.time as string) + Math.round((r.duration_s as number) * 1000));
    assert.equal(rec.errorType, r['error.type']);
    const errType = r['error.type'] as string | null;
    if (r.schema === 'llmslo.llm_call/v1') {
      llm++;
      assert.equal(rec.source, 'llm_call');
      assert.equal(rec.labels.provider, r['gen_ai.provider.name']);
      assert.equal(rec.labels.model, r['gen_ai.request.model'] ?? undefined);
      assert.equal(rec.labels.server_address, r['server.address']);
      const verdict = classifyForSlo(rec, SPECS[0]!);
      assert.equal(verdict, errType !== null && DEFAULT_BAD_ERROR_TYPES.includes(errType) ? 'bad' : 'good', `${errType}`);
      expected.avail[verdict!]++;
      const ttft = r.ttft_s as number | null;
      if (ttft !== null && errType === null) {
        withTtft++;
        const v = classifyForSlo(rec, SPECS[1]!);
        assert.equal(v, ttft <= 2 ? 'good' : 'bad');
        expected.ttft[v!]++;
      } else assert.equal(classifyForSlo(rec, SPECS[1]!), null);
    } else {
      retrieval++;
      assert.equal(rec.source, 'retrieval_call');
      assert.equal(rec.labels.db_system, r['db.system.name']);
      assert.equal(rec.labels.collection, r['db.collection.name'] ?? undefined);
      const v = classifyForSlo(rec, SPECS[2]!);
      if (v) expected.retrieval[v]++;
    }
    engine.observe(r, rec.endMs!);
  }
  assert.ok(llm > 0 && retrieval > 0 && withTtft > 0, `llm ${llm}, retrieval ${retrieval}, with ttft ${withTtft}`);
  assert.ok(expected.avail.bad > 0 && expected.avail.good > 0, 'fixtures hold both failing and succeeding calls');
  assert.deepEqual(engine.stats.dropped, {});
  // The fixture clock puts all records within seconds of each other: the period holds them all.
  const last = Math.max(...records.map((r) => Date.parse(r.time as string) + (r.duration_s as number) * 1000)) + 1;
  const st = Object.fromEntries(engine.evaluate(last).map((s) => [s.slo, { good: s.period_good, bad: s.period_bad }]));
  assert.deepEqual({ avail: st.avail, ttft: st.ttft, retrieval: st.retrieval }, expected);
});
