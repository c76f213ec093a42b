// The JSON Schemas in schemas/, compiled once, for tests that check records against them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { CallRecord } from '../../src/llm/records.ts';

const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;
export const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const load = (name: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8')) as object);
export const validators: Record<string, ValidateFunction> = {
  'llmslo.llm_call/v1': load('llmslo.llm_call.v1.json'),
  'llmslo.retrieval_call/v1': load('llmslo.retrieval_call.v1.json'),
  'llmslo.server_request/v1': load('llmslo.server_request.v1.json'),
};

export function assertValid(r: CallRecord): void {
  const v = validators[r.schema];
  assert.ok(v, `unknown schema ${r.schema}`);
  assert.ok(v(r), `${r.schema}: ${ajv.errorsText(v.errors)}\n${JSON.stringify(r)}`);
}
