import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DifyClient } from '../../src/dify/DifyClient.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { traceHeaders, traceTransport } from '../../src/metrics/traceTransport.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { startRecordingProxy, WORKFLOW_KEY } from '../gateway/helpers.js';
import { memorySink } from '../helpers/memorySink.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
  // What the OpenTelemetry Node SDK registers: a propagator and an async context manager.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  propagation.disable();
  context.disable();
  await emulator.close();
});

describe('traceTransport + traceHeaders', () => {
  it('one client span per Dify call of a run, its context sent upstream as traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const proxy = await startRecordingProxy(emulator.url);
    const client = new DifyClient({ baseUrl: proxy.url, apiKey: WORKFLOW_KEY, headers: traceHeaders });
    try {
      const records = [{ id: 'a' }, { id: 'b', __fault: 'failed' }, { id: 'c' }];
      const summary = await runBatch({
        source: fromAsyncIterable(records, { idField: 'id' }),
        sink: memorySink().sink,
        transport: traceTransport(client.transport, { tracer: provider.getTracer('test') }),
        app: 'workflow',
        concurrency: 2,
      });
      expect(summary.failed).toBe(1);
      const spans = exporter.getFinishedSpans();
      expect(spans).toHaveLength(3);
      for (const span of spans) {
        expect(span.kind).toBe(SpanKind.CLIENT);
        expect(span.name).toBe('POST /workflows/run');
      }
      expect(spans.filter((s) => s.status.code === SpanStatusCode.ERROR)).toHaveLength(1);
      const received = proxy.seen.map((s) => s.traceparent).sort();
      const expected = spans.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`).sort();
      expect(received).toEqual(expected);
    } finally {
      await client.close();
      await proxy.close();
      await provider.shutdown();
    }
  });

  it('sends no trace header when no propagator is registered (the no-op default)', async () => {
    propagation.disable();
    const proxy = await startRecordingProxy(emulator.url);
    const client = new DifyClient({ baseUrl: proxy.url, apiKey: WORKFLOW_KEY, headers: traceHeaders });
    try {
      await traceTransport(client.transport)(
        { app: 'workflow', inputs: { id: 'z' }, user: 'u', responseMode: 'blocking' },
        {},
      );
      expect(proxy.seen.map((s) => s.traceparent)).toEqual([undefined]);
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      await client.close();
      await proxy.close();
    }
  });

  it('DifyClient refuses a headers option that is not a function', () => {
    expect(
      () => new DifyClient({ baseUrl: emulator.url, apiKey: WORKFLOW_KEY, headers: {} as never }),
    ).toThrow(/`headers`/);
  });
});
