import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { GATEWAY_DEFAULTS, startGateway } from '../../src/gateway/startGateway.js';
import { BATCH_METRICS_DEFAULTS } from '../../src/metrics/BatchMetrics.js';
import { METRICS_SERVER_DEFAULTS } from '../../src/metrics/startMetricsServer.js';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '../..');

/** `{ field: first token of its @defaultValue }` for the fields of `name` in `file`. */
function documentedDefaults(file: string, name: string): Record<string, unknown> {
  const text = readFileSync(join(root, file), 'utf8');
  const body = new RegExp(`export interface ${name}\\b[^{]*\\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1];
  expect(body, `${file}: interface ${name}`).toBeDefined();
  const documented: Record<string, unknown> = {};
  for (const [, doc, field] of body!.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*readonly (\w+)\?:/g)) {
    const value = /@defaultValue\s+(\S+)/.exec(doc!)?.[1];
    expect(value, `${file}: ${name}.${field} has no @defaultValue`).toBeDefined();
    documented[field!] = /^'.*'$/.test(value!)
      ? value!.slice(1, -1)
      : value === 'true'
        ? true
        : Number(value);
  }
  return documented;
}

const written: string[] = [];
afterEach(() => {
  for (const path of written.splice(0)) rmSync(path, { force: true });
});

describe('gateway and metrics defaults', () => {
  it.each([
    ['src/gateway/startGateway.ts', 'GatewayOptions', GATEWAY_DEFAULTS],
    ['src/metrics/startMetricsServer.ts', 'MetricsServerOptions', METRICS_SERVER_DEFAULTS],
    [
      'src/metrics/BatchMetrics.ts',
      'BatchMetricsOptions',
      { processMetrics: BATCH_METRICS_DEFAULTS.processMetrics },
    ],
  ] as const)('%s: %s defaults match their @defaultValue', (file, name, defaults) => {
    const documented = documentedDefaults(file, name);
    for (const [key, value] of Object.entries(defaults))
      expect(documented[key], `${name}.${key}`).toEqual(value);
  });

  it('refuses bad options before listening, never quoting the key', async () => {
    await expect(startGateway({ upstream: 'ftp://x' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(
      startGateway({ upstream: 'http://127.0.0.1:1/v1', queue: 10, maxItems: 20 }),
    ).rejects.toThrow(/`queue`/);
    await expect(startGateway({ upstream: 'http://127.0.0.1:1/v1', concurrency: 0 })).rejects.toThrow(
      /`concurrency`/,
    );
    const secret = 'app-Secret Key With Spaces0000';
    const error = await startGateway({ upstream: 'http://127.0.0.1:1/v1', apiKey: secret }).catch(
      (e: Error) => e,
    );
    expect(String((error as Error).message)).not.toContain('Secret');
    const withCredentials = await startGateway({ upstream: 'http://user:pass@127.0.0.1:1/v1' }).catch(
      (e: Error) => e,
    );
    expect((withCredentials as Error).message).not.toContain('pass');
  });

  it('the startGateway @example runs against the built package and prints its // Output', async () => {
    const text = readFileSync(join(root, 'src/gateway/startGateway.ts'), 'utf8');
    const block = /@example\s*\n\s*\* ```ts\n([\s\S]*?)\n\s*\* ```/.exec(text)![1]!;
    const lines = block.split('\n').map((line) => line.replace(/^\s*\* ?/, ''));
    const at = lines.findIndex((line) => line.startsWith('// Output:'));
    const code = lines.slice(0, at).join('\n');
    const expected = lines[at]!.replace('// Output: ', '');
    // Inside the package, so 'dify-batch' resolves to the built dist through package.json self-reference.
    const path = join(root, 'test/gateway', `.example-startGateway-${process.pid}.mjs`);
    written.push(path);
    writeFileSync(path, code);
    const { stdout } = await exec(process.execPath, [path], { cwd: root });
    expect(stdout.trim()).toBe(expected);
  });
});
