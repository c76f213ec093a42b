// Spans for the RAG app, with or without the OpenTelemetry JS SDK. Without it, W3C ids are
// generated here and every span is still recorded to the ground truth; with it, spans are
// real SDK spans (exported over OTLP/HTTP protobuf when an endpoint is given) and the
// outbound traceparent comes from the SDK's W3C propagator.
import { childOf, formatTraceparent, type TraceContext } from './traceparent.ts';
import { stamp, type Stamp } from './clock.ts';

export interface SpanRecord {
  name: string;
  kind: 'server' | 'client' | 'internal';
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  start: Stamp;
  end: Stamp | null;
  attributes: Record<string, string | number | boolean>;
  error: string | null;
}

export interface SpanHandle {
  readonly ctx: TraceContext;
  readonly record: SpanRecord;
  /** The traceparent to send on an outbound call made inside this span. */
  traceparent(): string;
  set(key: string, value: string | number | boolean): void;
  end(error?: string | null): void;
}

export interface RagTracer {
  readonly mode: 'plain' | 'otel';
  startSpan(name: string, kind: SpanRecord['kind'], parent: TraceContext | null, attributes?: Record<string, string | number | boolean>): SpanHandle;
  shutdown(): Promise<void>;
}

function baseRecord(name: string, kind: SpanRecord['kind'], ctx: TraceContext, parent: TraceContext | null, attributes: Record<string, string | number | boolean>): SpanRecord {
  return { name, kind, trace_id: ctx.traceId, span_id: ctx.spanId, parent_span_id: parent?.spanId ?? null, start: stamp(), end: null, attributes: { ...attributes }, error: null };
}

export class PlainTracer implements RagTracer {
  readonly mode = 'plain' as const;
  startSpan(name: string, kind: SpanRecord['kind'], parent: TraceContext | null, attributes: Record<string, string | number | boolean> = {}): SpanHandle {
    const ctx = childOf(parent);
    const record = baseRecord(name, kind, ctx, parent, attributes);
    return {
      ctx,
      record,
      traceparent: () => formatTraceparent(ctx),
      set: (k, v) => {
        record.attributes[k] = v;
      },
      end: (error = null) => {
        record.end = stamp();
        record.error = error;
      },
    };
  }
  async shutdown(): Promise<void> {}
}

export async function createOtelTracer(serviceName: string, otlpEndpoint: string | null): Promise<RagTracer> {
  const api = await import('@opentelemetry/api');
  const { NodeTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const processors = [];
  if (otlpEndpoint) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpEndpoint })));
  }
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': serviceName }), spanProcessors: processors });
  const propagator = new W3CTraceContextPropagator();
  const tracer = provider.getTracer('llmslo-sim-rag');
  const kinds = { server: api.SpanKind.SERVER, client: api.SpanKind.CLIENT, internal: api.SpanKind.INTERNAL };
  return {
    mode: 'otel',
    startSpan(name, kind, parent, attributes = {}) {
      const parentCtx = parent
        ? api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE, isRemote: true })
        : api.ROOT_CONTEXT;
      const span = tracer.startSpan(name, { kind: kinds[kind], attributes }, parentCtx);
      const sc = span.spanContext();
      const ctx: TraceContext = { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & api.TraceFlags.SAMPLED) === api.TraceFlags.SAMPLED };
      const record = baseRecord(name, kind, ctx, parent, attributes);
      return {
        ctx,
        record,
        traceparent: () => {
          const carrier: Record<string, string> = {};
          propagator.inject(api.trace.setSpan(api.ROOT_CONTEXT, span), carrier, api.defaultTextMapSetter);
          return carrier.traceparent ?? formatTraceparent(ctx);
        },
        set: (k, v) => {
          record.attributes[k] = v;
          span.setAttribute(k, v);
        },
        end: (error = null) => {
          record.end = stamp();
          record.error = error;
          if (error) {
            span.setAttribute('error.type', error);
            span.setStatus({ code: api.SpanStatusCode.ERROR, message: error });
          }
          span.end();
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
