// Benchmark client: issues REQUESTS requests in total (bounded) over keep-alive connections and
// reads every response to the end. Closed loop (default): CONC requests in flight at all times.
// Open loop (--rate R): a new request every 1/R s, whatever the replies do (up to CONC sockets;
// the rest queue in the agent). Prints one JSON line: {requests, bytes, elapsedMs}.
// usage: node stream-client.mjs PORT REQUESTS CONC [--tls] [--rate R]
import http from 'node:http';
import https from 'node:https';

const [port, requests, conc] = process.argv.slice(2, 5).map(Number);
const tls = process.argv.includes('--tls');
const rateAt = process.argv.indexOf('--rate');
const rate = rateAt > 0 ? Number(process.argv[rateAt + 1]) : 0;
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
      } else if (!rate) one();
    });
  });
  req.on('error', (e) => { console.error(String(e)); process.exit(1); });
  req.end('{"model":"bench","stream":true}');
}

if (rate > 0) {
  // Open loop, paced against absolute times so timer lateness does not accumulate.
  const next = () => {
    const due = Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * rate) + 1;
    while (started < Math.min(due, requests)) one();
    if (started < requests) setTimeout(next, 1);
  };
  next();
} else {
  for (let i = 0; i < conc; i++) one();
}
setTimeout(() => { console.error('client: time limit'); process.exit(1); }, 120_000).unref();
