import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { runBinary } from '../helpers/runBinary.js';
import { postBatch, startServe, WORKFLOW_KEY } from './helpers.js';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe('dify-batch serve', () => {
  it('prints its base URL, serves batches, logs JSON without the key, stops on SIGINT with code 0', async () => {
    const { child, url, stderr } = await startServe([
      '--port',
      '0',
      '--upstream',
      emulator.url,
      '--concurrency',
      '2',
    ]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { status, body } = await postBatch(`${url}/v1/workflows/run/batch`, {
      inputs: [{ id: 's1' }, { id: 's2', __fault: 'failed' }],
      user: 'u',
    });
    expect(status).toBe(207);
    expect(body.individual_errors).toEqual([1]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('dify_batch_items_total{outcome="failed"} 1');
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const logs = stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; req?: { headers?: { authorization?: string } } });
    const request = logs.find((l) => l.msg === 'batch request');
    expect(request?.req?.headers?.authorization).toBe('[Redacted]');
    expect(stderr()).not.toContain(WORKFLOW_KEY);
  });

  it('refuses a bad configuration with one line and exit code 1, before listening', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^dify-batch: missing --upstream \(or env DIFY_BASE_URL\)/],
      [['--upstream', 'ftp://x/v1'], /^dify-batch: --upstream must be an http\(s\) URL, got "ftp:\/\/x\/v1"/],
      [
        ['--upstream', emulator.url, '--max-items', '50', '--queue', '10'],
        /--queue \(10\) must be ≥ --max-items \(50\)/,
      ],
      [['--upstream', emulator.url, '--concurrency', '0'], /--concurrency.*expected an integer ≥ 1, got "0"/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr: err } = await runBinary(['serve', '--port', '0', ...args], { DIFY_BASE_URL: '' });
      expect(code).toBe(1);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(err).toMatch(message);
    }
  });
});
