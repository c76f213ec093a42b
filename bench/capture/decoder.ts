// Decoder throughput on a replay: kernel-format batches (a realistic mix: SSE-sized data records
// on many connections, continuation records, TCP state changes) decoded on one core, then decoded
// and assembled into per-connection stream events. Target: >= 1,000,000 events/s decode.
// usage: node --import tsx bench/capture/decoder.ts [--events N]
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeBatch, newDecoderStats } from '../../src/capture/decoder.ts';
import { encodeConn, encodeData } from '../../src/capture/encoder.ts';
import { CapturePipeline } from '../../src/capture/pipeline.ts';
import { ProcessCache } from '../../src/capture/processes.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '2000000' } } });
const N = Number(values.events);
const CONNS = 500;
const sse = (i: number) => `data: {"id":"chatcmpl-${i}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tok${i % 97}"}}]}\n\n`;

// Build ~64 KiB batches like the loader delivers.
const batches: Buffer[] = [];
let cur: Buffer[] = [];
let curLen = 0;
let made = 0;
let ts = 1e12;
while (made < N) {
  const conn = 1 + (made % CONNS);
  let rec: Buffer;
  if (made % 200 === 0) rec = encodeConn({ tsNs: ts, pid: 100 + (conn % 7), connId: conn, tuple: { lport: 30000 + conn, rport: 443 }, oldState: 1, newState: 4 });
  else if (made % 50 === 0) rec = encodeData({ tsNs: ts, pid: 100 + (conn % 7), connId: conn, tuple: { lport: 30000 + conn, rport: 443 }, direction: 'egress', payload: `POST /v1/chat/completions HTTP/1.1\r\nHost: api\r\nContent-Length: 300\r\n\r\n${'x'.repeat(300)}` });
  else rec = encodeData({ tsNs: ts, pid: 100 + (conn % 7), connId: conn, tuple: { lport: 30000 + conn, rport: 443 }, direction: 'ingress', payload: `${sse(made).length.toString(16)}\r\n${sse(made)}\r\n` });
  ts += 1000;
  cur.push(rec);
  curLen += rec.length;
  made++;
  if (curLen >= 64 * 1024) {
    batches.push(Buffer.concat(cur));
    cur = [];
    curLen = 0;
  }
}
if (cur.length) batches.push(Buffer.concat(cur));
const totalBytes = batches.reduce((a, b) => a + b.length, 0);

function timeIt(label: string, fn: () => void): number {
  fn(); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  runs.sort((a, b) => a - b);
  const s = runs[1];
  console.log(`${label}: ${(N / s / 1e6).toFixed(2)} M events/s, ${(totalBytes / s / 1e6).toFixed(0)} MB/s (median of 3, ${N} events, ${(totalBytes / 1e6).toFixed(0)} MB)`);
  return N / s;
}

let sink = 0;
const decodeRate = timeIt('decode', () => {
  const st = newDecoderStats();
  for (const b of batches) decodeBatch(b, () => sink++, st);
});
const assembleRate = timeIt('decode+assemble', () => {
  const p = new CapturePipeline({ payloadCap: 16384, processes: new ProcessCache(1024, null), sink: { onEvent: () => sink++, flush: () => {} } });
  for (const b of batches) p.feedBatch(b);
});
const dir = resolve(import.meta.dirname, '../results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'decoder.json'), JSON.stringify({ when: new Date().toISOString(), events: N, bytes: totalBytes, decode_events_per_s: Math.round(decodeRate), decode_assemble_events_per_s: Math.round(assembleRate), sink }, null, 2));
