import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { SloRuntime, SloSpecError } from '../../src/slo/runtime.ts';
import { callRecord } from './helpers/scenario.ts';

test('SloRuntime: loads specs and state, saves on stop, survives a corrupt state file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-slo-rt-'));
  try {
    const spec = join(dir, 'slo.yaml');
    writeFileSync(spec, 'apiVersion: llmslo/v1\nservice: s\nslos: [{name: a, sli: {type: availability}, objective: 99}]\n');
    const statePath = join(dir, 'state.json');
    const warnings: string[] = [];
    const rt = await SloRuntime.start({ specFiles: [spec], statePath, registry: new Registry(), onWarning: (m) => warnings.push(m) });
    const now = Date.now();
    for (let i = 0; i < 50; i++) rt.observe(callRecord(now - i * 1000, i < 5));
    await rt.stop();

    const rt2 = await SloRuntime.start({ specFiles: [spec], statePath, registry: new Registry(), onWarning: (m) => warnings.push(m) });
    const [st] = rt2.status();
    assert.deepEqual([st!.period_good, st!.period_bad], [45, 5], 'counts survive the restart');
    await rt2.stop();
    assert.equal(warnings.length, 0, warnings.join("\n"));

    writeFileSync(statePath, 'garbage');
    const rt3 = await SloRuntime.start({ specFiles: [spec], statePath, onWarning: (m) => warnings.push(m) });
    assert.match(warnings[0]!, /ignoring state: .*state\.json: not valid JSON/);
    assert.equal(rt3.status()[0]!.period_good, 0);
    await rt3.stop();

    writeFileSync(spec, 'apiVersion: llmslo/v1\nservice: s\nslos: [{name: a, sli: {type: nope}, objective: 99}]\n');
    await assert.rejects(SloRuntime.start({ specFiles: [spec], statePath: null }), (e: unknown) => e instanceof SloSpecError && /slo\.yaml:3:30: slos\[0\]\.sli\.type/.test(e.problems[0]!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SloRuntime: a failing save is counted and reported, not thrown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-slo-rt-'));
  try {
    const spec = join(dir, 'slo.yaml');
    writeFileSync(spec, 'apiVersion: llmslo/v1\nservice: s\nslos: [{name: a, sli: {type: availability}, objective: 99}]\n');
    const registry = new Registry();
    const warnings: string[] = [];
    const rt = await SloRuntime.start({ specFiles: [spec], statePath: join(dir, 'no-such-dir', 'state.json'), registry, onWarning: (m) => warnings.push(m) });
    await rt.stop();
    assert.match(warnings.join('\n'), /saving state to .*no-such-dir\/state\.json failed/);
    assert.match(await registry.metrics(), /llmslo_slo_state_save_failures_total 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
