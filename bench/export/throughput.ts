// Export cost per call record: metrics only, metrics + OTLP (traces, logs, metrics) to a local
// receiver, + JSONL to /dev/null; and /metrics scrape time at the series cap.
//   node --import tsx bench/export/throughput.ts [records=100000]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOutputs, type OutputsConfig } from '../../src/export/outputs.ts';
import type { CallRecord } from '../../src/llm/records.ts';
import { replayFixture } from '../../test/export/helpers.ts';

const N = Number(process.argv[2] ?? 100_000);
const base = replayFixture().records;

async function receiver(): Promise<{ url: string; bytes: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  const srv = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    bytes: () => bytes,
    close: () => new Promise<void>((r) => { srv.close(() => r()); srv.closeAllConnections(); }),
  };
}

async function run(label: string, config: OutputsConfig, models: number): Promise<void> {
  const out = await createOutputs(config);
  // a pool whose request models cycle through `models` distinct names
  const pool = Math.max(base.length, Math.min(N, models * 2));
  const recs: CallRecord[] = Array.from({ length: pool }, (_, i) => {
    const r = base[i % base.length]!;
    return r.schema === 'llmslo.llm_call/v1' ? { ...r, 'gen_ai.request.model': `m-${i % models}` } : r;
  });
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    out.onRecord(recs[i % recs.length]!);
    // let exporters run, as the event loop would between capture batches
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  const t1 = process.hrtime.bigint();
  const s0 = process.hrtime.bigint();
  const text = await out.metricsText();
  const s1 = process.hrtime.bigint();
  await out.flush();
  const st = out.stats();
  const ns = Number(t1 - t0);
  const heapMiB = (process.memoryUsage().heapUsed - heap0) / 1048576;
  console.log(
    `${label.padEnd(34)} ${(N / (ns / 1e9)).toFixed(0).padStart(8)} rec/s  ${(ns / N / 1000).toFixed(2).padStart(6)} µs/rec  series ${String(st.series).padStart(5)}  scrape ${(Number(s1 - s0) / 1e6).toFixed(1)} ms / ${(text.length / 1024).toFixed(0)} KiB  heap +${heapMiB.toFixed(1)} MiB` +
      (st.otlp ? `  spans ${st.otlp.traces.exported}/${st.otlp.traces.droppedQueueFull} logs ${st.otlp.logs.exported}/${st.otlp.logs.droppedQueueFull} (exported/dropped)` : ''),
  );
  await out.shutdown();
}

const rx = await receiver();
await run('metrics only, 6 models', { prometheus: false }, 6);
await run('metrics only, 5000 models (cap 200)', { prometheus: false }, 5000);
await run('metrics + OTLP traces only', { prometheus: false, otlp: { endpoint: rx.url, metrics: false, logs: 'none' } }, 6);
await run('metrics + OTLP logs only', { prometheus: false, otlp: { endpoint: rx.url, metrics: false, traces: false } }, 6);
await run('metrics + OTLP metrics/traces/logs', { prometheus: false, otlp: { endpoint: rx.url, metricIntervalMs: 1000 } }, 6);
await run('metrics + OTLP + JSONL /dev/null', { prometheus: false, otlp: { endpoint: rx.url, metricIntervalMs: 1000 }, jsonl: { path: '/dev/null' } }, 6);
// paced: a steady rate for a few seconds, the realistic case; drops should be zero
async function paced(rate: number, seconds: number): Promise<void> {
  const out = await createOutputs({ prometheus: false, otlp: { endpoint: rx.url, metricIntervalMs: 1000 }, jsonl: { path: '/dev/null' } });
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  let sent = 0;
  while (Date.now() - t0 < seconds * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) out.onRecord(base[sent % base.length]!);
    await new Promise((r) => setTimeout(r, 5));
  }
  await out.flush();
  const cpu = process.cpuUsage(cpu0);
  const wall = (Date.now() - t0) / 1000;
  const st = out.stats().otlp!;
  console.log(
    `paced ${rate} rec/s for ${seconds} s, all outputs: CPU ${(((cpu.user + cpu.system) / 1e6 / wall) * 100).toFixed(1)}% of a core; spans ${st.traces.exported}/${st.traces.droppedQueueFull}, logs ${st.logs.exported}/${st.logs.droppedQueueFull} (exported/dropped), metric exports ${st.metrics.exports}`,
  );
  await out.shutdown();
}
await paced(0, 4);
await paced(500, 4);
await paced(2000, 4);
console.log(`receiver got ${(rx.bytes() / 1048576).toFixed(1)} MiB of OTLP protobuf`);
await rx.close();
