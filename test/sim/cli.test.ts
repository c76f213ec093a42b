// The command-line contract other tools script against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const env = { ...process.env, LLMSLO_FROM_SOURCE: '1' };

function cli(args: string[]) {
  return spawnSync(process.execPath, ['bin/llmslo.js', ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

test('sim provider --tls prints `listening on URL`, serves HTTPS with its CA, stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-cli-'));
  const ca = join(dir, 'ca.pem');
  const truth = join(dir, 'truth.jsonl');
  const child = spawn(process.execPath, ['bin/llmslo.js', 'sim', 'provider', '--port', '0', '--tls', '--ca-out', ca, '--truth', truth, '--profile', 'examples/sim/profile.yaml'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => resolve(l));
    child.on('exit', (c) => reject(new Error(`exited ${c}`)));
  });
  assert.match(url, /^listening on https:\/\/127\.0\.0\.1:\d+$/);
  const base = url.slice('listening on '.length);
  assert.ok(existsSync(ca));
  const r = spawnSync('curl', ['-sS', '--cacert', ca, '-D', '-', `${base}/v1/messages`, '-d', '{"model":"claude-sonnet-4-5","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^HTTP\/1\.1 200/);
  assert.match(r.stdout, /request-id: req_/);
  child.kill('SIGTERM');
  const code = await new Promise((res) => child.on('exit', res));
  assert.equal(code, 0);
  const recs = readFileSync(truth, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.length, 1);
  assert.equal(recs[0].tls, true);
});

test('bad command lines give one-line errors and exit 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['sim', 'provider'], /--port is required/],
    [['sim', 'provider', '--port', 'abc'], /--port must be an integer/],
    [['sim', 'provider', '--port', '0', '--profile', '/nonexistent.yaml'], /cannot read profile/],
    [['sim', 'provider', '--port', '0', '--ca-out', '/tmp/x.pem'], /--ca-out needs --tls/],
    [['sim', 'nope'], /unknown subcommand 'nope'/],
    [['sim', 'rag', '--port', '0', '--llm', 'ftp://x', '--vectordb', 'http://127.0.0.1:1'], /--llm must be an http\(s\) URL/],
    [['load'], /--url is required/],
    [['load', '--url', 'http://127.0.0.1:1', '--runner', 'java'], /--runner must be one of/],
    [['load', '--url', 'http://127.0.0.1:1', '--runner', 'anthropic', '--api', 'chat'], /does not speak --api 'chat'/],
    [['load', '--url', 'http://127.0.0.1:1', '--rate', '5', '--concurrency', '2'], /either --rate .* or --concurrency/],
    [['load', '--url', 'http://127.0.0.1:1', '--count', '0'], /--count must be an integer >= 1/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

test('load against a dead port records connection errors, not a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-cli-'));
  const out = join(dir, 'client.jsonl');
  const r = cli(['load', '--url', 'http://127.0.0.1:1', '--runner', 'python', '--count', '3', '--concurrency', '1', '--quiet', '--json', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim());
  assert.equal(summary.errors, 3);
  assert.deepEqual(summary.error_types, { ConnectionRefusedError: 3 });
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 3);
});

test('load CLI with a runner list against a live simulator writes joined client truth', async () => {
  const { startSim } = await import('./helpers.ts');
  const s = await startSim();
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-cli-'));
  const out = join(dir, 'client.jsonl');
  const child = spawn(process.execPath, ['bin/llmslo.js', 'load', '--url', s.url, '--runner', 'fetch,python', '--api', 'messages', '--rate', '20', '--count', '6', '--quiet', '--json', '--traceparent', '--out', out], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  const code = await new Promise((res) => child.on('exit', res));
  assert.equal(code, 0);
  const summary = JSON.parse(stdout.trim());
  assert.equal(summary.ok, 6);
  assert.equal(summary.mode, 'open');
  const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(recs.map((r) => r.runner).sort(), ['fetch', 'fetch', 'fetch', 'python', 'python', 'python']);
  const truth = await s.stop();
  const ids = new Set(truth.map((t) => t.request_id));
  assert.ok(recs.every((r) => ids.has(r.request_id) && /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(r.traceparent)));
});
