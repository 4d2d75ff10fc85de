import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { runBinary } from '../helpers/runBinary.js';

/** `dify-batch run --upload-remote [--files-allow-host …]`: the built CLI, the emulator, a loopback file server. */
const KEY = 'app-FilesAllowHostWorkflow01';
let emulator: Emulator;
let fileServer: ReturnType<typeof createServer>;
let port: number;
let requests = 0;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({
    apps: [{ key: KEY, mode: 'workflow', fileInputs: [{ variable: 'doc', type: 'file', required: true }] }],
  });
  fileServer = createServer((_req, res) => {
    requests++;
    res.end('# served over loopback\n');
  });
  await new Promise<void>((r) => fileServer.listen(0, '127.0.0.1', r));
  port = (fileServer.address() as AddressInfo).port;
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-allow-host-'));
  await writeFile(
    join(dir, 'in.ndjson'),
    `${[
      { id: 'by-ip', doc: `http://127.0.0.1:${port}/a/report.md` },
      { id: 'by-name', doc: `http://localhost:${port}/b/notes.md` },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n')}\n`,
  );
});
afterAll(async () => {
  await emulator.close();
  await new Promise((r) => fileServer.close(r));
});

/** `dify-batch run --upload-remote` over the two records of in.ndjson into `output`, with `extra` flags. */
const runUploadRemote = (output: string, extra: readonly string[]) =>
  runBinary(['run', '-i', join(dir, 'in.ndjson'), '-o', output, '--upload-remote', ...extra], {
    DIFY_BASE_URL: emulator.url,
    DIFY_API_KEY: KEY,
  });
const lines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; ok: boolean; error?: { code: string; message: string } });

describe('dify-batch run --upload-remote and --files-allow-host', () => {
  it('by default refuses loopback URLs: those records fail (exit 2) naming the field and the flag; nothing is fetched', async () => {
    const out = join(dir, 'refused.ndjson');
    const before = requests;
    const run = await runUploadRemote(out, ['--id-field', 'id', '--no-progress']);
    expect(run.code, run.stderr).toBe(2);
    const results = await lines(out);
    expect(results.map((r) => [r.id, r.ok, r.error?.code])).toEqual([
      ['by-ip', false, 'ERR_INPUT_INVALID'],
      ['by-name', false, 'ERR_INPUT_INVALID'],
    ]);
    expect(results[0]!.error!.message).toBe(
      `field "doc": downloading http://127.0.0.1:${port}/a/report.md refused: 127.0.0.1 is a loopback address, refused unless the host is allowed (--files-allow-host / files.allowHosts)`,
    );
    expect(results[1]!.error!.message).toMatch(
      /^field "doc": downloading http:\/\/localhost:\d+\/b\/notes\.md refused: localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/,
    );
    expect(requests).toBe(before);
  });

  it('downloads and uploads from the hosts allowed (repeatable flag)', async () => {
    const out = join(dir, 'allowed.ndjson');
    const uploadsBefore = emulator.stats().uploads;
    const run = await runUploadRemote(out, [
      '--id-field',
      'id',
      '--files-allow-host',
      '127.0.0.1',
      '--files-allow-host',
      'localhost',
      '--no-progress',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((await lines(out)).map((r) => [r.id, r.ok])).toEqual([
      ['by-ip', true],
      ['by-name', true],
    ]);
    expect(emulator.stats().uploads - uploadsBefore).toBe(2);
  });

  it('a bad --files-allow-host entry is a configuration error: one line, exit 1, before any call', async () => {
    const run = await runUploadRemote(join(dir, 'never.ndjson'), ['--files-allow-host', 'http://127.0.0.1/']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'dify-batch: --files-allow-host takes a host name, a .suffix or an IP address, got "http://127.0.0.1/"',
    ]);
  });
});
