// `--jsonl`: one record per line, every line valid against its JSON Schema in schemas/, no prompt
// or completion text unless both the capture kept excerpts and the export opted in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { createOutputs } from '../../src/export/outputs.ts';
import { JsonlWriter } from '../../src/export/jsonl.ts';
import type { SloAlertEvent } from '../../src/slo/alert_event.ts';
import { replayFixture } from './helpers.ts';
import { asServerSide, fixtureEvents, loadFixtures, run } from '../llm/wire.ts';

const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const schemaDir = new URL('../../schemas/', import.meta.url);
const validators = new Map<string, ValidateFunction>();
for (const f of readdirSync(schemaDir)) {
  if (!f.endsWith('.json')) continue;
  const s = JSON.parse(readFileSync(new URL(f, schemaDir), 'utf8')) as { title?: string };
  if (s.title) validators.set(s.title, ajv.compile(s));
}

function validate(line: string): string {
  const obj = JSON.parse(line) as { schema?: string };
  assert.ok(obj.schema, `no schema field: ${line.slice(0, 120)}`);
  const v = validators.get(obj.schema);
  assert.ok(v, `no JSON Schema titled ${obj.schema} in schemas/`);
  assert.ok(v(obj), `${obj.schema}: ${ajv.errorsText(v.errors)}`);
  return obj.schema;
}

const alert: SloAlertEvent = {
  schema: 'llmslo.slo_alert/v1',
  time: '2026-12-04T17:00:00.000Z',
  slo: 'chat-ttft',
  service: 'chat',
  sli: 'ttft',
  severity: 'page',
  state: 'firing',
  since: '2026-12-04T16:58:00.000Z',
  objective: 0.99,
  period: '28d',
  error_budget_remaining: 0.7,
  windows: [{ long: '1h', short: '5m', factor: 14.4, long_burn_rate: 20, short_burn_rate: 30, long_events: 100, short_events: 10, active: true }],
  labels: { namespace: 'default' },
};

test('every record from the fixture replay and the wire fixtures validates, one per line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-jsonl-'));
  const path = join(dir, 'out.jsonl');
  const out = await createOutputs({ prometheus: false, jsonl: { path } });
  const replay = replayFixture({ keepExcerpts: true });
  let n = 0;
  for (const r of replay.records) {
    out.onRecord(r);
    n++;
  }
  // wire fixtures: retrieval calls, provider errors, both sides
  for (const fx of loadFixtures()) {
    for (const evs of [fixtureEvents(fx), asServerSide(fixtureEvents(fx))]) {
      for (const r of run(evs).records) {
        out.onRecord(r);
        n++;
      }
    }
  }
  out.onSloAlert(alert);
  await out.shutdown();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, n + 1);
  const kinds = new Map<string, number>();
  for (const l of lines) {
    const k = validate(l);
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  assert.ok((kinds.get('llmslo.llm_call/v1') ?? 0) >= 60);
  assert.ok((kinds.get('llmslo.retrieval_call/v1') ?? 0) >= 5, JSON.stringify([...kinds]));
  assert.equal(kinds.get('llmslo.slo_alert/v1'), 1);
  // privacy: excerpts were captured but not opted in for export
  assert.ok(replay.records.some((r) => 'excerpts' in r));
  assert.ok(lines.every((l) => !l.includes('"excerpts"')));
  const prompt = replay.records.map((r) => (r.schema === 'llmslo.llm_call/v1' ? r.excerpts?.prompt : null)).find(Boolean)!;
  assert.ok(!lines.some((l) => l.includes(prompt)));
});

test('excerpts only with the explicit export option (and only when captured)', async () => {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const out = await createOutputs({ prometheus: false, jsonl: { stream: sink }, privacy: { includeExcerpts: true } });
  const withText = replayFixture({ keepExcerpts: true }).records;
  const without = replayFixture().records;
  out.onRecord(withText[0]!);
  out.onRecord(without[0]!);
  await out.shutdown();
  const [a, b] = Buffer.concat(chunks).toString().trim().split('\n').map((l) => JSON.parse(l) as { excerpts?: unknown });
  assert.ok(a!.excerpts, 'opted-in record keeps its excerpts');
  assert.equal(b!.excerpts, undefined, 'nothing is invented when the capture kept no text');
  validate(JSON.stringify(a));
});

test('a slow reader: lines past the buffer bound are dropped and counted', () => {
  // a writable that never drains
  const stuck = new Writable({ highWaterMark: 1024, write: () => {} });
  const w = new JsonlWriter({ stream: stuck, maxBufferedBytes: 64 * 1024 });
  const rec = replayFixture().records[0]!;
  for (let i = 0; i < 5000; i++) w.write(rec);
  const s = w.stats();
  assert.equal(s.written + s.dropped, 5000);
  assert.ok(s.dropped > 4000, `dropped ${s.dropped}`);
  assert.ok(s.bufferedBytes < 64 * 1024 + 4096, `buffered ${s.bufferedBytes}`);
});

test('a bad path fails at start with one line', async () => {
  assert.throws(() => new JsonlWriter({ path: '/nonexistent-dir/x.jsonl' }), /^Error: jsonl: cannot open \/nonexistent-dir\/x\.jsonl: ENOENT$/);
  await assert.rejects(createOutputs({ prometheus: false, jsonl: { path: '/nonexistent-dir/x.jsonl' } }), /jsonl: cannot open/);
});

test('a write error (reader gone) is reported once, then lines are counted as dropped', async () => {
  const msgs: string[] = [];
  const broken = new Writable({
    write: (_c, _e, cb) => {
      const err = new Error('write EPIPE') as NodeJS.ErrnoException;
      err.code = 'EPIPE';
      cb(err);
    },
  });
  const w = new JsonlWriter({ stream: broken, onError: (m) => msgs.push(m) });
  w.write({ schema: 'x' });
  await new Promise((r) => setImmediate(r));
  w.write({ schema: 'x' });
  w.write({ schema: 'x' });
  assert.equal(msgs.length, 1);
  assert.match(msgs[0]!, /cannot write stream: reader went away/);
  assert.equal(w.stats().written, 1);
  assert.equal(w.stats().dropped, 2);
  await w.close();
});
