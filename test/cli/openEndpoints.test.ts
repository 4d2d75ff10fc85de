import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/CliError.js';
import { isUrlEndpoint, openEndpoints, parseKafkaUrl } from '../../src/cli/openEndpoints.js';
import { runCli } from '../../src/cli/runCli.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { captureStream } from '../helpers/captureStream.js';
import { makeTempDir } from '../sources/fixtures.js';

const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
const signal = new AbortController().signal;

describe('parseKafkaUrl', () => {
  it('reads brokers, topics and the group', () => {
    expect(parseKafkaUrl('--input', 'kafka://127.0.0.1:9092/in?group=g1')).toEqual({
      brokers: ['127.0.0.1:9092'],
      topics: ['in'],
      group: 'g1',
    });
    expect(parseKafkaUrl('--output', 'kafka://a:1,b:2/out')).toEqual({
      brokers: ['a:1', 'b:2'],
      topics: ['out'],
    });
  });

  it.each([
    'kafka://127.0.0.1/in',
    'kafka://127.0.0.1:9092/',
    'kafka:///in',
    'kafka://127.0.0.1:9092/in?grop=x',
  ])('rejects %s with a one-line message', (url) => {
    expect(() => parseKafkaUrl('--input', url)).toThrow(CliError);
  });
});

describe('isUrlEndpoint', () => {
  it('tells URLs from file paths', () => {
    expect(['kafka://h:1/t', 'http://h/x', 'HTTPS://h/x'].every(isUrlEndpoint)).toBe(true);
    expect(['out.ndjson', '-', './kafka:/x', 'http.ndjson'].some(isUrlEndpoint)).toBe(false);
  });
});

describe('openEndpoints', () => {
  it.each([
    [{ input: 'kafka://h:1/in', output: 'o.ndjson' }, /needs a consumer group/],
    [{ input: 'in.ndjson', output: 'o.ndjson', stopAtEnd: true }, /--stop-at-end is for a kafka/],
    [
      { input: 'in.ndjson', output: 'o.ndjson', webhookFallback: 'f.ndjson' },
      /--webhook-fallback is for an http/,
    ],
    [{ input: 'in.ndjson', output: 'o.ndjson', errors: 'http://h/e' }, /--errors takes a file or a kafka/],
    [{ input: 'in.ndjson', output: 'kafka://h:1/a,b' }, /exactly one topic/],
  ])('refuses %j before opening anything', (flags, message) => {
    expect(() => openEndpoints(flags, signal)).toThrow(message);
  });

  it('maps kafka:// to a Kafka source that is not a file', () => {
    const endpoints = openEndpoints(
      { input: 'kafka://127.0.0.1:9/in?group=g', output: 'kafka://127.0.0.1:9/out', stopAtEnd: true },
      signal,
    );
    expect(endpoints.inputIsFile).toBe(false);
    expect(typeof (endpoints.source as { commit?: unknown }).commit).toBe('function');
  });
});

describe('dify-batch run with http(s):// input and output', () => {
  let emulator: Emulator;
  let server: Server;
  let base: string;
  const posted: string[] = [];
  const rows = Array.from({ length: 120 }, (_, i) => ({ id: `r${i}`, text: `t${i}` }));
  let failuresLeft = 0;

  beforeAll(async () => {
    emulator = await startEmulator({});
    server = createServer((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(rows.map((r) => JSON.stringify(r)).join('\n'));
        return;
      }
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => {
        if (req.url === '/down' || failuresLeft-- > 0) {
          res.writeHead(503).end();
          return;
        }
        posted.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await emulator.close();
  });

  async function cli(args: string[]) {
    const stderr = captureStream();
    const code = await runCli(
      ['run', ...args, '--no-progress'],
      {
        env: { DIFY_BASE_URL: emulator.url, DIFY_API_KEY: WORKFLOW_KEY },
        stdout: captureStream().stream,
        stderr: stderr.stream,
        drainSignal: new AbortController().signal,
        abortSignal: new AbortController().signal,
      },
      '0.0.0-test',
    );
    return { code, stderr: stderr.text() };
  }

  it('reads the GET body and posts every result to the webhook, in order, through a failing start', async () => {
    posted.length = 0;
    failuresLeft = 2;
    const { code, stderr } = await cli([
      '--input',
      `${base}/rows`,
      '--output',
      `${base}/hook`,
      '--id-field',
      'id',
    ]);
    expect(code, stderr).toBe(0);
    const results = posted.flatMap((b) =>
      b
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; ok: boolean; outputs: unknown }),
    );
    expect(results.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(
      results.every(
        (r, i) => r.ok && JSON.stringify(r.outputs) === JSON.stringify(emulatedOutputs('workflow', rows[i]!)),
      ),
    ).toBe(true);
  });

  it('a webhook that stays down: results land in --webhook-fallback, nothing is lost', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const fallback = join(dir, 'undelivered.ndjson');
      const { code, stderr } = await cli([
        '--input',
        `${base}/rows`,
        '--output',
        `${base}/down`,
        '--webhook-fallback',
        fallback,
        '--id-field',
        'id',
      ]);
      expect(code, stderr).toBe(0);
      const ids = (await readFile(fallback, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id);
      expect(ids).toEqual(rows.map((r) => r.id));
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('an unreachable input URL names the cause on the first line, then the summary, exit 1', async () => {
    const { code, stderr } = await cli(['--input', 'http://127.0.0.1:1/rows', '--output', `${base}/hook`]);
    expect(code).toBe(1);
    const [first] = stderr.trim().split('\n');
    expect(first).toMatch(/^dify-batch: .*cannot GET http:\/\/127\.0\.0\.1:1\/rows/);
    expect(stderr).toMatch(/0 records read/);
  });
});
