// DNS messages on the wire (RFC 1035), for tests: a query or a response for one question, with
// A/AAAA answers if given, over UDP or with the TCP length prefix.
export function dnsMessage(id: number, opts: { response: boolean; rcode?: number; name: string; qtype?: number; tcp?: boolean; answers?: number[][] }): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE((opts.response ? 0x8180 : 0x0100) | (opts.rcode ?? 0), 2);
  header.writeUInt16BE(1, 4); // one question
  header.writeUInt16BE(opts.answers?.length ?? 0, 6);
  const labels = opts.name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const q = Buffer.concat([...labels, Buffer.from([0]), Buffer.from([(opts.qtype ?? 1) >> 8, (opts.qtype ?? 1) & 0xff, 0, 1])]);
  // answers: A (4 bytes) or AAAA (16 bytes), owner name a pointer to the question's
  const answers = (opts.answers ?? []).map((ip) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(ip.length === 4 ? 1 : 28, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(ip.length, 10);
    return Buffer.concat([rr, Buffer.from(ip)]);
  });
  const msg = Buffer.concat([header, q, ...answers]);
  if (!opts.tcp) return msg;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}
