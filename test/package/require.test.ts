import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '../..');

describe('package entry points (built dist)', () => {
  it('CommonJS require("dify-batch") works on Node ≥ 20.19 (require(esm))', async () => {
    const script =
      "const m = require('dify-batch'); const e = require('dify-batch/emulator');" +
      "const o = require('dify-batch/operators'); const l = require('dify-batch/limits');" +
      'console.log(typeof m.runBatch, typeof m.DifyClient, typeof m.fromFile, typeof e.startEmulator, typeof o.callDify, typeof l.TokenBucket)';
    const { stdout, stderr } = await exec(process.execPath, ['-e', script], { cwd: root });
    expect(stdout.trim()).toBe('function function function function function function');
    expect(stderr).not.toMatch(/Error/);
  });

  it('ESM import exposes the documented API and hides internals', async () => {
    const script =
      "const m = await import('dify-batch'); console.log(['runBatch','difyResults','createDifyTransform','DifyClient','fromFile','fromReadable','fromAsyncIterable','fromHttp','toFile','toWritable','toDeadLetter','toHttp','FileCheckpoint','startGateway','DifyApiError','isRetryable'].filter(k => typeof m[k] !== 'function').join(','));" +
      "try { await import('dify-batch/internal/LatencyHistogram.js'); console.log('open') } catch { console.log('closed') }";
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(stdout).toBe('\nclosed\n');
  });
});
