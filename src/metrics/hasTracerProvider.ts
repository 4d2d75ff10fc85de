import { ProxyTracerProvider, trace } from '@opentelemetry/api';

/**
 * Whether an OpenTelemetry tracer provider has been registered globally (by a preloaded SDK, e.g.
 * `NODE_OPTIONS="--require @opentelemetry/auto-instrumentations-node/register"`). Without one, spans
 * are no-ops: `dify-batch run --trace` says so instead of silently recording nothing.
 */
export function hasTracerProvider(): boolean {
  const provider = trace.getTracerProvider();
  // The API's global proxy delegates to the registered provider, or to its no-op one, which every proxy
  // without a delegate shares.
  return !(
    provider instanceof ProxyTracerProvider &&
    provider.getDelegate() === new ProxyTracerProvider().getDelegate()
  );
}
