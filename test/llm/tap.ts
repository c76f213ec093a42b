// Test helper: a TCP proxy that plays the capture plane for the client side of each
// connection it relays (egress = bytes the client wrote, ingress = bytes it read), stamping
// every read with CLOCK_MONOTONIC ns. Listens on 127.0.0.1 only.
import net from 'node:net';
import type { StreamEvent } from '../../src/capture/stream.ts';

export const now = (): number => Number(process.hrtime.bigint());

/** TCP proxy recording both directions as capture StreamEvents from the client's side. */
export function startTap(target: number, events: StreamEvent[]): Promise<net.Server> {
  let nextId = 1;
  const tap = net.createServer((client) => {
    const connId = nextId++;
    const upstream = net.connect(target, '127.0.0.1');
    events.push({ kind: 'open', tsNs: now(), conn: { connId, pid: process.pid, tid: process.pid, cgroupId: 0, local: { address: '127.0.0.1', port: client.remotePort ?? 0 }, remote: { address: '127.0.0.1', port: target }, tls: false, serverName: null } });
    client.on('data', (b: Buffer) => {
      events.push({ kind: 'data', connId, direction: 'egress', tsNs: now(), bytes: Buffer.from(b), missingAfter: 0, tls: false });
      upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => {
      events.push({ kind: 'data', connId, direction: 'ingress', tsNs: now(), bytes: Buffer.from(b), missingAfter: 0, tls: false });
      client.write(b);
    });
    let closed = false;
    const close = (reason: 'local_close' | 'remote_close' | 'reset_received' | 'reset_sent'): void => {
      if (closed) return;
      closed = true;
      events.push({ kind: 'close', connId, tsNs: now(), reason });
    };
    client.on('end', () => { close('local_close'); upstream.end(); });
    upstream.on('end', () => { close('remote_close'); client.end(); });
    // A reset by the server is what the client sees as reset_received; a client abort is reset_sent.
    client.on('error', () => {
      close('reset_sent');
      upstream.destroy();
    });
    upstream.on('error', () => {
      close('reset_received');
      client.destroy();
    });
    client.on('close', () => close('local_close'));
    upstream.on('close', () => close('remote_close'));
  });
  return new Promise((resolve) => tap.listen(0, '127.0.0.1', () => resolve(tap)));
}

