// Benchmark peer: an HTTP(S) server that answers every request with CHUNKS small chunked-encoding
// writes (each one a separate write() / SSL_write), like an SSE token stream without delays.
// usage: node stream-server.mjs CHUNKS CHUNK_BYTES [--tls CERT KEY]; prints "listening PORT".
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';

const chunks = Number(process.argv[2]);
const size = Number(process.argv[3]);
const tls = process.argv[4] === '--tls';
const piece = `data: ${'x'.repeat(Math.max(1, size - 8))}\n\n`;
let written = 0;

function handler(req, res) {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // One chunk per event-loop turn: each becomes its own write()/SSL_write, as a token stream
    // does (written back-to-back in one turn, Node would coalesce them into a few writev calls).
    let i = 0;
    const next = () => {
      if (i++ < chunks) {
        res.write(piece);
        setImmediate(next);
      } else {
        written += chunks;
        res.end();
      }
    };
    next();
  });
}

const server = tls
  ? https.createServer({ cert: readFileSync(process.argv[5]), key: readFileSync(process.argv[6]) }, handler)
  : http.createServer(handler);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGUSR2', () => process.stdout.write(`written ${written}\n`));
process.on('SIGTERM', () => process.exit(0));
