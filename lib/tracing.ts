/**
 * Optional OpenTelemetry tracing, off by default: with an OTLP endpoint configured, a span per
 * GraphQL operation and per tier call (Postgres, ClickHouse, Redis, the vector index, Kafka)
 * is exported over OTLP/HTTP, so a slow query shows which database was slow. The tier spans
 * are children of the operation's span through Node's async context. Without an endpoint no
 * provider is registered and every span is the API's no-op: the instrumentation costs nothing.
 */
import { context, INVALID_SPAN_CONTEXT, SpanStatusCode, trace, type Span } from '@opentelemetry/api';

/** The span handed to `fn` while tracing is off: records nothing. */
const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The tracer every component uses (no-op until a provider is registered). */
export const tracer = () => trace.getTracer('yieldsensei');

// OpenTelemetry's provider is process-global by design (trace.setGlobalTracerProvider); this
// flag mirrors it so the hot path skips even the no-op span objects while tracing is off.
let enabled = false;

/** The current trace id, for log lines; undefined when tracing is off or outside a span. */
export function currentTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const id = span.spanContext().traceId;
  return id && id !== '00000000000000000000000000000000' ? id : undefined;
}

/** Runs `fn` in a span named `name`, recording a thrown error on it. */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(NO_SPAN);
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A started tracing pipeline; `stop()` flushes the spans still buffered. */
export interface Tracing {
  stop(): Promise<void>;
}

/** Registers a tracer provider exporting to `endpoint` (OTLP/HTTP, e.g. http://collector:4318). */
export async function startTracing(options: { endpoint: string; serviceName: string }): Promise<Tracing> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  });
  // Registers the async-hooks context manager too: children find their parent across awaits.
  provider.register();
  enabled = true;
  return {
    async stop() {
      enabled = false;
      await provider.forceFlush();
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}
