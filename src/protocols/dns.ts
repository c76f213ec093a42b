// The few fields of a DNS message (RFC 1035 §4.1) the agent needs to see a failed name lookup:
// id, query/response, response code, and the first question. Over UDP a datagram is one message;
// over TCP a two-byte length comes first (recognised when it matches the bytes that follow).
// Captured bytes are untrusted: every read is bounds-checked, nothing throws.

export interface DnsMessage {
  id: number;
  response: boolean;
  /** RCODE: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, … */
  rcode: number;
  /** The first question's name, lower case, without the root dot; null when absent or malformed. */
  name: string | null;
  /** The first question's type (1 A, 28 AAAA, …); 0 when absent. */
  qtype: number;
}

export const DnsRcode = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;
export const DNS_RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

const HEADER = 12;
/** RFC 1035: a name is at most 255 octets on the wire. */
const MAX_NAME = 255;

export function parseDnsMessage(bytes: Uint8Array): DnsMessage | null {
  let b = bytes;
  // TCP framing: a length prefix equal to what follows
  if (b.length >= HEADER + 2 && ((b[0]! << 8) | b[1]!) === b.length - 2) b = b.subarray(2);
  if (b.length < HEADER) return null;
  const flags = (b[2]! << 8) | b[3]!;
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0) return null; // not a standard query
  const qdcount = (b[4]! << 8) | b[5]!;
  const msg: DnsMessage = { id: (b[0]! << 8) | b[1]!, response: (flags & 0x8000) !== 0, rcode: flags & 0xf, name: null, qtype: 0 };
  if (qdcount === 0) return msg;
  // The question's name: labels, uncompressed (a question comes before anything to point at).
  const labels: string[] = [];
  let at = HEADER;
  let wire = 0;
  for (;;) {
    if (at >= b.length) return msg;
    const len = b[at]!;
    if (len === 0) {
      at++;
      break;
    }
    if (len > 63) return msg; // a compression pointer or a reserved label type: not parsed
    wire += len + 1;
    if (wire > MAX_NAME || at + 1 + len > b.length) return msg;
    let label = '';
    for (let i = at + 1; i < at + 1 + len; i++) {
      const c = b[i]!;
      label += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
    }
    labels.push(label);
    at += 1 + len;
  }
  if (at + 2 <= b.length) msg.qtype = (b[at]! << 8) | b[at + 1]!;
  msg.name = labels.join('.');
  return msg;
}
