// Bad recordings: every kind of damage gives a one-line error naming the file and the problem,
// frames before the damage are still delivered, and the CLI exits non-zero without a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readRecording, RecordingError, RecordingWriter } from '../../src/capture/recording.ts';
import { encodeData } from '../../src/capture/encoder.ts';

const cli = resolve(import.meta.dirname, '../../bin/llmslo.js');
const header = { created: '2026-12-04T00:00:00Z', monoNsAtStart: 1000, wallMsAtStart: 1_700_000_000_000, hostname: 'h', kernel: 'k', payloadCap: 16384, tool: 't' };

function makeRecording(dir: string): string {
  const file = join(dir, 'good.llmslo');
  const w = new RecordingWriter(file, header);
  for (let i = 0; i < 5; i++) {
    w.writeBatch(Buffer.concat([
      encodeData({ tsNs: 2000 + i, pid: 42, connId: 1 + i, tuple: { lport: 1000 + i, rport: 80 }, direction: 'egress', payload: `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n` }),
      encodeData({ tsNs: 3000 + i, pid: 42, connId: 1 + i, tuple: { lport: 1000 + i, rport: 80 }, direction: 'ingress', payload: 'HTTP/1.1 204 No Content\r\n\r\n' }),
    ]));
  }
  w.writeMeta({ processes: [{ pid: 42, comm: 'curl', exe: '/usr/bin/curl', cgroupPath: null, exited: true }] });
  w.close();
  return file;
}

function replayCli(file: string) {
  return spawnSync(process.execPath, [cli, 'replay', file], { encoding: 'utf8', env: { ...process.env, LLMSLO_FROM_SOURCE: '1' } });
}

test('a good recording replays through the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-rec-'));
  try {
    const file = makeRecording(dir);
    const r = replayCli(file);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter((l) => l.includes(' open conn=')).length, 5);
    assert.match(r.stderr, /replayed 6 frames, 10 records/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('damaged recordings fail with one clear line and keep the intact frames', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-rec-'));
  try {
    const good = readFileSync(makeRecording(dir));
    const cases: Array<[string, Buffer, RegExp, number]> = [
      ['empty', Buffer.alloc(0), /not an llmslo recording/, 0],
      ['garbage', Buffer.from('this is not a recording at all, just text'), /bad magic/, 0],
      ['future format', (() => { const b = Buffer.from(good); b.writeUInt32LE(99, 8); return b; })(), /format version 99 is not supported/, 0],
      ['truncated mid-frame', good.subarray(0, good.length - 40), /truncated at byte/, 5],
      ['truncated header', good.subarray(0, 30), /truncated header/, 0],
      ['flipped payload byte', (() => { const b = Buffer.from(good); b[200] ^= 0xff; return b; })(), /checksum mismatch/, 0],
      ['absurd frame length', (() => { const b = Buffer.from(good); const first = 20 + b.readUInt32LE(16); b.writeUInt32LE(0xfffffff0, first + 4); return b; })(), /exceeds/, 0],
    ];
    for (const [name, bytes, re, intact] of cases) {
      const file = join(dir, `${name.replace(/ /g, '-')}.llmslo`);
      writeFileSync(file, bytes);
      let batches = 0;
      assert.throws(() => readRecording(file, { onBatch: () => batches++ }), (err: unknown) => err instanceof RecordingError && re.test(err.message) && !err.message.includes('\n'), name);
      assert.equal(batches, intact, `${name}: intact frames delivered`);
      const r = replayCli(file);
      assert.equal(r.status, 1, `${name}: exit code`);
      const lines = r.stderr.trim().split('\n');
      assert.match(lines[lines.length - 1], /^llmslo: replay: .*\.llmslo: /, `${name}: one-line error`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
    }
    const missing = replayCli(join(dir, 'nope.llmslo'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot open \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cli rejects bad options with exit code 2 and one line', () => {
  const r = spawnSync(process.execPath, [cli, 'capture', '--payload-cap', 'lots'], { encoding: 'utf8', env: { ...process.env, LLMSLO_FROM_SOURCE: '1' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr.trim(), /^llmslo: capture: --payload-cap must be an integer/);
});
