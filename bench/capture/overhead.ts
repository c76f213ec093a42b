// Capture overhead benchmark (issue: kernel capture plane).
//
// One run, same workload, alternating phases WITHOUT and WITH the probes attached (and the full
// user-space decode + assembly pipeline consuming the ring buffer in this process):
//   a Node server streams CHUNKS small chunked writes per response over keep-alive connections,
//   a Node client reads them; plaintext and TLS separately.
// Reports per mode: chunks/s and the throughput ratio, CPU per chunk (server + client processes,
// user + kernel, which includes in-kernel BPF time; plus this agent process), the added CPU per
// chunk, probe hits per chunk, ring-buffer records per chunk and lost records.
//
// usage: node --import tsx bench/capture/overhead.ts [--requests N] [--chunks N] [--conc N] [--rounds N] [--mode plain|tls|both]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LiveCapture } from '../../src/capture/live.ts';
import { cpuSecondsOf } from '../lib/process.ts';
import { CapturePipeline } from '../../src/capture/pipeline.ts';

const here = import.meta.dirname;
const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1200' },
    chunks: { type: 'string', default: '100' },
    bytes: { type: 'string', default: '80' },
    conc: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    mode: { type: 'string', default: 'both' },
    floor: { type: 'string' },
    // Open loop: offered chunks/s (requests/s = rate / chunks). 0 = closed loop, as fast as possible.
    rate: { type: 'string', default: '0' },
  },
});
const REQUESTS = Number(values.requests);
const CHUNKS = Number(values.chunks);
const CONC = Number(values.conc);
const ROUNDS = Number(values.rounds);
const RATE = Number(values.rate);

function startServer(tls: boolean, certDir: string): Promise<{ child: ChildProcess; port: number }> {
  const args = [join(here, 'stream-server.mjs'), String(CHUNKS), values.bytes!];
  if (tls) args.push('--tls', join(certDir, 'cert.pem'), join(certDir, 'key.pem'));
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.once('data', (d) => {
      const m = /listening (\d+)/.exec(String(d));
      if (m) res({ child, port: Number(m[1]) });
      else rej(new Error(`server said ${d}`));
    });
    child.on('error', rej);
  });
}

interface PhaseResult {
  probes: boolean;
  chunks: number;
  seconds: number;
  chunksPerSec: number;
  workloadCpuPerChunkUs: number;
  agentCpuPerChunkUs: number;
  sslHitsPerChunk: number;
  recordsPerChunk: number;
  lost: number;
  bpfNsPerChunk: number;
  agentUserUs: number;
  agentSystemUs: number;
}

async function phase(tls: boolean, server: { child: ChildProcess; port: number }, probes: boolean): Promise<PhaseResult> {
  let capture: LiveCapture | null = null;
  let pipeline: CapturePipeline | null = null;
  if (probes) {
    capture = LiveCapture.open({ tlsRescanIntervalMs: 0 });
    capture.enableRunTimeStats();
    pipeline = new CapturePipeline({ payloadCap: 16 * 1024, sink: { onEvent: () => {}, flush: () => {} } });
    const p = pipeline;
    capture.onBatch((b) => p.feedBatch(b));
    capture.start();
    await new Promise((r) => setTimeout(r, 300));
  }
  const before = capture?.stats();
  const progBefore = capture?.programStats();
  const agentBefore = process.cpuUsage();
  const serverCpu0 = cpuSecondsOf(server.child.pid!);
  const t0 = process.hrtime.bigint();
  const client = spawn(process.execPath, [join(here, 'stream-client.mjs'), String(server.port), String(REQUESTS), String(RATE ? Math.max(CONC, 32) : CONC), ...(tls ? ['--tls'] : []), ...(RATE ? ['--rate', String(RATE / CHUNKS)] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  client.stdout!.on('data', (d) => (out += d));
  let clientCpu = 0;
  const sampler = setInterval(() => {
    try {
      clientCpu = cpuSecondsOf(client.pid!);
    } catch {
      /* exited */
    }
  }, 20);
  const code: number = await new Promise((r) => client.on('close', (c) => r(c ?? 1)));
  clearInterval(sampler);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`client failed (${code})`);
  capture?.drain();
  const agentCpu = process.cpuUsage(agentBefore);
  const serverCpu = cpuSecondsOf(server.child.pid!) - serverCpu0;
  const chunks = REQUESTS * CHUNKS;
  let sslHits = 0, records = 0, lost = 0, bpfNs = 0;
  if (capture && before && progBefore) {
    const after = capture.stats();
    sslHits = after.kernelByName.ssl_hits + after.kernelByName.ssl_ret_hits - before.kernelByName.ssl_hits - before.kernelByName.ssl_ret_hits;
    records = after.records - before.records;
    lost = after.kernelByName.ringbuf_drops - before.kernelByName.ringbuf_drops;
    const progAfter = capture.programStats();
    for (const [name, s] of Object.entries(progAfter)) bpfNs += s.runTimeNs - (progBefore[name]?.runTimeNs ?? 0);
    capture.close();
  }
  JSON.parse(out);
  return {
    probes,
    chunks,
    seconds,
    chunksPerSec: chunks / seconds,
    workloadCpuPerChunkUs: ((serverCpu + clientCpu) / chunks) * 1e6,
    agentCpuPerChunkUs: (agentCpu.user + agentCpu.system) / chunks,
    agentUserUs: agentCpu.user,
    agentSystemUs: agentCpu.system,
    sslHitsPerChunk: sslHits / chunks,
    recordsPerChunk: records / chunks,
    lost,
    bpfNsPerChunk: bpfNs / chunks,
  };
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

async function runMode(tls: boolean, certDir: string, floorHitUs: number | null) {
  const server = await startServer(tls, certDir);
  try {
    // Warm-up, both ways: JIT tiers of the server, client and this agent's decoder settle first.
    await phase(tls, server, false);
    await phase(tls, server, true);
    const off: PhaseResult[] = [];
    const on: PhaseResult[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      off.push(await phase(tls, server, false));
      on.push(await phase(tls, server, true));
    }
    const offRate = mean(off.map((p) => p.chunksPerSec));
    const onRate = mean(on.map((p) => p.chunksPerSec));
    const offCpu = mean(off.map((p) => p.workloadCpuPerChunkUs));
    const onCpu = mean(on.map((p) => p.workloadCpuPerChunkUs));
    // This process also spawns and samples the client: only its CPU above the probe-less phases is the agent's.
    const agent = mean(on.map((p) => p.agentCpuPerChunkUs)) - mean(off.map((p) => p.agentCpuPerChunkUs));
    const hits = mean(on.map((p) => p.sslHitsPerChunk));
    const summary = {
      mode: tls ? 'tls' : 'plain',
      offered_chunks_per_s: RATE || 'max (closed loop)',
      chunks_per_phase: REQUESTS * CHUNKS,
      rounds: ROUNDS,
      chunks_per_s_without: Math.round(offRate),
      chunks_per_s_with: Math.round(onRate),
      throughput_ratio: +(onRate / offRate).toFixed(3),
      workload_cpu_us_per_chunk_without: +offCpu.toFixed(3),
      workload_cpu_us_per_chunk_with: +onCpu.toFixed(3),
      agent_cpu_us_per_chunk: +agent.toFixed(3),
      added_cpu_us_per_chunk: +(onCpu - offCpu + agent).toFixed(3),
      bpf_program_ns_per_chunk: +mean(on.map((p) => p.bpfNsPerChunk)).toFixed(1),
      probe_hits_per_chunk: +hits.toFixed(3),
      ring_records_per_chunk: +mean(on.map((p) => p.recordsPerChunk)).toFixed(3),
      lost_records: on.reduce((a, p) => a + p.lost, 0),
      ...(tls && floorHitUs !== null
        ? { floor_us_per_hit: floorHitUs, budget_us_per_chunk: +(1.25 * hits * floorHitUs).toFixed(3), within_budget: onCpu - offCpu + agent <= 1.25 * hits * floorHitUs }
        : {}),
      phases: { without: off, with: on },
    };
    return summary;
  } finally {
    server.child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const certDir = mkdtempSync(join(tmpdir(), 'llmslo-bench-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  let floorHitUs: number | null = null;
  const floorFile = values.floor ?? resolve(here, '../results/probe-floor.json');
  try {
    const f = JSON.parse(readFileSync(floorFile, 'utf8')) as { uprobe_hit_ns: number };
    floorHitUs = f.uprobe_hit_ns / 1000;
  } catch {
    console.error(`(no probe floor at ${floorFile}: run bench/capture/floor.ts first for the TLS budget)`);
  }
  const results: object[] = [];
  // The tax on unrelated I/O: every write() on the node passes the syscall tracepoints.
  const floorBin = resolve(here, '../../bpf/.output/floor');
  execFileSync('make', ['-s', '-C', here], { stdio: 'inherit' });
  const timeWrites = () => (JSON.parse(execFileSync(floorBin, ['--writes-only', '200000'], { encoding: 'utf8' })) as { write_ns: number }).write_ns;
  const taxOff = timeWrites();
  const taxCapture = LiveCapture.open({ tls: false });
  taxCapture.start();
  const taxOn = timeWrites();
  taxCapture.close();
  results.push({ mode: 'unrelated-write-tax', write_ns_without: taxOff, write_ns_with: taxOn, added_ns_per_write: +(taxOn - taxOff).toFixed(1) });
  try {
    if (values.mode !== 'tls') results.push(await runMode(false, certDir, floorHitUs));
    if (values.mode !== 'plain') results.push(await runMode(true, certDir, floorHitUs));
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
  for (const r of results) {
    const { phases, ...flat } = r as { phases?: unknown };
    void phases;
    console.log(JSON.stringify(flat));
  }
  const dir = resolve(here, '../results');
  mkdirSync(dir, { recursive: true });
  // The machine's load during the run: figures from a busy machine are pessimistic.
  writeFileSync(join(dir, RATE ? `capture-overhead-rate${RATE}.json` : 'capture-overhead.json'), JSON.stringify({ when: new Date().toISOString(), loadavg: loadavg(), cpus: cpus().length, results }, null, 2));
}

await main();
