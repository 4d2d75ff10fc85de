import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { type Gateway, startGateway } from '../../src/gateway/startGateway.js';
import { keyOf, WORKFLOW_KEY } from '../gateway/helpers.js';
import { ndjson } from '../gateway/jobs/jobHelpers.js';

const main = join(import.meta.dirname, '../../dist/cli/main.js');
let emulator: Emulator;
let gateway: Gateway;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 2 } });
  dir = await mkdtemp(join(tmpdir(), 'jobs-cli-'));
  gateway = await startGateway({
    upstream: emulator.url,
    concurrency: 4,
    jobs: { dataDir: join(dir, 'data') },
  });
});
afterAll(async () => {
  await gateway.close();
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the built CLI; resolves with its exit code and output (never rejects). */
async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, 'jobs', ...args],
      { env: { ...process.env, DIFY_BATCH_GATEWAY: gateway.url, DIFY_API_KEY: WORKFLOW_KEY, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number((error as { code?: number }).code), stdout, stderr });
      },
    );
  });
}

describe('dify-batch jobs', () => {
  it('submit --wait, status, results (NDJSON, CSV, --errors), list', async () => {
    const input = join(dir, 'rows.ndjson');
    await writeFile(
      input,
      ndjson(12, (i) => (i === 5 ? { __fault: 'failed', id: 'cli-bad' } : { id: `cli-${i}` })),
    );
    const submitted = await cli(['submit', input, '--id-field', 'id', '--wait']);
    expect(submitted.code).toBe(2);
    const job = JSON.parse(submitted.stdout);
    expect(job).toMatchObject({ status: 'succeeded', counts: { written: 12, failed: 1 } });
    expect(submitted.stderr).toMatch(/succeeded: 12\/12 written, 1 failed/);

    const status = await cli(['status', job.id]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).id).toBe(job.id);

    const results = await cli(['results', job.id]);
    const ids = results.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id);
    expect(ids).toEqual([...Array(12).keys()].map((i) => (i === 5 ? 'cli-bad' : `cli-${i}`)));
    const csv = await cli(['results', job.id, '--format', 'csv', '-o', join(dir, 'out.csv')]);
    expect(csv.code).toBe(0);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(join(dir, 'out.csv'), 'utf8')).split('\n')).toHaveLength(14);
    const errors = await cli(['results', job.id, '--errors']);
    expect(JSON.parse(errors.stdout).id).toBe('cli-bad');

    const list = await cli(['list']);
    expect(list.stdout).toContain(job.id);
  });

  it('submit without --wait prints the 202 body; cancel stops the job', async () => {
    const input = join(dir, 'big.ndjson');
    await writeFile(input, ndjson(20_000));
    const submitted = await cli(['submit', input, '--concurrency', '1']);
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout);
    expect(job.status).toBe('queued');
    const cancelled = await cli(['cancel', job.id]);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout).status).toBe('cancelled');
  });

  it('fails with one line and exit 1: no key, another key (404), an unreachable gateway', async () => {
    const noKey = await cli(['status', 'job_x'], { DIFY_API_KEY: '' });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toBe(
      'dify-batch: missing --api-key (or env DIFY_API_KEY): jobs belong to the key that submits them\n',
    );
    const { stdout } = await cli(['list']);
    const id = JSON.parse(stdout.split('\n')[0]!).id as string;
    const other = await cli(['status', id], { DIFY_API_KEY: keyOf('chat') });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      /^dify-batch: GET \/v1\/jobs\/job_\w+: HTTP 404: no job job_\w+ for this key\n$/,
    );
    expect(other.stderr).not.toContain(keyOf('chat'));
    const down = await cli(['list', '--gateway', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^dify-batch: cannot reach the gateway at http:\/\/127\.0\.0\.1:1/);
  });
});
