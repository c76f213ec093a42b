// Prometheus metrics of the SLO engine, registered on a prom-client Registry the caller owns.
// `llmslo_slo_events_total{slo,result}` is what the generated recording rules read
// (src/slo/rules.ts), so fleet-wide evaluation on Prometheus uses exactly these counters.
import { Counter, Gauge, type Registry } from 'prom-client';

export const EVENTS_METRIC = 'llmslo_slo_events_total';

export class SloMetrics {
  readonly events: Counter<'slo' | 'result'>;
  readonly objective: Gauge<'slo'>;
  readonly info: Gauge<'slo' | 'service' | 'sli' | 'period'>;
  readonly budgetRemaining: Gauge<'slo'>;
  readonly burnRate: Gauge<'slo' | 'window'>;
  readonly alertFiring: Gauge<'slo' | 'severity'>;
  readonly alertTransitions: Counter<'slo' | 'severity' | 'state'>;
  readonly dropped: Counter<'reason'>;

  /**
   * `eventTotals` returns the engine's own monotonic counts; they are copied into the counter at
   * scrape time, so the hot path (one call per SLO per record) never touches prom-client.
   */
  constructor(registry: Registry, eventTotals: () => Iterable<{ slo: string; good: number; bad: number }>) {
    const registers = [registry];
    this.events = new Counter({
      name: EVENTS_METRIC,
      help: 'SLI events counted per SLO, by result (good or bad).',
      labelNames: ['slo', 'result'],
      registers,
      collect() {
        this.reset();
        for (const t of eventTotals()) {
          this.inc({ slo: t.slo, result: 'good' }, t.good);
          this.inc({ slo: t.slo, result: 'bad' }, t.bad);
        }
      },
    });
    this.info = new Gauge({ name: 'llmslo_slo_info', help: 'One series per SLO the agent evaluates, with its service, SLI type and period.', labelNames: ['slo', 'service', 'sli', 'period'], registers });
    this.objective = new Gauge({ name: 'llmslo_slo_objective_ratio', help: 'SLO objective as a ratio of good events.', labelNames: ['slo'], registers });
    this.budgetRemaining = new Gauge({ name: 'llmslo_slo_error_budget_remaining_ratio', help: 'Share of the error budget left over the SLO period (negative once overspent).', labelNames: ['slo'], registers });
    this.burnRate = new Gauge({ name: 'llmslo_slo_burn_rate', help: 'Error-budget burn rate over a window (absent while the window holds no events).', labelNames: ['slo', 'window'], registers });
    this.alertFiring = new Gauge({ name: 'llmslo_slo_alert_firing', help: '1 while the agent-side burn-rate alert fires.', labelNames: ['slo', 'severity'], registers });
    this.alertTransitions = new Counter({ name: 'llmslo_slo_alert_transitions_total', help: 'Agent-side alert state changes.', labelNames: ['slo', 'severity', 'state'], registers });
    this.dropped = new Counter({ name: 'llmslo_slo_records_dropped_total', help: 'Records the SLO engine could not use, by reason.', labelNames: ['reason'], registers });
  }

  /** Sets an SLO's gauges to their starting values (its event series always exist, at zero before the first event). */
  initSlo(slo: string, info: { service: string; sli: string; period: string }, objective: number, severities: string[]): void {
    this.info.set({ slo, ...info }, 1);
    this.objective.set({ slo }, objective);
    this.budgetRemaining.set({ slo }, 1);
    for (const severity of severities) this.alertFiring.set({ slo, severity }, 0);
  }
}
