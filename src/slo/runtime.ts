// Wires an SloEngine into a long-running process (the agent): loads spec files and saved state,
// evaluates on a timer, saves state periodically and on stop. The agent's `run` command only
// needs start(), observe() and stop().
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { SloAlertEvent } from './alert_event.ts';
import { SloEngine, type SloStatus } from './engine.ts';
import { formatIssue, loadSloFiles } from './parse.ts';
import { DEFAULT_SLO_STATE_PATH } from './persist.ts';

export interface SloRuntimeOptions {
  specFiles: string[];
  /** State file; null disables persistence. Default /var/lib/llmslo/slo-state.json. */
  statePath?: string | null;
  registry?: Registry;
  onAlert?: (event: SloAlertEvent) => void;
  /** Reports non-fatal problems (a failed save, state not reused). Default: stderr. */
  onWarning?: (message: string) => void;
  evaluateEveryMs?: number;
  saveEveryMs?: number;
}

export class SloSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid SLO specs:\n${problems.join('\n')}`);
    this.name = 'SloSpecError';
  }
}

export class SloRuntime {
  private evalTimer: NodeJS.Timeout | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();
  private readonly saveFailures: Counter<never> | null;

  private constructor(
    readonly engine: SloEngine,
    private readonly statePath: string | null,
    private readonly warn: (message: string) => void,
    registry: Registry | undefined,
  ) {
    this.saveFailures = registry
      ? new Counter({ name: 'llmslo_slo_state_save_failures_total', help: 'SLO state saves that failed (budgets would reset on restart).', registers: [registry] })
      : null;
  }

  /** Loads specs (throws SloSpecError listing every problem) and state (a corrupt file is reported and ignored). */
  static async start(opts: SloRuntimeOptions): Promise<SloRuntime> {
    const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`llmslo: slo: ${m}\n`));
    const { slos, issues, warnings } = await loadSloFiles(opts.specFiles);
    if (issues.length) throw new SloSpecError(issues.map(formatIssue));
    for (const w of warnings) warn(w);
    const engine = new SloEngine(slos, { registry: opts.registry, onAlert: opts.onAlert });
    const statePath = opts.statePath === undefined ? DEFAULT_SLO_STATE_PATH : opts.statePath;
    const rt = new SloRuntime(engine, statePath, warn, opts.registry);
    if (statePath) {
      try {
        const r = await engine.load(statePath);
        if (r.skipped.length) warn(`saved state of ${r.skipped.join(', ')} not reused (SLI, selector or windows changed)`);
      } catch (err) {
        // A corrupt state file must not keep the agent from starting; budgets start empty instead.
        warn(`ignoring state: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    engine.evaluate();
    rt.evalTimer = setInterval(() => engine.evaluate(), opts.evaluateEveryMs ?? 15_000);
    rt.evalTimer.unref();
    if (statePath) {
      rt.saveTimer = setInterval(() => void rt.save(), opts.saveEveryMs ?? 60_000);
      rt.saveTimer.unref();
    }
    return rt;
  }

  observe(record: unknown): number {
    return this.engine.observe(record);
  }

  status(): SloStatus[] {
    return this.engine.status(Date.now());
  }

  /** Saves now; saves never overlap, failures are counted and reported, not thrown. */
  save(): Promise<void> {
    const path = this.statePath;
    if (!path) return Promise.resolve();
    this.saving = this.saving.then(() =>
      this.engine.save(path).catch((err: unknown) => {
        this.saveFailures?.inc();
        this.warn(`saving state to ${path} failed: ${err instanceof Error ? err.message : String(err)}`);
      }),
    );
    return this.saving;
  }

  /** Stops the timers, evaluates once more and saves. */
  async stop(): Promise<void> {
    if (this.evalTimer) clearInterval(this.evalTimer);
    if (this.saveTimer) clearInterval(this.saveTimer);
    this.evalTimer = this.saveTimer = null;
    this.engine.evaluate();
    await this.save();
  }
}
