// Helpers shared by the benchmarks: starting an `llmslo` subcommand and waiting for its ready
// line, a process's CPU time from /proc, and percentiles.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const cli = resolve(import.meta.dirname, '../../bin/llmslo.js');
const CLK_TCK = 100;

/** Starts `llmslo ARGS` (node flags before them: `nodeArgs`); resolves when stdout or stderr matches `ready`, rejects if it exits first. */
export function startCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env, nodeArgs: string[] = []): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/**
 * CPU nanoseconds per iteration of a fixed JS loop: how fast this machine's core is right now,
 * so figures from different days (a VM's host and neighbours change) can be compared
 * (≈ 0.7 ns on a current bare-metal core; 0.6–1.3 seen on this project's VMs).
 */
export function calibrationNsPerIteration(): number {
  const c0 = process.cpuUsage();
  let acc = 0;
  for (let i = 0; i < 1e8; i++) acc += i & 7;
  const c = process.cpuUsage(c0);
  if (acc <= 0) throw new Error('calibration loop optimised away');
  return (c.user + c.system) / 1e5;
}
