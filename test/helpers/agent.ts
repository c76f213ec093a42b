// Shared by the agent tests: starting `llmslo run` as a child process, resolved once it reports
// that it is running (and, re-exported, the root requirement).
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
export { requireRoot } from './ebpf.ts';

export const cli = resolve(import.meta.dirname, '../../bin/llmslo.js');

/** The environment the agent tests run the CLI with: from source, Prometheus on a free port. */
export const AGENT_TEST_ENV: NodeJS.ProcessEnv = { ...process.env, LLMSLO_FROM_SOURCE: '1', LLMSLO_OUTPUTS__PROMETHEUS__LISTEN: '127.0.0.1:0' };

export interface RunningAgent {
  child: ChildProcess;
  stderr: () => string;
  /** The Prometheus endpoint the agent reported (null when it serves none). */
  metricsUrl: string | null;
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
          metricsUrl: /metrics at (\S+?)[;\s]/.exec(err)?.[1] ?? null,
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
