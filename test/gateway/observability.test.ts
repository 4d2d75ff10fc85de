import { Writable } from 'node:stream';
import { propagation, SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { startGateway } from '../../src/gateway/startGateway.js';
import { BatchMetrics } from '../../src/metrics/BatchMetrics.js';
import { postBatch, startRecordingProxy, WORKFLOW_KEY } from './helpers.js';

let emulator: Emulator;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
  emulator.reset();
});

/** The value of one sample line of a Prometheus exposition, e.g. `name{label="x"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('gateway observability', () => {
  it('GET /metrics counts requests, items, errors by code, retries and upstream latency', async () => {
    const gateway = await startGateway({ upstream: emulator.url, retry: { maxAttempts: 2, baseDelayMs: 1 } });
    open.push(gateway);
    const inputs = [{ id: 'm1' }, { id: 'm2', __fault: '500' }, { id: 'm3' }, { id: 'm4', __fault: '500:1' }];
    const { status } = await postBatch(`${gateway.url}/v1/workflows/run/batch`, { inputs, user: 'u' });
    expect(status).toBe(207);
    await postBatch(`${gateway.url}/v1/workflows/run/batch`, { inputs: [] }); // 400
    const response = await fetch(`${gateway.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(sample(text, 'dify_batch_requests_total{route="workflows_run_batch",status="207"}')).toBe(1);
    expect(sample(text, 'dify_batch_requests_total{route="workflows_run_batch",status="400"}')).toBe(1);
    expect(sample(text, 'dify_batch_items_total{outcome="succeeded"}')).toBe(3);
    expect(sample(text, 'dify_batch_items_total{outcome="failed"}')).toBe(1);
    expect(sample(text, 'dify_batch_errors_total{code="internal_server_error"}')).toBe(1);
    // m2 retried once (then final), m4 retried once (then succeeded).
    expect(sample(text, 'dify_batch_retries_total')).toBe(2);
    expect(sample(text, 'dify_batch_upstream_duration_seconds_count{outcome="ok"}')).toBe(3);
    expect(sample(text, 'dify_batch_upstream_duration_seconds_count{outcome="error"}')).toBe(3);
    expect(sample(text, 'dify_batch_upstream_in_flight')).toBe(0);
    expect(sample(text, 'dify_batch_queue_depth')).toBe(0);
    expect(sample(text, 'dify_batch_concurrency_limit')).toBe(16);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).not.toContain(WORKFLOW_KEY);
    expect(emulator.stats().requests).toBe(6);
  });

  it('two gateways in one process keep separate registries', async () => {
    const a = await startGateway({
      upstream: emulator.url,
      metrics: new BatchMetrics({ processMetrics: false }),
    });
    const b = await startGateway({
      upstream: emulator.url,
      metrics: new BatchMetrics({ processMetrics: false }),
    });
    open.push(a, b);
    await postBatch(`${a.url}/v1/workflows/run/batch`, { inputs: [{ id: 'r1' }], user: 'u' });
    const textA = await (await fetch(`${a.url}/metrics`)).text();
    const textB = await (await fetch(`${b.url}/metrics`)).text();
    expect(sample(textA, 'dify_batch_items_total{outcome="succeeded"}')).toBe(1);
    expect(sample(textB, 'dify_batch_items_total{outcome="succeeded"}')).toBeUndefined();
  });

  it('logs one JSON line per batch request with the Authorization header redacted, the key nowhere', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(
          ...chunk
            .toString()
            .split('\n')
            .filter((l) => l !== ''),
        );
        callback();
      },
    });
    const gateway = await startGateway({ upstream: emulator.url, logger: pino({ level: 'info' }, sink) });
    open.push(gateway);
    const badKey = 'app-SomeSecretKeyValue0000000';
    await postBatch(`${gateway.url}/v1/workflows/run/batch`, { inputs: [{ id: 'l1' }], user: 'u' });
    await postBatch(
      `${gateway.url}/v1/workflows/run/batch`,
      { inputs: [{ id: 'l2' }], user: 'u' },
      {
        authorization: `Bearer ${badKey}`,
      },
    );
    await gateway.close();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const batches = records.filter((r) => r.msg === 'batch request');
    expect(batches).toHaveLength(2);
    expect(batches[0]).toMatchObject({
      component: 'gateway',
      req: { method: 'POST', url: '/v1/workflows/run/batch', headers: { authorization: '[Redacted]' } },
      res: { statusCode: 200 },
      items: 1,
      succeeded: 1,
      failed: 0,
    });
    expect(batches[1]).toMatchObject({ res: { statusCode: 207 }, failed: 1 });
    const all = lines.join('\n');
    expect(all).not.toContain(WORKFLOW_KEY);
    expect(all).not.toContain(badKey);
  });

  it('exports a server span per batch with one child client span per upstream call, traceparent sent upstream', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    open.push({ close: async () => propagation.disable() });
    const proxy = await startRecordingProxy(emulator.url);
    open.push(proxy);
    const gateway = await startGateway({ upstream: proxy.url, tracer: provider.getTracer('test') });
    open.push(gateway);
    // The caller's own trace: the gateway's span must join it.
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    const { status } = await postBatch(
      `${gateway.url}/v1/workflows/run/batch`,
      { inputs: [{ id: 't1' }, { id: 't2' }], user: 'u' },
      { authorization: `Bearer ${WORKFLOW_KEY}`, traceparent: `00-${callerTrace}-b7ad6b7169203331-01` },
    );
    expect(status).toBe(200);
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(server.name).toBe('POST /v1/workflows/run/batch');
    expect(server.spanContext().traceId).toBe(callerTrace);
    expect(server.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(server.attributes['http.response.status_code']).toBe(200);
    expect(clients).toHaveLength(2);
    for (const client of clients) {
      expect(client.name).toBe('POST /workflows/run');
      expect(client.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
      expect(client.spanContext().traceId).toBe(callerTrace);
    }
    // What the upstream received: each call's own client span as its parent.
    const received = proxy.seen.map((s) => s.traceparent).sort();
    const expected = clients.map((c) => `00-${callerTrace}-${c.spanContext().spanId}-01`).sort();
    expect(received).toEqual(expected);
    await provider.shutdown();
  });
});
