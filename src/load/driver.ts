// Open-loop (arrival rate) and closed-loop (fixed concurrency) load, bounded by request count
// and wall time, with a progress callback and a summary. Open loop never queues without
// limit: arrivals beyond max in-flight are dropped and counted.
import { monoMs } from '../sim/clock.ts';
import { Rng } from '../sim/random.ts';
import type { Runner } from './runners/runner.ts';
import type { ClientRecord, RequestSpec } from './types.ts';

export interface LoadPlan {
  mode: 'open' | 'closed';
  /** Open loop: requests per second. */
  rate: number;
  /** Open loop: 'uniform' spacing or 'poisson' arrivals. */
  arrivals: 'uniform' | 'poisson';
  /** Closed loop: concurrent clients. */
  concurrency: number;
  count: number;
  durationS: number;
  maxInFlight: number;
}

export interface Progress {
  elapsedS: number;
  sent: number;
  done: number;
  ok: number;
  errors: number;
  inFlight: number;
  dropped: number;
}

export interface Summary extends Progress {
  error_types: Record<string, number>;
  ttft_ms: Percentiles | null;
  duration_ms: Percentiles | null;
  throughput_rps: number;
  output_tokens: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
  const r = (x: number) => Math.round(x * 100) / 100;
  return { p50: r(q(0.5)), p90: r(q(0.9)), p99: r(q(0.99)), mean: r(v.reduce((a, b) => a + b, 0) / v.length) };
}

export async function runLoad(
  plan: LoadPlan,
  runner: Runner,
  makeSpec: (seq: number) => RequestSpec,
  onRecord: (r: ClientRecord) => void,
  onProgress?: (p: Progress) => void,
  progressEveryMs = 1000,
  stop?: AbortSignal,
): Promise<Summary> {
  const t0 = monoMs();
  let deadline = t0 + plan.durationS * 1000;
  // Stopping early (Ctrl-C) ends new arrivals; requests in flight still finish and are recorded.
  stop?.addEventListener('abort', () => {
    deadline = Math.min(deadline, monoMs());
  });
  const state: Progress = { elapsedS: 0, sent: 0, done: 0, ok: 0, errors: 0, inFlight: 0, dropped: 0 };
  const errorTypes: Record<string, number> = {};
  const ttft: number[] = [];
  const dur: number[] = [];
  let outTokens = 0;
  const snapshot = () => ({ ...state, elapsedS: Math.round((monoMs() - t0) / 100) / 10 });
  const ticker = onProgress ? setInterval(() => onProgress(snapshot()), progressEveryMs) : null;

  const one = async (seq: number) => {
    state.sent++;
    state.inFlight++;
    const rec = await runner.run(makeSpec(seq));
    state.inFlight--;
    state.done++;
    if (rec.ok) state.ok++;
    else {
      state.errors++;
      const key = rec.error_type ?? 'unknown';
      errorTypes[key] = (errorTypes[key] ?? 0) + 1;
    }
    if (rec.first_token) ttft.push((rec.first_token.mono_ns - rec.start.mono_ns) / 1e6);
    dur.push((rec.end.mono_ns - rec.start.mono_ns) / 1e6);
    outTokens += rec.output_tokens ?? 0;
    onRecord(rec);
  };

  if (plan.mode === 'closed') {
    let next = 0;
    const worker = async () => {
      while (next < plan.count && monoMs() < deadline) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.max(1, plan.concurrency) }, worker));
  } else {
    const inFlight = new Set<Promise<void>>();
    let at = t0;
    const rng = new Rng(0x10ad);
    for (let seq = 0; seq < plan.count; seq++) {
      if (seq > 0) {
        const gap = plan.arrivals === 'poisson' ? -Math.log(1 - rng.next()) / plan.rate : 1 / plan.rate;
        at += gap * 1000;
      }
      if (at >= deadline) break;
      const wait = at - monoMs();
      if (wait > 1) await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(1, deadline - monoMs()))));
      if (monoMs() >= deadline) break;
      if (state.inFlight >= plan.maxInFlight) {
        state.dropped++;
        continue;
      }
      const p: Promise<void> = one(seq).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  }
  if (ticker) clearInterval(ticker);
  const final = snapshot();
  onProgress?.(final);
  const elapsed = Math.max(0.001, final.elapsedS);
  return { ...final, error_types: errorTypes, ttft_ms: percentiles(ttft), duration_ms: percentiles(dur), throughput_rps: Math.round((final.done / elapsed) * 100) / 100, output_tokens: outTokens };
}
