// Detection and reset times of the default multi-window multi-burn-rate alerts, measured by
// running the engine on synthetic traffic, next to the Workbook estimate k·B·W/e.
// Run: node --import tsx bench/slo/detection.ts [objective=99.9] [rps=1]
import { SloEngine } from '../../src/slo/engine.ts';
import { parseSloSources } from '../../src/slo/parse.ts';
import { errorBudget } from '../../src/slo/burn.ts';

const objectivePct = Number(process.argv[2] ?? 99.9);
const rps = Number(process.argv[3] ?? 1);
const parsed = parseSloSources([{ file: 'bench', text: `apiVersion: llmslo/v1\nservice: b\nslos: [{name: s, sli: {type: availability}, objective: ${objectivePct}, window: 30d}]\n` }]);
if (parsed.issues.length) throw new Error(JSON.stringify(parsed.issues));
const spec = parsed.slos[0]!;
const B = errorBudget(spec.objective);
const STEP_MS = 1000 / rps;
const EVAL_MS = 30_000;
const WARM_MS = 3 * 86_400_000; // every window full before the incident
const INCIDENT_MS = 6 * 3_600_000;
const t0 = Date.parse('2026-11-01T00:00:00Z');

function fmt(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

/** Workbook estimate: the fastest pair whose factor e exceeds; detection ≈ k·B·W/e. */
function estimate(e: number, severity: string): number | null {
  let best: number | null = null;
  for (const w of spec.alertWindows) {
    if (w.severity !== severity || e <= w.factor * B) continue;
    const t = (w.factor * B * w.longMs) / e;
    if (best === null || t < best) best = t;
  }
  return best;
}

console.log(`objective ${objectivePct}% (budget ${(B * 100).toFixed(3)}%), ${rps} req/s, baseline error ratio ${(B * 0.1 * 100).toFixed(4)}%, incident ${INCIDENT_MS / 3_600_000}h, evaluation every ${EVAL_MS / 1000}s`);
console.log('error ratio | burn | page: est / measured / reset after end | ticket: est / measured / reset after end');
for (const e of [1, 0.5, 0.1, 0.03, 0.015, 0.008, 0.003]) {
  const engine = new SloEngine([spec]);
  const fired: Record<string, number | null> = { page: null, ticket: null };
  const cleared: Record<string, number | null> = { page: null, ticket: null };
  let nextEval = t0 + EVAL_MS;
  let acc = 0;
  const end = t0 + WARM_MS + INCIDENT_MS + 2 * 86_400_000;
  for (let t = t0; t < end; t += STEP_MS) {
    while (nextEval <= t) {
      for (const a of engine.evaluate(nextEval)[0]!.alerts) {
        const since = nextEval - (t0 + WARM_MS);
        if (a.state === 'firing' && fired[a.severity] === null && since >= 0) fired[a.severity] = since;
        if (a.state !== 'firing' && fired[a.severity] !== null && cleared[a.severity] === null && since > INCIDENT_MS) cleared[a.severity] = since - INCIDENT_MS;
      }
      nextEval += EVAL_MS;
    }
    const inIncident = t >= t0 + WARM_MS && t < t0 + WARM_MS + INCIDENT_MS;
    const ratio = inIncident ? e : B * 0.1;
    // Deterministic error spacing: exactly `ratio` of the calls fail.
    const before = Math.floor(acc);
    acc += ratio;
    engine.observe({ schema: 'llmslo.llm_call/v1', time: new Date(t).toISOString(), 'error.type': Math.floor(acc) > before ? 'server_error' : null }, t);
  }
  console.log(
    `${(e * 100).toFixed(1).padStart(10)}% | ${(e / B).toFixed(1).padStart(6)}x | ` +
      `${fmt(estimate(e, 'page'))} / ${fmt(fired.page)} / ${fmt(cleared.page)} | ${fmt(estimate(e, 'ticket'))} / ${fmt(fired.ticket)} / ${fmt(cleared.ticket)}`,
  );
}
