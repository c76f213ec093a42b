// Shared by the agent tests: starting `llmslo run` as a child process, resolved once it reports
// that it is running (and, re-exported, the root requirement).
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
export { requireRoot } from './ebpf.ts';

export const cli = resolve(import.meta.dirname, '../../bin/llmslo.js');

export interface RunningAgent {
  child: ChildProcess;
  stderr: () => string;
  /** SIGTERM and wait: the exit code. */
  stop: () => Promise<number | null>;
}

export function startAgent(args: string[], env: NodeJS.ProcessEnv): Promise<RunningAgent> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cli, 'run', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => rej(new Error(`agent did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('agent running')) {
        clearTimeout(timer);
        res({
          child,
          stderr: () => err,
          // bounded: an agent that does not stop is killed and reported (-1), never waited on forever
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r(child.exitCode);
              const deadline = setTimeout(() => {
                child.kill('SIGKILL');
                r(-1);
              }, 60_000);
              child.once('exit', (c) => {
                clearTimeout(deadline);
                r(c);
              });
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('exit', (c) => {
      clearTimeout(timer);
      rej(new Error(`agent exited ${c}: ${err}`));
    });
  });
}
