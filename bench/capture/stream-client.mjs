// Benchmark client: CONC keep-alive connections issue REQUESTS requests in total (bounded) and
// read every response to the end. Prints one JSON line: {requests, bytes, elapsedMs}.
import http from 'node:http';
import https from 'node:https';

const [port, requests, conc] = process.argv.slice(2, 5).map(Number);
const tls = process.argv[5] === '--tls';
const mod = tls ? https : http;
const agent = new mod.Agent({ keepAlive: true, maxSockets: conc, rejectUnauthorized: false });
let started = 0;
let done = 0;
let bytes = 0;
const t0 = process.hrtime.bigint();

function one() {
  if (started >= requests) return;
  started++;
  const req = mod.request({ host: '127.0.0.1', port, path: '/stream', method: 'POST', agent, rejectUnauthorized: false }, (res) => {
    res.on('data', (d) => (bytes += d.length));
    res.on('end', () => {
      done++;
      if (done === requests) {
        const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
        process.stdout.write(JSON.stringify({ requests: done, bytes, elapsedMs }) + '\n');
        agent.destroy();
      } else one();
    });
  });
  req.on('error', (e) => { console.error(String(e)); process.exit(1); });
  req.end('{"model":"bench","stream":true}');
}
for (let i = 0; i < conc; i++) one();
setTimeout(() => { console.error('client: time limit'); process.exit(1); }, 120_000).unref();
