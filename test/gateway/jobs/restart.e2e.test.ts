import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../src/emulator/startEmulator.js';
import { runBinary } from '../../helpers/runBinary.js';
import { type ServeProcess, startServe, WORKFLOW_KEY } from '../helpers.js';
import { call, isOver, lines, ndjson, submitJob, waitForJob } from './jobHelpers.js';

let emulator: Emulator;
let dataDir: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 10 } });
  dataDir = await mkdtemp(join(tmpdir(), 'jobs-kill-'));
});
afterAll(async () => {
  await emulator.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** `dify-batch serve` with a data directory, keys sealed with a secret from the environment. */
const serve = (upstream = emulator.url): Promise<ServeProcess> =>
  startServe(['--port', '0', '--upstream', upstream, '--concurrency', '4', '--data-dir', dataDir], {
    DIFY_BATCH_JOBS_SECRET: 'kill-test-secret',
  });

describe('a job survives SIGKILL of the gateway', () => {
  it('completes after a restart with exactly one result per input, in order', async () => {
    const first = await serve();
    const total = 1500;
    const { status, body } = await submitJob(first.url, WORKFLOW_KEY, ndjson(total), {
      query: '?id_field=id',
    });
    expect(status).toBe(202);
    const before = await waitForJob(first.url, WORKFLOW_KEY, body.id, (j) => j.counts.written >= 300);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    expect(before.counts.written).toBeLessThan(total);
    const record = JSON.parse(await readFile(join(dataDir, body.id, 'job.json'), 'utf8'));
    expect(record.status).toBe('running');

    const second = await serve();
    try {
      const done = await waitForJob(second.url, WORKFLOW_KEY, body.id, isOver, 60_000);
      expect(done.status).toBe('succeeded');
      expect(done.counts).toMatchObject({ written: total, succeeded: total, failed: 0 });
      const results = lines((await call(second.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/results`)).text);
      expect(results).toHaveLength(total);
      expect(results.map((r) => r.seq)).toEqual([...Array(total).keys()]);
      expect(results.map((r) => r.id)).toEqual([...Array(total).keys()].map((i) => `r${i}`));
      expect(results.every((r) => r.ok === true)).toBe(true);
    } finally {
      second.child.kill('SIGINT');
      await once(second.child, 'exit');
    }
  });

  it('polls back the streaming workflow runs in flight at the kill instead of paying for them twice', async () => {
    // Slow runs: at the kill every one of the 4 slots holds a run that has sent `workflow_started`.
    const slow = await startEmulator({ latency: { kind: 'fixed', ms: 400 } });
    const first = await serve(slow.url);
    const total = 60;
    try {
      const { status, body } = await submitJob(first.url, WORKFLOW_KEY, ndjson(total), {
        query: '?id_field=id&response_mode=streaming',
      });
      expect(status).toBe(202);
      await waitForJob(first.url, WORKFLOW_KEY, body.id, (j) => j.counts.written >= 8);
      // Mid-run: past the next run's `workflow_started`, before its end.
      await sleep(200);
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      const second = await serve(slow.url);
      try {
        const done = await waitForJob(second.url, WORKFLOW_KEY, body.id, isOver, 60_000);
        expect(done.counts).toMatchObject({ written: total, succeeded: total, failed: 0 });
        const results = lines((await call(second.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/results`)).text);
        expect(results.map((r) => r.id)).toEqual([...Array(total).keys()].map((i) => `r${i}`));
        // Without the poll-back every run in flight at the kill (4) is made again.
        const stats = slow.stats();
        expect(stats.duplicates).toBeLessThan(4);
      } finally {
        second.child.kill('SIGINT');
        await once(second.child, 'exit');
      }
    } finally {
      await slow.close();
    }
  });

  it('refuses an unreadable --secret-file with one line and exit code 1, before listening', async () => {
    const { code, stderr: err } = await runBinary(
      ['serve', '--port', '0', '--upstream', emulator.url, '--secret-file', join(dataDir, 'missing')],
      {},
    );
    expect(code).toBe(1);
    expect(err).toBe(`dify-batch: cannot read --secret-file ${join(dataDir, 'missing')}: ENOENT\n`);
  });
});
