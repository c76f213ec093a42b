// W3C Trace Context without the OpenTelemetry SDK: fresh ids and parsing, so propagation
// works whether or not the SDK is enabled.
import { randomBytes } from 'node:crypto';

export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(header: string | string[] | undefined): TraceContext | null {
  if (typeof header !== 'string') return null;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return null;
  return { traceId: m[1], spanId: m[2], sampled: (parseInt(m[3], 16) & 1) === 1 };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

export function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

export function newTraceContext(): TraceContext {
  return { traceId: randomBytes(16).toString('hex'), spanId: newSpanId(), sampled: true };
}

/** A child context: same trace, new span id. */
export function childOf(parent: TraceContext | null): TraceContext {
  return parent ? { traceId: parent.traceId, spanId: newSpanId(), sampled: parent.sampled } : newTraceContext();
}
