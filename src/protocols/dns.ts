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

/** The message without a TCP length prefix (one equal to what follows). */
function unframed(b: Uint8Array): Uint8Array {
  return b.length >= HEADER + 2 && ((b[0]! << 8) | b[1]!) === b.length - 2 ? b.subarray(2) : b;
}

export function parseDnsMessage(bytes: Uint8Array): DnsMessage | null {
  const b = unframed(bytes);
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

export interface DnsAddress {
  /** AF_INET (2) or AF_INET6 (10), as the capture's tuples say. */
  family: 2 | 10;
  /** 4 or 16 bytes (a view into the message). */
  bytes: Uint8Array;
}

/** At most this many answers are read from one response. */
const MAX_ANSWERS = 32;

/** Past a name at `at` (labels, ending in a root label or a compression pointer); -1 if malformed. */
function skipName(b: Uint8Array, at: number): number {
  for (let labels = 0; labels < 128 && at < b.length; labels++) {
    const len = b[at]!;
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2 <= b.length ? at + 2 : -1;
    if (len > 63) return -1;
    at += 1 + len;
  }
  return -1;
}

/**
 * The A and AAAA records in a response's answer section (whatever their owner names: CNAME
 * chains end in them), for the question's name. Empty for anything malformed.
 */
export function dnsAnswerAddresses(bytes: Uint8Array): DnsAddress[] {
  const b = unframed(bytes);
  if (b.length < HEADER) return [];
  const qdcount = (b[4]! << 8) | b[5]!;
  const ancount = Math.min((b[6]! << 8) | b[7]!, MAX_ANSWERS);
  let at = HEADER;
  for (let i = 0; i < qdcount && i < 4; i++) {
    at = skipName(b, at);
    if (at < 0 || at + 4 > b.length) return [];
    at += 4; // type, class
  }
  const out: DnsAddress[] = [];
  for (let i = 0; i < ancount; i++) {
    at = skipName(b, at);
    if (at < 0 || at + 10 > b.length) break;
    const type = (b[at]! << 8) | b[at + 1]!;
    const rdlen = (b[at + 8]! << 8) | b[at + 9]!;
    at += 10;
    if (at + rdlen > b.length) break;
    if (type === 1 && rdlen === 4) out.push({ family: 2, bytes: b.subarray(at, at + 4) });
    else if (type === 28 && rdlen === 16) out.push({ family: 10, bytes: b.subarray(at, at + 16) });
    at += rdlen;
  }
  return out;
}
