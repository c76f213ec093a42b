// The TypeScript decoder and the C structs in bpf/llmslo_events.h must agree. This test compiles
// a C program against the header that (1) prints every offset and size and (2) writes one record
// of each type with known field values; the decoder must read those values back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Layout, EVENTS_VERSION, CHUNK_BYTES, KernelStatNames, DataFlags } from '../../src/capture/layout.ts';
import { decodeBatch, newDecoderStats, type RawEvent } from '../../src/capture/decoder.ts';
import { MAX_EXCLUDED_CGROUPS } from '../../src/capture/cgroups.ts';
import { MAX_MUTED_CONNS } from '../../src/capture/live.ts';

const repo = resolve(import.meta.dirname, '../..');

const fields: Record<keyof typeof Layout, [string, Record<string, string>]> = {
  hdr: ['llmslo_hdr', { type: 'type', version: 'version', recordSize: 'size', tsNs: 'ts_ns', pid: 'pid', tid: 'tid', cgroupId: 'cgroup_id' }],
  tuple: ['llmslo_tuple', { laddr: 'laddr', raddr: 'raddr', lport: 'lport', rport: 'rport', family: 'family' }],
  data: ['llmslo_data_event', { connId: 'conn_id', sslPtr: 'ssl_ptr', tuple: 'tuple', fd: 'fd', msgLen: 'msg_len', offset: 'offset', payloadLen: 'payload_len', direction: 'direction', source: 'source', flags: 'flags', syscall: 'syscall', payload: 'payload' }],
  conn: ['llmslo_conn_event', { connId: 'conn_id', tuple: 'tuple', oldState: 'old_state', newState: 'new_state', protocol: 'protocol', srttUs: 'srtt_us', durationNs: 'duration_ns', retransmits: 'retransmits', rttSamples: 'rtt_samples' }],
  tcp: ['llmslo_tcp_event', { connId: 'conn_id', tuple: 'tuple', state: 'state', resetDir: 'reset_dir' }],
  exec: ['llmslo_exec_event', { ppid: 'ppid', comm: 'comm', filename: 'filename' }],
  exit: ['llmslo_exit_event', { exitCode: 'exit_code', comm: 'comm' }],
  tlsBind: ['llmslo_tls_bind_event', { sslPtr: 'ssl_ptr', connId: 'conn_id', tuple: 'tuple', fd: 'fd', source: 'source', method: 'method' }],
};

function cProgram(outFile: string): string {
  const lines: string[] = [
    '#include <stdio.h>', '#include <stddef.h>', '#include <string.h>', '#include <stdlib.h>',
    '#include "llmslo_events.h"',
    'int main(void) {',
    '  printf("{");',
    '  printf("\\"version\\":%d,\\"chunk\\":%d,\\"statMax\\":%d,\\"maxSkipCgroups\\":%d,\\"maxMutedConns\\":%d", LLMSLO_EVENTS_VERSION, LLMSLO_CHUNK_BYTES, LLMSLO_STAT_MAX, LLMSLO_MAX_SKIP_CGROUPS, LLMSLO_MAX_MUTED_CONNS);',
    '  printf(",\\"flags\\":[%d,%d,%d,%d,%d]", LLMSLO_DF_TRUNCATED, LLMSLO_DF_UNBOUND, LLMSLO_DF_READ_FAULT, LLMSLO_DF_UDP, LLMSLO_DF_SIZES_ONLY);',
  ];
  for (const [key, [struct, map]] of Object.entries(fields)) {
    lines.push(`  printf(",\\"${key}.size\\":%zu", sizeof(struct ${struct}));`);
    for (const [ts, c] of Object.entries(map)) lines.push(`  printf(",\\"${key}.${ts}\\":%zu", offsetof(struct ${struct}, ${c}));`);
  }
  lines.push('  printf("}\\n");');
  // Sample records with distinctive values, 8-byte aligned like the ring buffer batches.
  lines.push(`
  unsigned char buf[4096]; memset(buf, 0, sizeof buf); size_t at = 0;
  struct llmslo_data_event *d = (void *)(buf + at);
  d->hdr.type = LLMSLO_EV_DATA; d->hdr.version = LLMSLO_EVENTS_VERSION; d->hdr.size = sizeof(*d) + 5;
  d->hdr.ts_ns = 123456789012345ULL; d->hdr.pid = 4242; d->hdr.tid = 4243; d->hdr.cgroup_id = 987654321ULL;
  d->conn_id = 77; d->ssl_ptr = 0x7f00deadbeefULL; d->tuple.family = 2; d->tuple.lport = 5555; d->tuple.rport = 443;
  d->tuple.laddr[0] = 127; d->tuple.laddr[3] = 1; d->tuple.raddr[0] = 10; d->tuple.raddr[3] = 9;
  d->fd = 17; d->msg_len = 99999; d->offset = 8192; d->payload_len = 5; d->direction = LLMSLO_DIR_INGRESS;
  d->source = LLMSLO_SRC_NODE; d->flags = LLMSLO_DF_TRUNCATED; d->syscall = LLMSLO_SYS_SSL_READ;
  memcpy(d->payload, "hello", 5);
  at += (d->hdr.size + 7) & ~7;
  struct llmslo_conn_event *c = (void *)(buf + at);
  c->hdr.type = LLMSLO_EV_CONN; c->hdr.version = LLMSLO_EVENTS_VERSION; c->hdr.size = sizeof(*c); c->hdr.ts_ns = 5;
  c->conn_id = 78; c->old_state = 2; c->new_state = 1; c->srtt_us = 321; c->duration_ns = 4000000000ULL; c->retransmits = 3; c->rtt_samples = 9;
  at += (c->hdr.size + 7) & ~7;
  struct llmslo_tcp_event *t = (void *)(buf + at);
  t->hdr.type = LLMSLO_EV_RESET; t->hdr.version = LLMSLO_EVENTS_VERSION; t->hdr.size = sizeof(*t); t->conn_id = 79; t->state = 1; t->reset_dir = LLMSLO_RESET_RECEIVED;
  at += (t->hdr.size + 7) & ~7;
  struct llmslo_exec_event *e = (void *)(buf + at);
  e->hdr.type = LLMSLO_EV_EXEC; e->hdr.version = LLMSLO_EVENTS_VERSION; e->hdr.size = sizeof(*e); e->ppid = 1; strcpy(e->comm, "python3"); strcpy(e->filename, "/usr/bin/python3.11");
  at += (e->hdr.size + 7) & ~7;
  struct llmslo_exit_event *x = (void *)(buf + at);
  x->hdr.type = LLMSLO_EV_EXIT; x->hdr.version = LLMSLO_EVENTS_VERSION; x->hdr.size = sizeof(*x); x->exit_code = 256; strcpy(x->comm, "curl");
  at += (x->hdr.size + 7) & ~7;
  struct llmslo_tls_bind_event *b = (void *)(buf + at);
  b->hdr.type = LLMSLO_EV_TLS_BIND; b->hdr.version = LLMSLO_EVENTS_VERSION; b->hdr.size = sizeof(*b); b->ssl_ptr = 0x55aa55aa55ULL; b->conn_id = 80; b->fd = 9; b->source = LLMSLO_SRC_LIBSSL; b->method = 1;
  at += (b->hdr.size + 7) & ~7;
  FILE *f = fopen("${outFile}", "wb"); fwrite(buf, 1, at, f); fclose(f);
  return 0;
}`);
  return lines.join('\n');
}

test('TypeScript layout matches bpf/llmslo_events.h (compiled with cc)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-layout-'));
  try {
    const bin = join(dir, 'layout');
    const sample = join(dir, 'sample.bin');
    writeFileSync(join(dir, 'layout.c'), cProgram(sample));
    execFileSync('cc', ['-std=gnu11', '-Wall', '-I', join(repo, 'bpf'), '-o', bin, join(dir, 'layout.c')]);
    const out = JSON.parse(execFileSync(bin, { encoding: 'utf8' })) as Record<string, number>;
    assert.equal(out.version, EVENTS_VERSION);
    assert.equal(out.chunk, CHUNK_BYTES);
    assert.equal(out.statMax, KernelStatNames.length, 'KernelStatNames must list every enum llmslo_stat entry');
    assert.equal(out.maxSkipCgroups, MAX_EXCLUDED_CGROUPS, 'the excluded-cgroup bound user space enforces is the kernel map size');
    assert.equal(out.maxMutedConns, MAX_MUTED_CONNS, 'the muted-connection bound user space keeps is the kernel map size');
    assert.deepEqual(out.flags, [DataFlags.truncated, DataFlags.unbound, DataFlags.readFault, DataFlags.udp, DataFlags.sizesOnly], 'data flags');
    for (const [key, [, map]] of Object.entries(fields)) {
      const ts = Layout[key as keyof typeof Layout] as Record<string, number>;
      assert.equal(ts.size, out[`${key}.size`], `${key}.size`);
      for (const f of Object.keys(map)) assert.equal(ts[f], out[`${key}.${f}`], `${key}.${f}`);
    }

    const events: RawEvent[] = [];
    const stats = newDecoderStats();
    decodeBatch(readFileSync(sample), (e) => events.push(e), stats);
    assert.equal(stats.badRecords, 0);
    assert.deepEqual(events.map((e) => e.type), ['data', 'conn', 'reset', 'exec', 'exit', 'tls_bind']);
    const [d, c, t, e, x, b] = events;
    assert.ok(d.type === 'data');
    assert.equal(d.tsNs, 123456789012345);
    assert.equal(d.pid, 4242);
    assert.equal(d.tid, 4243);
    assert.equal(d.cgroupId, 987654321);
    assert.equal(d.connId, 77);
    assert.equal(d.sslPtr, 0x7f00deadbeef);
    assert.equal(d.tuple.family, 2);
    assert.equal(d.tuple.lport, 5555);
    assert.equal(d.tuple.rport, 443);
    assert.deepEqual([...d.tuple.laddr.subarray(0, 4)], [127, 0, 0, 1]);
    assert.equal(d.fd, 17);
    assert.equal(d.msgLen, 99999);
    assert.equal(d.offset, 8192);
    assert.equal(d.direction, 'ingress');
    assert.equal(d.source, 'node');
    assert.equal(d.flags, 1);
    assert.equal(d.syscall, 18);
    assert.equal(Buffer.from(d.payload).toString(), 'hello');
    assert.ok(c.type === 'conn');
    assert.deepEqual([c.connId, c.oldState, c.newState, c.srttUs, c.durationNs, c.retransmits, c.rttSamples], [78, 2, 1, 321, 4e9, 3, 9]);
    assert.ok(t.type === 'reset');
    assert.deepEqual([t.connId, t.state, t.resetDir], [79, 1, 'received']);
    assert.ok(e.type === 'exec');
    assert.deepEqual([e.ppid, e.comm, e.filename], [1, 'python3', '/usr/bin/python3.11']);
    assert.ok(x.type === 'exit');
    assert.deepEqual([x.exitCode, x.comm], [256, 'curl']);
    assert.ok(b.type === 'tls_bind');
    assert.deepEqual([b.sslPtr, b.connId, b.fd, b.source, b.method], [0x55aa55aa55, 80, 9, 'libssl', 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decoder survives garbage and truncation without throwing', () => {
  const stats = newDecoderStats();
  let seen = 0;
  for (let i = 0; i < 2000; i++) {
    const len = (i * 7919) % 700;
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = (i * 31 + j * 17) & 0xff;
    // Every few, a plausible header with a lying size.
    if (len >= 32 && i % 3 === 0) {
      b.writeUInt16LE(1 + (i % 8), 0);
      b.writeUInt16LE(EVENTS_VERSION, 2);
      b.writeUInt32LE((i * 13) % 900, 4);
    }
    decodeBatch(b, () => seen++, stats);
  }
  assert.ok(stats.badRecords + stats.unknownTypes + stats.versionMismatch > 0, 'garbage must be counted');
});
