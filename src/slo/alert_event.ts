// `llmslo.slo_alert/v1`: one JSON object per alert state change (firing or resolved).
// The JSON Schema is schemas/llmslo.slo_alert.v1.json; keep both in step.

export const SLO_ALERT_SCHEMA = 'llmslo.slo_alert/v1';

export interface SloAlertWindowReport {
  long: string;
  short: string;
  factor: number;
  long_burn_rate: number | null;
  short_burn_rate: number | null;
  long_events: number;
  short_events: number;
  active: boolean;
}

export interface SloAlertEvent {
  schema: typeof SLO_ALERT_SCHEMA;
  /** Evaluation time of the change, RFC 3339. */
  time: string;
  slo: string;
  service: string;
  sli: string;
  severity: string;
  state: 'firing' | 'resolved';
  /** When the condition started holding (firing) or when the alert had started firing (resolved). */
  since: string | null;
  objective: number;
  period: string;
  error_budget_remaining: number;
  windows: SloAlertWindowReport[];
  labels: Record<string, string>;
}
