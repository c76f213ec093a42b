// Fixed one-minute windows of request and token counts per model, for realistic
// x-ratelimit-* / anthropic-ratelimit-* headers.
import { monoMs } from './clock.ts';
import type { RateLimitState } from './formats/types.ts';

interface Window {
  startMs: number;
  requests: number;
  tokens: number;
}

export class RateWindows {
  private readonly windows = new Map<string, Window>();

  charge(model: string, tokens: number, limitRequests: number, limitTokens: number): RateLimitState {
    const now = monoMs();
    let w = this.windows.get(model);
    if (!w || now - w.startMs >= 60_000) {
      if (this.windows.size > 10_000) this.windows.clear();
      w = { startMs: now, requests: 0, tokens: 0 };
      this.windows.set(model, w);
    }
    w.requests++;
    w.tokens += tokens;
    const reset = Math.max(0.001, (w.startMs + 60_000 - now) / 1000);
    return {
      limitRequests,
      remainingRequests: Math.max(0, limitRequests - w.requests),
      resetRequestsS: reset,
      limitTokens,
      remainingTokens: Math.max(0, limitTokens - w.tokens),
      resetTokensS: reset,
    };
  }
}
