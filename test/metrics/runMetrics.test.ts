import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/runCli.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { startRunMetrics } from '../../src/metrics/startRunMetrics.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { toFile } from '../../src/sinks/toFile.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { captureStream } from '../helpers/captureStream.js';
import { memorySink } from '../helpers/memorySink.js';

const WORKFLOW_KEY = 'app-EmulatorWorkflowKey00001';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('run metrics', () => {
  it("the observed sink keeps the file sink's byte count, fsync and close options (the checkpoint needs them)", async () => {
    const metrics = await startRunMetrics(0);
    try {
      const dir = await mkdtemp(join(tmpdir(), 'dify-batch-metrics-'));
      const file = toFile(join(dir, 'out.ndjson'));
      const observed = metrics.observe(file);
      await observed.write([{ seq: 0, id: 'a', ok: true, outputs: {}, attempts: 1, latencyMs: 1 }]);
      expect(observed.bytesWritten).toBe(file.bytesWritten);
      expect(observed.bytesWritten).toBeGreaterThan(0);
      await observed.sync?.();
      await observed.close();
    } finally {
      await metrics.close();
    }
  });

  it('counts what runBatch writes: items, errors by code, retries, record latency', async () => {
    const metrics = await startRunMetrics(0);
    try {
      const records = Array.from({ length: 20 }, (_, i) => ({
        id: `k${i}`,
        ...(i === 3 ? { __fault: 'failed' } : {}),
        ...(i === 5 ? { __fault: '500:1' } : {}),
      }));
      const sink = memorySink();
      const summary = await runBatch({
        source: fromAsyncIterable(records, { idField: 'id' }),
        sink: metrics.observe(sink.sink),
        dify: { baseUrl: emulator.url, apiKey: WORKFLOW_KEY },
        app: 'workflow',
        concurrency: 4,
        retry: { baseDelayMs: 1 },
        onProgress: (p) => metrics.progress(p),
      });
      expect(summary.failed).toBe(1);
      const text = await (await fetch(`${metrics.url}/metrics`)).text();
      expect(sample(text, 'dify_batch_items_total{outcome="succeeded"}')).toBe(19);
      expect(sample(text, 'dify_batch_items_total{outcome="failed"}')).toBe(1);
      expect(sample(text, 'dify_batch_errors_total{code="ERR_DIFY_RUN_FAILED"}')).toBe(1);
      expect(sample(text, 'dify_batch_retries_total')).toBe(1);
      expect(sample(text, 'dify_batch_upstream_duration_seconds_count{outcome="ok"}')).toBe(19);
      expect(sample(text, 'dify_batch_upstream_in_flight')).toBe(0);
      expect(text).not.toContain(WORKFLOW_KEY);
      expect((await fetch(`${metrics.url}/other`)).status).toBe(404);
    } finally {
      await metrics.close();
    }
  });

  it('run --metrics-port serves the metrics during the run and prints where', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dify-batch-metrics-'));
    const input = join(dir, 'in.ndjson');
    await writeFile(input, Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: i })).join('\n'));
    const stderr = captureStream();
    const code = await runCli(
      ['run', '-i', input, '-o', join(dir, 'out.ndjson'), '--metrics-port', '0', '--no-progress'],
      {
        env: { DIFY_BASE_URL: emulator.url, DIFY_API_KEY: WORKFLOW_KEY },
        stdout: captureStream().stream,
        stderr: stderr.stream,
        drainSignal: new AbortController().signal,
        abortSignal: new AbortController().signal,
      },
      '0.0.0-test',
    );
    expect(code).toBe(0);
    const url = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr.text())?.[1];
    expect(url).toBeDefined();
    // Closed with the run.
    await expect(fetch(url!)).rejects.toThrow();
  });
});
