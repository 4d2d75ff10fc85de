import { context, propagation, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { DifyRequest, DifyTransport } from '../dify/DifyRequest.js';

const PATHS = {
  workflow: '/workflows/run',
  completion: '/completion-messages',
  chat: '/chat-messages',
} as const;

/** Options of {@link traceTransport}. */
export interface TraceTransportOptions {
  /** @defaultValue `trace.getTracer('dify-batch')` (a no-op until an OpenTelemetry provider is registered) */
  readonly tracer?: Tracer | undefined;
}

/**
 * Wraps a transport so each Dify call runs in its own OpenTelemetry client span (`POST /workflows/run`,
 * …), a child of the span active when the call starts. Pair it with `DifyClient`'s `headers: traceHeaders`
 * to send that span upstream as `traceparent`. Needs what the OpenTelemetry Node SDK registers: a tracer
 * provider, a propagator and an async context manager; without them it costs little and records nothing.
 *
 * @example
 * ```ts
 * import { DifyClient, runBatch, traceHeaders, traceTransport } from 'dify-batch';
 * const client = new DifyClient({ baseUrl, apiKey, headers: traceHeaders });
 * await runBatch({ source, sink, app: 'workflow', transport: traceTransport(client.transport) });
 * ```
 * @category metrics
 */
export function traceTransport(
  transport: DifyTransport,
  options: Readonly<TraceTransportOptions> = {},
): DifyTransport {
  const tracer = options.tracer ?? trace.getTracer('dify-batch');
  return (request, callOptions) => {
    const span = tracer.startSpan(`POST ${PATHS[request.app] ?? request.app}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': 'POST', 'dify.app': request.app },
    });
    // The transport builds its headers synchronously at the start of the call, inside this context.
    const call = context.with(trace.setSpan(context.active(), span), () => transport(request, callOptions));
    return call.then(
      (result) => {
        if (result.status === 'failed' || result.status === 'stopped')
          span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        return result;
      },
      (error: unknown) => {
        const code = (error as { code?: unknown } | null)?.code;
        span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
        span.end();
        throw error;
      },
    );
  };
}

/**
 * The active trace context as headers (`traceparent`, `tracestate`, by the registered propagator): pass
 * it as `DifyClient`'s `headers` option. Empty when no propagator is registered.
 * @category metrics
 */
export function traceHeaders(_request?: DifyRequest): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}
