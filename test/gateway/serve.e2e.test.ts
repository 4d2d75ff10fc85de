import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { postBatch, WORKFLOW_KEY } from './helpers.js';

const main = join(import.meta.dirname, '../../dist/cli/main.js');
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

/** Starts `dify-batch serve` as a real process; resolves with its base URL (first stdout line). */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [main, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

describe('dify-batch serve', () => {
  it('prints its base URL, serves batches, logs JSON without the key, stops on SIGINT with code 0', async () => {
    const { child, url, stderr } = await serve([
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
      const child = spawn(process.execPath, [main, 'serve', '--port', '0', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DIFY_BASE_URL: '' },
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      const [code] = await once(child, 'exit');
      expect(code).toBe(1);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(err).toMatch(message);
    }
  });
});
