import { afterEach, describe, expect, it } from 'vitest';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { type Gateway, startGateway } from '../../src/gateway/startGateway.js';
import { postBatch, type RecordingProxy, startRecordingProxy, WORKFLOW_KEY, waitFor } from './helpers.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function setUp(
  latencyMs: number,
  gatewayOptions: { concurrency: number; queue?: number; maxItems?: number; retry?: { maxAttempts: number } },
  viaProxy = false,
): Promise<{ emulator: Emulator; gateway: Gateway; proxy?: RecordingProxy }> {
  const emulator = await startEmulator({ latency: { kind: 'fixed', ms: latencyMs } });
  open.push(emulator);
  const proxy = viaProxy ? await startRecordingProxy(emulator.url) : undefined;
  if (proxy) open.push(proxy);
  const gateway = await startGateway({ upstream: proxy?.url ?? emulator.url, ...gatewayOptions });
  open.push(gateway);
  return { emulator, gateway, ...(proxy ? { proxy } : {}) };
}

const inputsOf = (n: number, prefix = '') => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}` }));

describe('gateway scheduling', () => {
  it('two clients together never exceed the upstream concurrency, each gets its own results in order', async () => {
    const { emulator, gateway } = await setUp(15, { concurrency: 3 });
    const url = `${gateway.url}/v1/workflows/run/batch`;
    const a = inputsOf(24, 'a');
    const b = inputsOf(24, 'b');
    const [ra, rb] = await Promise.all([
      postBatch(url, { inputs: a, user: 'a' }),
      postBatch(url, { inputs: b, user: 'b' }),
    ]);
    expect(ra.status).toBe(200);
    expect(rb.status).toBe(200);
    expect(ra.body.results.map((r) => r.data?.data?.outputs)).toEqual(
      a.map((i) => emulatedOutputs('workflow', i)),
    );
    expect(rb.body.results.map((r) => r.data?.data?.outputs)).toEqual(
      b.map((i) => emulatedOutputs('workflow', i)),
    );
    const stats = emulator.stats();
    expect(stats.requests).toBe(48);
    expect(stats.peakActive).toBeLessThanOrEqual(3);
    // Both batches ran interleaved under one limit, not one after the other at full width each.
    expect(stats.peakActive).toBe(3);
  });

  it('a client that disconnects mid-batch cancels its calls: those not yet started are never made', async () => {
    const { emulator, gateway } = await setUp(100, { concurrency: 2 });
    const controller = new AbortController();
    const request = fetch(`${gateway.url}/v1/workflows/run/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WORKFLOW_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: inputsOf(30), user: 'u' }),
      signal: controller.signal,
    });
    await waitFor(() => emulator.stats().active === 2);
    controller.abort();
    await expect(request).rejects.toThrow();
    await waitFor(async () => {
      const health = (await (await fetch(`${gateway.url}/healthz`)).json()) as {
        queued: number;
        inFlight: number;
      };
      return health.queued === 0 && health.inFlight === 0;
    });
    await waitFor(() => emulator.stats().active === 0);
    // Wait well beyond what the rest of the batch would take at full speed, then count again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stats = emulator.stats();
    expect(stats.requests).toBeLessThanOrEqual(4);
    expect(stats.requests).toBeGreaterThanOrEqual(2);
  });

  it('answers 429 with Retry-After when the queue cannot take a batch, and calls nothing for it', async () => {
    const { emulator, gateway } = await setUp(200, { concurrency: 1, queue: 3, maxItems: 3 });
    const url = `${gateway.url}/v1/workflows/run/batch`;
    const first = postBatch(url, { inputs: inputsOf(3, 'first'), user: 'u' });
    await waitFor(() => emulator.stats().active === 1);
    // 2 items still queued: a second batch of 2 does not fit in a queue of 3.
    const second = await postBatch(url, { inputs: inputsOf(2, 'second'), user: 'u' });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(second.body).toEqual({
      code: 'too_many_requests',
      message: 'Too many requests. The gateway queue is full; retry after the delay in Retry-After.',
      status: 429,
    });
    expect((await first).status).toBe(200);
    expect(Object.keys(emulator.stats().callsPerInput!).sort()).toEqual(['first0', 'first1', 'first2']);
  });

  it('streams NDJSON lines in input order as soon as each prefix is ready, then a summary line', async () => {
    const { gateway, proxy } = await setUp(0, { concurrency: 4, retry: { maxAttempts: 1 } }, true);
    // Whatever happens, let the held call go so the servers can close.
    open.push({ close: async () => proxy!.release() });
    const inputs = [{ id: 'x0' }, { id: 'x1', __fault: '500' }, { id: 'x2', hold: true }, { id: 'x3' }];
    const response = await fetch(`${gateway.url}/v1/workflows/run/batch`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${WORKFLOW_KEY}`,
        'content-type': 'application/json',
        accept: 'application/x-ndjson',
      },
      body: JSON.stringify({ inputs, user: 'u' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const lines = (): string[] => text.split('\n').filter((l) => l !== '');
    // x2 is held upstream: x0 and x1 (the ready prefix) arrive, x3 (finished, but after x2) does not.
    while (lines().length < 2) text += decoder.decode((await reader.read()).value, { stream: true });
    await waitFor(() => proxy!.seen.length >= 4);
    expect(lines().map((l) => (JSON.parse(l) as { index: number }).index)).toEqual([0, 1]);
    proxy!.release();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const parsed = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p.index)).toEqual([0, 1, 2, 3, undefined]);
    expect(parsed[1]).toMatchObject({ index: 1, status: 500, error: { code: 'internal_server_error' } });
    expect((parsed[2]!.data as { data: { outputs: unknown } }).data.outputs).toEqual(
      emulatedOutputs('workflow', { id: 'x2', hold: true }),
    );
    expect(parsed[4]).toEqual({ succeeded: 3, failed: 1, individual_errors: [1] });
  });

  it('uses --api-key for every upstream call and then needs no caller key', async () => {
    const emulator = await startEmulator();
    open.push(emulator);
    const gateway = await startGateway({ upstream: emulator.url, apiKey: WORKFLOW_KEY });
    open.push(gateway);
    const { status, body } = await postBatch(
      `${gateway.url}/v1/workflows/run/batch`,
      { inputs: [{ id: 1 }], user: 'u' },
      { authorization: 'Bearer app-SomebodyElsesKey00000000' },
    );
    expect(status).toBe(200);
    expect(body.succeeded).toBe(1);
    const anonymous = await postBatch(
      `${gateway.url}/v1/workflows/run/batch`,
      { inputs: [{ id: 2 }], user: 'u' },
      {},
    );
    expect(anonymous.status).toBe(200);
  });

  it('close() lets a batch in progress finish; aborting the signal cuts batches short', async () => {
    const emulator = await startEmulator({ latency: { kind: 'fixed', ms: 60 } });
    open.push(emulator);
    const graceful = await startGateway({ upstream: emulator.url, concurrency: 2 });
    const batch = postBatch(`${graceful.url}/v1/workflows/run/batch`, {
      inputs: inputsOf(4, 'g'),
      user: 'u',
    });
    await waitFor(() => emulator.stats().active > 0);
    const closed = graceful.close();
    const { status, body } = await batch;
    expect(status).toBe(200);
    expect(body.succeeded).toBe(4);
    await closed;
    await expect(fetch(`${graceful.url}/healthz`)).rejects.toThrow();

    emulator.reset();
    const controller = new AbortController();
    const hard = await startGateway({ upstream: emulator.url, concurrency: 2, signal: controller.signal });
    const cut = postBatch(`${hard.url}/v1/workflows/run/batch`, { inputs: inputsOf(30, 'h'), user: 'u' });
    await waitFor(() => emulator.stats().active === 2);
    controller.abort();
    await expect(cut).rejects.toThrow();
    await hard.close();
    expect(emulator.stats().requests).toBeLessThanOrEqual(4);
  });

  it('adapts its limit to the app concurrency limit (AIMD) and still answers every element', async () => {
    const emulator = await startEmulator({ latency: { kind: 'fixed', ms: 10 }, maxActiveRequests: 3 });
    open.push(emulator);
    const gateway = await startGateway({
      upstream: emulator.url,
      concurrency: 12,
      retry: { maxAttempts: 20, baseDelayMs: 5, maxDelayMs: 50 },
    });
    open.push(gateway);
    const inputs = inputsOf(60, 'adapt');
    const { status, body } = await postBatch(`${gateway.url}/v1/workflows/run/batch`, { inputs, user: 'u' });
    expect(status).toBe(200);
    expect(body.results.map((r) => r.data?.data?.outputs)).toEqual(
      inputs.map((i) => emulatedOutputs('workflow', i)),
    );
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const limit = Number(/^dify_batch_concurrency_limit (\d+)/m.exec(metrics)?.[1]);
    expect(emulator.stats().rejectedConcurrency).toBeGreaterThan(0);
    expect(limit).toBeLessThan(12);
    expect(Number(/^dify_batch_retries_total (\d+)/m.exec(metrics)?.[1])).toBe(
      emulator.stats().rejectedConcurrency,
    );
  });
});
