// TLS target discovery over a fake /proc: libssl mappings and node executables are found in the
// maps bytes and attached once; rescans of unchanged processes attach nothing new.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TlsTargets } from '../../src/capture/tls-targets.ts';
import type { NativeLoader } from '../../src/capture/native.ts';

const LIBSSL = ['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib/aarch64-linux-gnu/libssl.so.3'].find((p) => existsSync(p));

function fakeLoader(): { loader: NativeLoader; attached: string[] } {
  const attached: string[] = [];
  const loader = { attachUprobe: (program: string, path: string) => attached.push(`${program} ${path}`) } as unknown as NativeLoader;
  return { loader, attached };
}

function fakeProc(entries: Record<number, { maps: string; exe: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-proc-'));
  for (const [pid, p] of Object.entries(entries)) {
    mkdirSync(join(dir, pid));
    writeFileSync(join(dir, pid, 'maps'), p.maps);
    symlinkSync(p.exe, join(dir, pid, 'exe'));
    symlinkSync('/', join(dir, pid, 'root'));
  }
  return dir;
}

test('rescans find libssl in the maps and node executables, attaching each file once', () => {
  // scripts/setup.sh (part of the README's test command) installs it: openssl, python3 and curl depend on libssl3
  assert.ok(LIBSSL !== undefined, 'no system libssl.so.3: run scripts/setup.sh');
  const line = (addr: string, path: string): string => `${addr} r-xp 00000000 08:01 123 ${path}\n`;
  const maps = line('7f0000000000-7f0000001000', '/usr/lib/x86_64-linux-gnu/libc.so.6') + line('7f0000002000-7f0000003000', LIBSSL) + line('7f0000003000-7f0000004000', LIBSSL) + '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n';
  const proc = fakeProc({
    100: { maps, exe: process.execPath },
    101: { maps: line('7f0000000000-7f0000001000', '/usr/lib/x86_64-linux-gnu/libsslfoo.so.1'), exe: '/bin/sh' },
  });
  try {
    const { loader, attached } = fakeLoader();
    const t = new TlsTargets(loader, { procRoot: proc, rescanIntervalMs: 0 });
    t.scanAll();
    const kinds = t.list().map((x) => `${x.kind} ${x.path}`).sort();
    assert.deepEqual(kinds, [`libssl ${LIBSSL}`, `node ${process.execPath}`].sort(), 'libssl once (mapped twice), node; not libsslfoo, not /bin/sh');
    assert.ok(attached.length > 0);
    const n = attached.length;
    t.scanAll();
    t.scanAll();
    assert.equal(attached.length, n, 'unchanged processes attach nothing new');
    t.close();
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});
