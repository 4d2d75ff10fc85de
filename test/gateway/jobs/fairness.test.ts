import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../src/emulator/startEmulator.js';
import { type Gateway, startGateway } from '../../../src/gateway/startGateway.js';
import { postBatch, WORKFLOW_KEY } from '../helpers.js';
import { call, isOver, lines, ndjson, submitJob, waitForJob } from './jobHelpers.js';

let emulator: Emulator;
let gateway: Gateway;
let dataDir: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 5 } });
  dataDir = await mkdtemp(join(tmpdir(), 'jobs-fair-'));
  gateway = await startGateway({ upstream: emulator.url, concurrency: 4, jobs: { dataDir } });
});
afterAll(async () => {
  await gateway.close();
  await emulator.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('jobs share the gateway fairly', () => {
  it('a 10-item job submitted while a 10,000-item job runs finishes long before the big one', async () => {
    const big = await submitJob(gateway.url, WORKFLOW_KEY, ndjson(10_000));
    await waitForJob(gateway.url, WORKFLOW_KEY, big.body.id, (j) => j.counts.written >= 200);
    const otherKey = WORKFLOW_KEY;
    const small = await submitJob(
      gateway.url,
      otherKey,
      ndjson(10, (i) => ({ id: `small-${i}` })),
    );
    const done = await waitForJob(gateway.url, otherKey, small.body.id, isOver);
    const bigNow = (await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${big.body.id}`)).json();
    expect(done.status).toBe('succeeded');
    expect(done.counts.succeeded).toBe(10);
    // The big job is still far from done: the small one did not wait behind it.
    expect(bigNow.status).toBe('running');
    expect((bigNow.counts as { written: number }).written).toBeLessThan(9_000);
    const results = lines((await call(gateway.url, otherKey, `/v1/jobs/${small.body.id}/results`)).text);
    expect(results.map((r) => r.seq)).toEqual([...Array(10).keys()]);
    console.log(
      `fairness: small job done in ${Date.parse(done.finished_at!) - Date.parse(done.created_at)} ms while the big one had written ${(bigNow.counts as { written: number }).written} of 10000`,
    );
    await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${big.body.id}/cancel`, 'POST');
  });

  it('jobs and synchronous batches share one concurrency: the upstream never sees more than --concurrency', async () => {
    const upstream = await startEmulator({ latency: { kind: 'fixed', ms: 10 } });
    const dir = await mkdtemp(join(tmpdir(), 'jobs-share-'));
    const shared = await startGateway({ upstream: upstream.url, concurrency: 3, jobs: { dataDir: dir } });
    try {
      const a = await submitJob(shared.url, WORKFLOW_KEY, ndjson(150), { query: '?concurrency=100' });
      expect(a.body.options.concurrency).toBe(3);
      const b = await submitJob(
        shared.url,
        WORKFLOW_KEY,
        ndjson(150, (i) => ({ id: `b-${i}` })),
      );
      const batch = await postBatch(`${shared.url}/v1/workflows/run/batch`, {
        inputs: Array.from({ length: 30 }, (_, i) => ({ id: `sync-${i}` })),
        user: 'u',
      });
      expect(batch.status).toBe(200);
      for (const job of [a, b]) {
        const done = await waitForJob(shared.url, WORKFLOW_KEY, job.body.id, isOver);
        expect(done.counts.succeeded).toBe(150);
      }
      expect(upstream.stats().peakActive).toBeLessThanOrEqual(3);
      expect(upstream.stats().peakActive).toBeGreaterThanOrEqual(2);
    } finally {
      await shared.close();
      await upstream.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
