// Two clocks for every ground-truth timestamp: wall-clock epoch ms (sub-ms precision) for
// humans and joins across hosts, and CLOCK_MONOTONIC ns (process.hrtime.bigint() on Linux,
// the same clock as bpf_ktime_get_ns) so the accuracy benchmark can compare with the agent.
import { performance } from 'node:perf_hooks';

export interface Stamp {
  wall_ms: number;
  mono_ns: number;
}

export function stamp(): Stamp {
  return { wall_ms: performance.timeOrigin + performance.now(), mono_ns: Number(process.hrtime.bigint()) };
}

/** Monotonic milliseconds, for scheduling. */
export function monoMs(): number {
  return performance.now();
}
