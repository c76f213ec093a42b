// The timing SLIs of one call from its milestones (kernel ns): shared by the record a builder
// parses and the server-side record derived from its client end (mirror.ts).

export interface CallMilestones {
  request_start: number;
  request_end: number | null;
  first_chunk: number | null;
  first_token: number | null;
  response_end: number | null;
}

export interface CallTimings {
  ttft_s: number | null;
  ttfc_s: number | null;
  duration_s: number | null;
  tpot_s: number | null;
  output_tokens_per_s: number | null;
}

const sec = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : Math.max(0, b - a) / 1e9);

/** `output`: output tokens (null when unknown); embeddings have no output rate. */
export function callTimings(t: CallMilestones, isStream: boolean, output: number | null, embeddings: boolean): CallTimings {
  const ttft = isStream ? sec(t.request_end, t.first_token) : null;
  const ttfc = isStream ? sec(t.request_end, t.first_chunk) : null;
  let tpot: number | null = null;
  if (isStream && t.first_token !== null && t.response_end !== null && output !== null && output >= 2) tpot = Math.max(0, t.response_end - t.first_token) / 1e9 / (output - 1);
  let tps: number | null = null;
  if (output !== null && output > 0 && !embeddings) {
    const from = isStream && t.first_token !== null ? t.first_token : t.request_end;
    const span = sec(from, t.response_end);
    if (span !== null && span > 0) tps = output / span;
  }
  return { ttft_s: ttft, ttfc_s: ttfc, duration_s: sec(t.request_start, t.response_end), tpot_s: tpot, output_tokens_per_s: tps };
}
