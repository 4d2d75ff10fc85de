import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '../..');

/** Runs an ES module script against the built package (dist, through its own `exports`) in a fresh Node. */
async function runModule(script: string): Promise<string> {
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
  return stdout.trim();
}

describe('package subpaths (built dist)', () => {
  it("'dify-batch/operators' and 'dify-batch/limits' expose the operators and the limits they take", async () => {
    const stdout = await runModule(
      [
        "const o = await import('dify-batch/operators');",
        "const l = await import('dify-batch/limits');",
        "const missing = ['batch','callDify','rateLimit','reorder','retryBackoff','creditGate','processRecords'].filter((k) => typeof o[k] !== 'function');",
        "missing.push(...['TokenBucket','CircuitBreaker','AdaptiveConcurrency'].filter((k) => typeof l[k] !== 'function'));",
        "missing.push(...['TOKEN_BUCKET_DEFAULTS','CIRCUIT_BREAKER_DEFAULTS','ADAPTIVE_CONCURRENCY_DEFAULTS'].filter((k) => !Object.isFrozen(l[k])));",
        'console.log(JSON.stringify(missing));',
      ].join('\n'),
    );
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it('the root leaves out operators, limits and client internals', async () => {
    const hidden = [
      'callDify',
      'TokenBucket',
      'classifyResponse',
      'classifyStatus',
      'classifyOutage',
      'parseRetryAfter',
      'isConcurrencyLimitError',
      'concurrencyLimitOf',
      'checkInputsAgainstForm',
      'DifyStreamCollector',
      'mimeTypeOf',
      'FileUploads',
      'resolveFileInputs',
      'AckWatermark',
      'GATEWAY_REDACTED_LOG_PATHS',
    ];
    const stdout = await runModule(
      `const m = await import('dify-batch'); console.log(JSON.stringify(${JSON.stringify(hidden)}.filter((k) => k in m)));`,
    );
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it('operators from one subpath accept limits from the other: a rate-limited pipeline against the emulator', async () => {
    // rateLimit and callDify check `instanceof TokenBucket` / `CircuitBreaker`: the subpaths must share
    // one class, not bundle a copy each.
    const stdout = await runModule(
      [
        "import { from, lastValueFrom, toArray } from 'rxjs';",
        "import { DifyClient } from 'dify-batch';",
        "import { callDify, rateLimit, reorder } from 'dify-batch/operators';",
        "import { CircuitBreaker, TokenBucket } from 'dify-batch/limits';",
        "import { emulatedOutputs, EMULATOR_DEFAULT_APPS, startEmulator } from 'dify-batch/emulator';",
        'const emulator = await startEmulator({ port: 0 });',
        "const app = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow');",
        'const client = new DifyClient({ baseUrl: emulator.url, apiKey: app.key });',
        "const items = Array.from({ length: 6 }, (_, seq) => ({ seq, id: 'r' + seq, inputs: { text: 't' + seq } }));",
        'const results = await lastValueFrom(from(items).pipe(',
        '  rateLimit(new TokenBucket({ perSecond: 1000 })),',
        '  callDify(client.transport, {',
        '    concurrency: 3,',
        '    breaker: new CircuitBreaker(),',
        "    toRequest: (item) => ({ app: 'workflow', inputs: item.inputs, user: 'u', responseMode: 'blocking' }),",
        '  }),',
        '  reorder(),',
        '  toArray(),',
        '));',
        'await client.close();',
        'await emulator.close();',
        'console.log(JSON.stringify({',
        '  ids: results.map((r) => r.id),',
        '  ok: results.every((r) => r.ok),',
        "  outputs: results.every((r) => JSON.stringify(r.outputs) === JSON.stringify(emulatedOutputs('workflow', items[r.seq].inputs))),",
        '}));',
      ].join('\n'),
    );
    expect(JSON.parse(stdout)).toEqual({
      ids: ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'],
      ok: true,
      outputs: true,
    });
  });
});
