// DNS messages on the wire (RFC 1035), for tests: a query or a bare response (no answers) for one
// question, over UDP or with the TCP length prefix.
export function dnsMessage(id: number, opts: { response: boolean; rcode?: number; name: string; qtype?: number; tcp?: boolean }): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE((opts.response ? 0x8180 : 0x0100) | (opts.rcode ?? 0), 2);
  header.writeUInt16BE(1, 4); // one question
  const labels = opts.name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const q = Buffer.concat([...labels, Buffer.from([0]), Buffer.from([(opts.qtype ?? 1) >> 8, (opts.qtype ?? 1) & 0xff, 0, 1])]);
  const msg = Buffer.concat([header, q]);
  if (!opts.tcp) return msg;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}
