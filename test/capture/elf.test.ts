// The ELF reader finds OpenSSL's exports in real binaries and refuses hostile files quickly,
// without large allocations (it runs on every exec'd program, on the agent's event loop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExportedFunctions } from '../../src/capture/elf.ts';

const WANT = ['SSL_read', 'SSL_write', 'SSL_read_ex', 'SSL_write_ex'];

test('finds SSL_* in the node binary and in libssl, nothing in curl (which imports them)', () => {
  const node = findExportedFunctions(realpathSync(process.execPath), WANT).functions;
  for (const f of WANT) assert.ok((node.get(f) ?? 0) > 0, `node exports ${f}`);
  const libssl = '/usr/lib/x86_64-linux-gnu/libssl.so.3';
  if (existsSync(libssl)) assert.ok(findExportedFunctions(libssl, WANT).functions.has('SSL_read'));
  if (existsSync('/usr/bin/curl')) assert.equal(findExportedFunctions('/usr/bin/curl', WANT).functions.size, 0);
});

test('hostile files fail fast with a one-line error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-elf-'));
  try {
    const head = readFileSync(realpathSync(process.execPath)).subarray(0, 64);
    // 1. a sparse file claiming a huge section table
    const sparse = join(dir, 'sparse');
    const fd = openSync(sparse, 'w');
    const h = Buffer.from(head);
    h.writeBigUInt64LE(64n, 40); // shoff
    h.writeUInt16LE(64, 58); // shentsize
    h.writeUInt16LE(60000, 60); // shnum
    writeSync(fd, h, 0, 64, 0);
    ftruncateSync(fd, 2 * 1024 * 1024 * 1024);
    closeSync(fd);
    // 2. garbage, 3. truncated header
    const garbage = join(dir, 'garbage');
    const gfd = openSync(garbage, 'w');
    writeSync(gfd, Buffer.alloc(4096, 0x41));
    closeSync(gfd);
    const short = join(dir, 'short');
    const sfd = openSync(short, 'w');
    writeSync(sfd, head.subarray(0, 30));
    closeSync(sfd);
    for (const f of [sparse, garbage, short]) {
      const rss0 = process.memoryUsage().rss;
      assert.throws(() => findExportedFunctions(f, WANT), (e: unknown) => e instanceof Error && !e.message.includes('\n'));
      assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024, `${f}: no large allocation`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
