// Finds and runs the real promtool/prometheus binaries (Debian's `prometheus` package).
// Missing binaries fail the test under CI=true and skip it with a reason otherwise.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

export function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** The binary's path, or undefined after skipping the test (outside CI) when it is not installed. */
export function requireBinary(t: TestContext, bin: 'promtool' | 'prometheus'): string | undefined {
  const p = which(bin);
  if (p) return p;
  if (process.env.CI === 'true') assert.fail(`${bin} is not installed (apt-get install -y prometheus); required under CI=true`);
  t.skip(`${bin} not installed (apt-get install -y prometheus)`);
  return undefined;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
