// The DNS fields the agent reads to see failed lookups: id, query/response, RCODE, first
// question — over UDP and TCP framing, and never a throw on captured garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dnsAnswerAddresses, parseDnsMessage } from '../../src/protocols/dns.ts';
import { dnsMessage } from '../helpers/dns_wire.ts';

test('queries and responses: id, QR, RCODE, the question lower-cased, UDP and TCP framing', () => {
  const q = parseDnsMessage(dnsMessage(0x1234, { response: false, name: 'API.OpenAI.com', qtype: 28 }));
  assert.deepEqual(q, { id: 0x1234, response: false, rcode: 0, name: 'api.openai.com', qtype: 28 });
  const r = parseDnsMessage(dnsMessage(7, { response: true, rcode: 3, name: 'api.openai.com' }));
  assert.deepEqual(r, { id: 7, response: true, rcode: 3, name: 'api.openai.com', qtype: 1 });
  const t = parseDnsMessage(dnsMessage(9, { response: true, rcode: 2, name: 'qdrant.svc', tcp: true }));
  assert.deepEqual(t, { id: 9, response: true, rcode: 2, name: 'qdrant.svc', qtype: 1 });
});

test('A and AAAA answers are read past the question, names compressed or not', () => {
  const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const m = dnsMessage(3, { response: true, name: 'api.openai.com', answers: [[10, 0, 0, 77], v6], tcp: true });
  assert.deepEqual(dnsAnswerAddresses(m).map((a) => [a.family, [...a.bytes]]), [[2, [10, 0, 0, 77]], [10, v6]]);
  const udp = dnsMessage(3, { response: true, name: 'api.openai.com', answers: [[10, 0, 0, 77], v6] });
  assert.equal(dnsAnswerAddresses(udp.subarray(0, udp.length - 3)).length, 1, 'a cut last answer is left out');
  assert.deepEqual(dnsAnswerAddresses(dnsMessage(3, { response: true, rcode: 3, name: 'x.y' })), []);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      for (const a of dnsAnswerAddresses(b)) assert.equal(a.bytes.length, a.family === 2 ? 4 : 16);
    }),
    { numRuns: 3000 },
  );
});

test('short, truncated, compressed or oversized questions give what is readable, never a throw', () => {
  assert.equal(parseDnsMessage(Buffer.alloc(11)), null, 'shorter than a header');
  const full = dnsMessage(1, { response: true, rcode: 3, name: 'api.openai.com' });
  const cut = parseDnsMessage(full.subarray(0, 20));
  assert.equal(cut?.rcode, 3);
  assert.equal(cut?.name, null, 'the question is cut');
  const pointer = Buffer.from(full);
  pointer[12] = 0xc0; // a compression pointer where a label should be
  assert.equal(parseDnsMessage(pointer)?.name, null);
  const long = dnsMessage(1, { response: true, rcode: 3, name: Array.from({ length: 9 }, () => 'a'.repeat(30)).join('.') });
  assert.equal(parseDnsMessage(long)?.name, null, 'over 255 octets');
  const update = Buffer.from(full);
  update[2] = (update[2]! & 0x87) | (5 << 3); // opcode UPDATE
  assert.equal(parseDnsMessage(update), null);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      const m = parseDnsMessage(b);
      if (m !== null) assert.ok(m.name === null || m.name.length <= 255);
    }),
    { numRuns: 3000 },
  );
});
