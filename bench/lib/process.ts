// Helpers shared by the benchmarks: starting an `llmslo` subcommand and waiting for its ready
// line, a process's CPU time from /proc, and percentiles.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const cli = resolve(import.meta.dirname, '../../bin/llmslo.js');
const CLK_TCK = 100;

/** Starts `llmslo ARGS`; resolves when stdout or stderr matches `ready`, rejects if it exits first. */
export function startCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const on = (d: Buffer) => {
      buf += d;
      const m = ready.exec(buf);
      if (m) res({ child, match: m });
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (c) => rej(new Error(`${args.join(' ')} exited ${c}: ${buf}`)));
  });
}

/** User + system CPU seconds of a process (/proc/PID/stat fields 14 and 15; kernel time includes BPF). */
export function cpuSecondsOf(pid: number): number {
  const c = cpuSplitOf(pid);
  return c.user + c.system;
}

/** User and system CPU seconds of a process, apart (/proc/PID/stat fields 14 and 15). */
export function cpuSplitOf(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / CLK_TCK, system: Number(f[12]) / CLK_TCK };
}

/** The p-quantile (0..1) by rank; null for no values. */
export function percentile(xs: number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
