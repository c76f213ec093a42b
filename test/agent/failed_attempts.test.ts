// `llmslo run` as root with real eBPF: when LLM servers that answered calls become unreachable,
// a client's attempts that never send a request are failed calls, in JSONL and on the Prometheus
// endpoint, though no HTTP byte ever flowed: a refused connect to the server's address
// (connection_refused), a failed name lookup through a real resolver answering SERVFAIL
// (dns_failure), a lookup a blackholed resolver never answers (dns_failure, no_answer), a refused
// connect to a new address that resolver gave the server's name, and a
// TLS handshake the client aborts because it does not trust the server's certificate
// (tls_failure: curl sends an alert; Node checks after the handshake and just closes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run, startPeer } from '../helpers/ebpf.ts';
import { AGENT_TEST_ENV, cli, requireRoot, startAgent } from '../helpers/agent.ts';

const dnsServer = resolve(import.meta.dirname, '../fixtures/capture/dns_server.py');
const NAME = 'llm-test.example';
const MOVED = 'llm-moved.example';
const MOVED_TO = '127.0.0.88'; // nothing listens there
const RESOLVER = '127.0.0.77';
const SILENT_RESOLVER = '127.0.0.76';

test('a refused connect to and a failed lookup of an LLM server that answered before are failed calls', { timeout: 180_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-unsent-'));
  const jsonl = join(dir, 'calls.jsonl');
  const env = AGENT_TEST_ENV;
  const agent = await startAgent(['--jsonl', jsonl], env);
  const dns = await startPeer('/usr/bin/python3', [dnsServer, RESOLVER, '2', `${MOVED}=${MOVED_TO}`], /^listening$/);
  const silentDns = await startPeer('/usr/bin/python3', [dnsServer, SILENT_RESOLVER, '-1'], /^listening$/);
  try {
    const metricsUrl = agent.metricsUrl!;
    const sim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0'], /listening on (\S+)/, env);
    const url = sim.match[1]!;
    const port = Number(new URL(url).port);
    const body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}';
    const curlArgs = (host: string) => ['-sS', '-o', '/dev/null', '-H', 'content-type: application/json', '--data', body, `http://${host}:${port}/v1/chat/completions`];
    try {
      const ran = await run(process.execPath, [cli, 'load', '--url', url, '--runner', 'openai', '--count', '2', '--concurrency', '1', '--quiet', '--out', join(dir, 'client.jsonl')], { env, timeoutMs: 90_000 });
      assert.equal(ran.code, 0, ran.stderr);
      // the same server under two names: the agent learns them from the Host header
      for (const name of [NAME, MOVED]) {
        const named = await run('curl', ['--resolve', `${name}:${port}:127.0.0.1`, ...curlArgs(name)]);
        assert.equal(named.code, 0, named.stderr);
      }
    } finally {
      sim.child.kill('SIGTERM');
      if (sim.child.exitCode === null) await new Promise((r) => sim.child.once('exit', r));
    }
    // a TLS server the client trusted once (its CA given), then not (no CA): the handshake fails
    const caFile = join(dir, 'ca.pem');
    const tlsSim = await startPeer(process.execPath, [cli, 'sim', 'provider', '--port', '0', '--tls', '--ca-out', caFile], /listening on (\S+)/, env);
    const tlsPort = Number(new URL(tlsSim.match[1]!).port);
    let untrusted: Awaited<ReturnType<typeof run>>;
    let nodeUntrusted: Awaited<ReturnType<typeof run>>;
    try {
      const trusted = await run('curl', ['--cacert', caFile, ...curlArgs('127.0.0.1').slice(0, -1), `https://127.0.0.1:${tlsPort}/v1/chat/completions`]);
      assert.equal(trusted.code, 0, trusted.stderr);
      untrusted = await run('curl', [...curlArgs('127.0.0.1').slice(0, -1), `https://127.0.0.1:${tlsPort}/v1/chat/completions`]);
      assert.equal(untrusted.code, 60, `curl: certificate problem expected: ${untrusted.stderr}`);
      // Node (OpenSSL inside the executable) rejecting the same certificate: it checks after the
      // handshake and closes without an alert
      nodeUntrusted = await run(process.execPath, ['-e', `require('https').request('https://127.0.0.1:${tlsPort}/v1/chat/completions',{method:'POST'}).on('error',e=>{console.error(e.code);process.exit(3)}).end('{}')`]);
      assert.equal(nodeUntrusted.code, 3, nodeUntrusted.stderr);
    } finally {
      tlsSim.child.kill('SIGTERM');
      if (tlsSim.child.exitCode === null) await new Promise((r) => tlsSim.child.once('exit', r));
    }

    // the server is down now: the next call cannot even connect
    const refused = await run('curl', curlArgs('127.0.0.1'));
    assert.equal(refused.code, 7, `curl: connection refused expected: ${refused.stderr}`);
    // and its name no longer resolves: a resolver answering SERVFAIL, seen through a resolv.conf
    // bind-mounted in a mount namespace of its own (the host's is untouched)
    const resolvConf = (resolver: string): string => {
      const f = join(dir, `resolv-${resolver}.conf`);
      writeFileSync(f, `nameserver ${resolver}\noptions attempts:1 timeout:1\n`);
      return f;
    };
    const withResolver = (name: string, resolver = RESOLVER) => run('unshare', ['-m', 'sh', '-c', `mount --bind ${resolvConf(resolver)} /etc/resolv.conf && exec curl ${curlArgs(name).map((a) => `'${a}'`).join(' ')}`]);
    const unresolved = await withResolver(NAME);
    assert.equal(unresolved.code, 6, `curl: could not resolve expected: ${unresolved.stderr}`);
    // the other name now resolves to an address no call ever reached, where nothing listens
    const moved = await withResolver(MOVED);
    assert.equal(moved.code, 7, `curl: connection refused expected: ${moved.stderr}`);
    // and a resolver that answers nothing: curl gives up after its 1 s, the agent tells 5 s after the query
    const unanswered = await withResolver(NAME, SILENT_RESOLVER);
    assert.equal(unanswered.code, 6, `curl: could not resolve expected: ${unanswered.stderr}`);

    // calls by error type on the Prometheus endpoint (summed over the other labels)
    const countOf = (text: string, type: string): number =>
      [...text.matchAll(new RegExp(`gen_ai_client_operation_duration_seconds_count\\{[^}]*error_type="${type}"[^}]*\\} (\\d+)`, 'g'))].reduce((n, m) => n + Number(m[1]), 0);
    let text = '';
    // (the agent publishes its own counters every 5 s)
    const unansweredCounted = /llmslo_unsent_calls_total\{[^}]*llmslo_reason="dns_unanswered"[^}]*\} 1\b/;
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(metricsUrl)).text();
      if (countOf(text, 'connection_refused') >= 2 && countOf(text, 'dns_failure') >= 2 && countOf(text, 'tls_failure') >= 2 && unansweredCounted.test(text)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(countOf(text, 'connection_refused'), 2);
    assert.equal(countOf(text, 'dns_failure'), 2);
    assert.match(text, unansweredCounted);
    assert.equal(countOf(text, 'tls_failure'), 2);
    assert.equal(await agent.stop(), 0, agent.stderr());
    const recs = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ok = recs.filter((r) => r.observed_side === 'client' && r['error.type'] === null && r['server.port'] === port);
    assert.equal(ok.length, 4, 'the four calls before the outage');
    const tlsOk = recs.filter((r) => r.observed_side === 'client' && r['error.type'] === null && r['server.port'] === tlsPort);
    assert.equal(tlsOk.length, 1, 'the trusted TLS call');
    const tlsFailed = recs.filter((r) => r['error.type'] === 'tls_failure');
    assert.equal(tlsFailed.length, 2, JSON.stringify(tlsFailed));
    const tf = tlsFailed.find((r) => (r.process as { pid: number }).pid === untrusted.pid)!;
    assert.ok(tf, "curl's handshake");
    const nf = tlsFailed.find((r) => (r.process as { pid: number }).pid === nodeUntrusted.pid);
    assert.ok(nf, "node's handshake");
    assert.match(String(nf['error.provider_code']), /^(closed_without_data|alert_sent:\w+)$/);
    assert.equal(tf['server.port'], tlsPort);
    assert.equal(tf.capture, 'tls');
    assert.match(String(tf['error.provider_code']), /^alert_sent:(encrypted|unknown_ca|bad_certificate)$/);
    assert.equal(tf['gen_ai.request.model'], tlsOk[0]!['gen_ai.request.model']);
    const model = ok[0]!['gen_ai.request.model'];

    const conn = recs.filter((r) => r['error.type'] === 'connection_refused');
    assert.equal(conn.length, 2, JSON.stringify(conn));
    const c = conn.find((r) => (r.process as { pid: number }).pid === refused.pid)!;
    assert.equal(c.schema, 'llmslo.llm_call/v1');
    assert.ok(c, "curl's attempt on the server's address");
    assert.equal(c['server.port'], port);
    assert.equal(c['gen_ai.provider.name'], ok[0]!['gen_ai.provider.name']);
    assert.equal(c['gen_ai.request.model'], model, "this workload's model at that endpoint");
    assert.equal(c['gen_ai.operation.name'], 'chat');
    assert.equal(c['error.source'], 'transport');
    assert.equal(c['http.response.status_code'], null);
    assert.ok(typeof c.duration_s === 'number' && c.duration_s >= 0 && c.duration_s < 5, `connect attempt ${c.duration_s}`);

    const m = conn.find((r) => (r.process as { pid: number }).pid === moved.pid);
    assert.ok(m, "curl's attempt on the moved name's new address");
    assert.equal(m['server.address'], MOVED);
    assert.equal(m['server.port'], port);
    assert.equal(m['gen_ai.request.model'], model);

    const lookups = recs.filter((r) => r['error.type'] === 'dns_failure');
    assert.equal(lookups.length, 2, `A and AAAA of one lookup are one failed call: ${JSON.stringify(lookups)}`);
    const d = lookups.find((r) => (r.process as { pid: number }).pid === unresolved.pid)!;
    assert.ok(d, "curl's lookup answered SERVFAIL");
    const u = lookups.find((r) => (r.process as { pid: number }).pid === unanswered.pid)!;
    assert.ok(u, "curl's lookup nobody answered");
    assert.equal(u['error.provider_code'], 'no_answer');
    assert.equal(u['server.address'], NAME);
    assert.equal(u['gen_ai.request.model'], model);
    assert.ok(typeof u.duration_s === 'number' && u.duration_s >= 5 && u.duration_s < 6, `unanswered for 5 s: ${u.duration_s}`);
    assert.equal(d['error.provider_code'], 'SERVFAIL');
    assert.equal(d['server.address'], NAME);
    assert.equal(d['server.port'], port);
    assert.equal(d['gen_ai.request.model'], model);
  } finally {
    dns.child.kill('SIGTERM');
    silentDns.child.kill('SIGTERM');
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
