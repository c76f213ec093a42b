// Metadata read from HTTP heads: server address/port, W3C trace context, rate-limit headers,
// provider request ids. Pure functions over header lookups.
import type { ConnectionInfo } from '../capture/stream.ts';
import type { Headers } from '../protocols/http1.ts';
import type { RateLimitInfo } from './records.ts';

/** What a call record needs from the request head (kept instead of the whole head). */
export interface RequestMeta {
  method: string;
  path: string;
  address: string | null;
  port: number | null;
  traceId: string | null;
  spanId: string | null;
  /** Stainless SDKs' read timeout (s), when sent. */
  readTimeoutS: number | null;
  /** SDK retry ordinal (x-stainless-retry-count), as OTel http.request.resend_count. */
  resendCount: number | null;
}

export function requestMeta(req: { method: string; target: string; headers: Headers }, conn: ConnectionInfo, side: 'client' | 'server'): RequestMeta {
  const ep = serverEndpoint(req.headers.get('host'), conn, side);
  const tp = parseTraceparent(req.headers.get('traceparent'));
  const rt = req.headers.get('x-stainless-read-timeout');
  const readTimeoutS = rt !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(rt) && Number(rt) > 0 ? Number(rt) : null;
  const rc = req.headers.get('x-stainless-retry-count');
  const resendCount = rc !== undefined && /^\s*\d{1,6}\s*$/.test(rc) ? Number(rc) : null;
  return { method: req.method, path: splitTarget(req.target).path, address: ep.address, port: ep.port, traceId: tp?.traceId ?? null, spanId: tp?.spanId ?? null, readTimeoutS, resendCount };
}

export function splitTarget(target: string): { path: string; query: string } {
  let t = target;
  // absolute-form (proxies): http://host/path
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*(\/.*)?$/.exec(t);
  if (abs) t = abs[1] ?? '/';
  const q = t.indexOf('?');
  const rawPath = q < 0 ? t : t.slice(0, q);
  const query = q < 0 ? '' : t.slice(q + 1);
  // Keep paths bounded and free of query secrets (Gemini's ?key=...).
  return { path: rawPath.slice(0, 512), query };
}

export function serverEndpoint(host: string | undefined, conn: ConnectionInfo, side: 'client' | 'server'): { address: string | null; port: number | null } {
  const peer = side === 'client' ? conn.remote : conn.local;
  if (host !== undefined && host.length > 0) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(host.trim());
    if (m) {
      const address = m[1]!.replace(/^\[|\]$/g, '').toLowerCase();
      const port = m[2] !== undefined ? Number(m[2]) : (peer?.port ?? (conn.tls ? 443 : 80));
      return { address, port };
    }
  }
  if (conn.serverName) return { address: conn.serverName.toLowerCase(), port: peer?.port ?? null };
  return { address: peer?.address ?? null, port: peer?.port ?? null };
}

export function parseTraceparent(v: string | undefined): { traceId: string; spanId: string } | null {
  if (v === undefined) return null;
  const m = /^\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/.exec(v);
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return null;
  return { traceId: m[2]!, spanId: m[3]! };
}

function intHeader(h: Headers, ...names: string[]): number | null {
  for (const n of names) {
    const v = h.get(n);
    if (v !== undefined && /^\s*\d+\s*$/.test(v)) return Number(v);
  }
  return null;
}

/** Seconds from a Go-style duration ("8.64s", "132ms", "6m0s", "1h2m3s") or a plain number. */
export function parseDurationS(v: string): number | null {
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = '';
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    matched += m[0];
  }
  return matched.length === s.length && matched.length > 0 ? total : null;
}

export function rateLimitInfo(h: Headers | null): RateLimitInfo {
  if (h === null) return { remaining_requests: null, remaining_tokens: null, retry_after_s: null };
  const remaining_requests = intHeader(h, 'x-ratelimit-remaining-requests', 'anthropic-ratelimit-requests-remaining', 'ratelimit-remaining');
  const remaining_tokens = intHeader(h, 'x-ratelimit-remaining-tokens', 'anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-input-tokens-remaining');
  let retry_after_s: number | null = null;
  const ms = h.get('retry-after-ms');
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) retry_after_s = Number(ms) / 1000;
  else {
    const ra = h.get('retry-after');
    if (ra !== undefined) {
      if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) retry_after_s = Number(ra);
      else {
        // HTTP-date: relative to the response's own Date header (no wall clock needed)
        const at = Date.parse(ra);
        const now = Date.parse(h.get('date') ?? '');
        if (Number.isFinite(at) && Number.isFinite(now)) retry_after_s = Math.max(0, (at - now) / 1000);
      }
    }
  }
  return { remaining_requests, remaining_tokens, retry_after_s };
}

export function providerRequestId(h: Headers | null): string | null {
  if (h === null) return null;
  for (const n of ['x-request-id', 'request-id', 'apim-request-id', 'x-amzn-requestid', 'x-goog-request-id', 'cf-ray']) {
    const v = h.get(n);
    if (v !== undefined && v.length > 0) return v.slice(0, 128);
  }
  return null;
}
