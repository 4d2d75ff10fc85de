import { mkdtemp, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { DifyClient } from '../../src/dify/DifyClient.js';
import type { EmulatorOptions } from '../../src/emulator/EmulatorOptions.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { readFileVariables } from '../../src/files/readFileVariables.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { memorySink } from '../helpers/memorySink.js';

const KEY = 'app-FileInputWorkflowKey0001';
const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };

function appWithFiles(extra: Partial<EmulatorOptions> = {}): EmulatorOptions {
  return {
    apps: [
      {
        key: KEY,
        mode: 'workflow',
        fileInputs: [
          { variable: 'doc', type: 'file', required: true },
          { variable: 'attachments', type: 'file-list', allowedFileTypes: ['document'], maxLength: 3 },
        ],
      },
    ],
    ...extra,
  };
}

let dir: string;
/** name → content; sizes differ so a mix-up shows in `size` as well as `filename`. */
const FILES: Record<string, string> = {
  'notes.txt': 'plain text\n',
  'readme.md': '# Title\n\nSome *markdown* here.\n',
  'table.csv': 'a,b\n1,2\n3,4\n5,6\n',
  'invoice.pdf': '%PDF-1.4 fake but typed by its extension\n%%EOF\n',
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-files-'));
  for (const [name, text] of Object.entries(FILES)) await writeFile(join(dir, name), text);
  // A 1x1 PNG.
  await writeFile(
    join(dir, 'pixel.png'),
    Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    ),
  );
  await writeFile(join(dir, 'song.mp3'), 'ID3 not really audio');
  await writeFile(join(dir, 'tool.exe'), 'MZ');
  // Sparse: 16 MB on paper, nothing on disk; over the 15 MB document limit.
  await writeFile(join(dir, 'huge.pdf'), '');
  await truncate(join(dir, 'huge.pdf'), 16 * 1024 * 1024);
  for (const name of ['too-large.md', 'unsupported.md', 'flaky.md'])
    await writeFile(join(dir, name), `${name}\n`);
});

async function withEmulator<T>(options: EmulatorOptions, fn: (e: Emulator) => Promise<T>): Promise<T> {
  const emulator = await startEmulator(options);
  try {
    return await fn(emulator);
  } finally {
    await emulator.close();
  }
}

async function run(emulator: Emulator, records: Record<string, unknown>[], concurrency = 8) {
  const { sink, results } = memorySink<ItemResult>();
  const summary = await runBatch({
    source: fromAsyncIterable(
      records.map((r) => r),
      { idField: 'id' },
    ),
    sink,
    dify: { baseUrl: emulator.url, apiKey: KEY },
    app: 'workflow',
    concurrency,
    retry: fastRetry,
    files: { root: dir },
  });
  return { summary, results };
}

type FileOut = { filename: string; size: number; type: string; transfer_method: string };

describe('files against the emulator', () => {
  it('uploads each distinct file once and every output shows the record’s own file', async () => {
    await withEmulator(appWithFiles({ uploadLatencyMs: 30 }), async (emulator) => {
      const names = ['notes.txt', 'readme.md', 'table.csv', 'invoice.pdf', 'pixel.png'];
      // 200 records over 5 files, in a scrambled order.
      const records = Array.from({ length: 200 }, (_, i) => ({
        id: `r${i}`,
        doc: names[(i * 7) % names.length],
        query: `q${i}`,
      }));
      const { results, summary } = await run(emulator, records, 8);
      expect(summary.failed).toBe(0);
      const { statSync } = await import('node:fs');
      for (const result of results) {
        const record = records[result.seq]!;
        expect(result.ok).toBe(true);
        const file = (result as unknown as { outputs: { doc: FileOut } }).outputs.doc;
        expect(file.filename).toBe(record.doc);
        expect(file.size).toBe(statSync(join(dir, record.doc as string)).size);
        expect(file.transfer_method).toBe('local_file');
        expect(file.type).toBe(record.doc === 'pixel.png' ? 'image' : 'document');
      }
      const stats = emulator.stats();
      expect(stats.uploads).toBe(names.length);
      // Concurrent (the 5 uploads overlap) and bounded by the run's concurrency.
      expect(stats.peakActiveUploads).toBeGreaterThan(1);
      expect(stats.peakActiveUploads).toBeLessThanOrEqual(8);
    });
  });

  it('bounds uploads by files.concurrency', async () => {
    await withEmulator(appWithFiles({ uploadLatencyMs: 20 }), async (emulator) => {
      const names = ['notes.txt', 'readme.md', 'table.csv', 'invoice.pdf', 'pixel.png'];
      const { sink, results } = memorySink<ItemResult>();
      await runBatch({
        source: fromAsyncIterable(names.map((doc, i) => ({ id: `r${i}`, doc }))),
        sink,
        dify: { baseUrl: emulator.url, apiKey: KEY },
        app: 'workflow',
        concurrency: 8,
        files: { root: dir, concurrency: 2 },
      });
      expect(results.every((r) => r.ok)).toBe(true);
      expect(emulator.stats().peakActiveUploads).toBe(2);
    });
  });

  it('a file-list takes a ";"-separated string and an array', async () => {
    await withEmulator(appWithFiles(), async (emulator) => {
      const { results } = await run(emulator, [
        { id: 'a', doc: 'notes.txt', attachments: 'readme.md; table.csv' },
        { id: 'b', doc: 'notes.txt', attachments: ['invoice.pdf'] },
        { id: 'c', doc: 'notes.txt', attachments: '' },
      ]);
      const lists = results.map((r) => (r.ok ? (r.outputs.attachments as FileOut[] | undefined) : 'failed'));
      expect(lists[0]).toMatchObject([{ filename: 'readme.md' }, { filename: 'table.csv' }]);
      expect(lists[1]).toMatchObject([{ filename: 'invoice.pdf', size: FILES['invoice.pdf']!.length }]);
      expect(lists[2]).toBeUndefined();
      expect(emulator.stats().uploads).toBe(4);
    });
  });

  it('a missing file, a disallowed type or extension and a file over the limit fail alone, with no upload and no call', async () => {
    await withEmulator(appWithFiles(), async (emulator) => {
      const { results } = await run(emulator, [
        { id: 'ok', doc: 'notes.txt' },
        { id: 'missing', doc: 'invoices/0001.pdf' },
        { id: 'audio', doc: 'song.mp3' },
        { id: 'custom', doc: 'tool.exe' },
        { id: 'huge', doc: 'huge.pdf' },
        { id: 'list-type', doc: 'notes.txt', attachments: ['pixel.png'] },
        { id: 'list-count', doc: 'notes.txt', attachments: 'notes.txt;readme.md;table.csv;invoice.pdf' },
      ]);
      const errors = Object.fromEntries(results.map((r) => [r.id, r.ok ? 'ok' : r.error.message]));
      expect(errors.ok).toBe('ok');
      expect(errors.missing).toMatch(
        /field "doc": file invoices\/0001\.pdf not found \(looked at .*invoices\/0001\.pdf\)/,
      );
      expect(errors.audio).toMatch(
        /field "doc": file song\.mp3 is an audio file; the variable allows document, image/,
      );
      expect(errors.custom).toMatch(
        /field "doc": file tool\.exe has extension "\.exe".*allowed_file_extensions: none/,
      );
      expect(errors.huge).toMatch(
        /field "doc": file huge\.pdf is 16 MB, over Dify's file_size_limit of 15 MB/,
      );
      expect(errors['list-type']).toMatch(
        /field "attachments": file pixel\.png is an image file; the variable allows document/,
      );
      expect(errors['list-count']).toMatch(/field "attachments": 4 files, more than the variable's 3/);
      for (const r of results)
        if (!r.ok) expect(r.error).toMatchObject({ code: 'ERR_INPUT_INVALID', retryable: false });
      const stats = emulator.stats();
      expect(stats.uploads).toBe(1);
      // The preflight's GET /info and GET /parameters (file inputs reuse the latter), the good record's
      // upload and run: the bad records sent nothing at all.
      expect(stats.byStatus).toEqual({ '200': 3, '201': 1 });
    });
  });

  it('a 413 and a 415 from Dify are final; a reset during an upload is retried', async () => {
    const faults = {
      'too-large.md': { kind: '413' },
      'unsupported.md': { kind: '415' },
      'flaky.md': { kind: 'reset', times: 1 },
    } as const;
    await withEmulator(appWithFiles({ uploadFaults: faults }), async (emulator) => {
      const { results } = await run(emulator, [
        { id: 'big', doc: 'too-large.md' },
        { id: 'type', doc: 'unsupported.md' },
        { id: 'flaky', doc: 'flaky.md' },
      ]);
      const [big, type, flaky] = results;
      expect(big).toMatchObject({ ok: false, attempts: 1, error: { status: 413, retryable: false } });
      expect(big!.ok ? '' : big!.error.message).toMatch(
        /^field "doc": uploading too-large\.md failed: .*(file_too_large|File size exceeded)/,
      );
      expect(type!.ok ? '' : type!.error.message).toMatch(
        /^field "doc": uploading unsupported\.md failed: .*File type not allowed/,
      );
      expect(type).toMatchObject({ ok: false, attempts: 1, error: { status: 415, retryable: false } });
      expect(flaky).toMatchObject({ ok: true, attempts: 2, outputs: { doc: { filename: 'flaky.md' } } });
      const stats = emulator.stats();
      expect(stats.byStatus['413']).toBe(1);
      expect(stats.byStatus['415']).toBe(1);
      expect(stats.uploads).toBe(1);
    });
  });

  it('URLs pass as remote_url; a Dify file object passes as it is', async () => {
    await withEmulator(appWithFiles(), async (emulator) => {
      const client = new DifyClient({ baseUrl: emulator.url, apiKey: KEY });
      const uploaded = await client.uploadFile(join(dir, 'readme.md'), { user: 'dify-batch' });
      await client.close();
      const { results } = await run(emulator, [
        { id: 'url', doc: 'https://example.com/files/report.pdf' },
        {
          id: 'object',
          doc: { type: 'document', transfer_method: 'local_file', upload_file_id: uploaded.id },
        },
        { id: 'fileurl', doc: `file://${join(dir, 'table.csv')}` },
      ]);
      expect(results.map((r) => (r.ok ? (r.outputs.doc as FileOut).filename : r.error.message))).toEqual([
        'report.pdf',
        'readme.md',
        'table.csv',
      ]);
      expect((results[0] as unknown as { outputs: { doc: FileOut } }).outputs.doc.transfer_method).toBe(
        'remote_url',
      );
    });
  });
});

describe('DifyClient file routes against the emulator', () => {
  it('uploadFile answers the upload; parameters lists the file variables', async () => {
    await withEmulator(appWithFiles(), async (emulator) => {
      const client = new DifyClient({ baseUrl: emulator.url, apiKey: KEY });
      try {
        const file = await client.uploadFile(join(dir, 'pixel.png'), { user: 'u1' });
        expect(file).toMatchObject({ name: 'pixel.png', size: 70, extension: 'png', mimeType: 'image/png' });
        const { createReadStream } = await import('node:fs');
        const streamed = await client.uploadFile(createReadStream(join(dir, 'readme.md')), {
          user: 'u1',
          filename: 'streamed.md',
        });
        expect(streamed).toMatchObject({
          name: 'streamed.md',
          size: FILES['readme.md']!.length,
          mimeType: 'text/markdown',
        });
        const { variables, sizeLimits } = readFileVariables(await client.parameters());
        expect([...variables.keys()]).toEqual(['doc', 'attachments']);
        expect(variables.get('attachments')).toMatchObject({
          kind: 'file-list',
          maxFiles: 3,
          allowedTypes: ['document'],
        });
        expect(sizeLimits.document).toBe(15 * 1024 * 1024);
      } finally {
        await client.close();
      }
    });
  });
});

describe('emulator: POST /files/upload and file inputs, as Dify answers them', () => {
  const post = (url: string, body: FormData | string, type?: string) =>
    fetch(`${url}/files/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, ...(type ? { 'content-type': type } : {}) },
      body,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  it('answers 201 and Dify’s 400 and 415 errors', async () => {
    await withEmulator(appWithFiles(), async (emulator) => {
      const one = new FormData();
      one.append('user', 'u');
      one.append('file', new Blob(['hello'], { type: 'text/plain' }), 'a.txt');
      expect(await post(emulator.url, one)).toMatchObject({
        status: 201,
        body: { name: 'a.txt', size: 5, extension: 'txt', mime_type: 'text/plain', preview_url: null },
      });
      const none = new FormData();
      none.append('user', 'u');
      expect(await post(emulator.url, none)).toMatchObject({
        status: 400,
        body: { code: 'no_file_uploaded' },
      });
      const two = new FormData();
      two.append('user', 'u');
      two.append('file', new Blob(['x'], { type: 'text/plain' }), 'a.txt');
      two.append('other', new Blob(['y'], { type: 'text/plain' }), 'b.txt');
      expect(await post(emulator.url, two)).toMatchObject({ status: 400, body: { code: 'too_many_files' } });
      const noUser = new FormData();
      noUser.append('file', new Blob(['x'], { type: 'text/plain' }), 'a.txt');
      // As on Dify 1.13.2: the upload's `user` is optional.
      expect(await post(emulator.url, noUser)).toMatchObject({
        status: 201,
        body: { name: 'a.txt', size: 1 },
      });
      // A file part without a Content-Type: Werkzeug gives it no mimetype, Dify answers 415.
      const raw =
        '--B\r\nContent-Disposition: form-data; name="user"\r\n\r\nu\r\n' +
        '--B\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\nhi\r\n--B--\r\n';
      expect(await post(emulator.url, raw, 'multipart/form-data; boundary=B')).toMatchObject({
        status: 415,
        body: { code: 'unsupported_file_type', message: 'File type not allowed.' },
      });
    });
  });

  it('refuses a run whose file input is not a file, with Dify’s messages (checked against Dify 1.13.2)', async () => {
    await withEmulator(appWithFiles(), async (emulator) => {
      const runWith = (inputs: Record<string, unknown>) =>
        fetch(`${emulator.url}/workflows/run`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs, user: 'u', response_mode: 'blocking' }),
        }).then(async (r) => ({ status: r.status, body: await r.json() }));
      expect(await runWith({ doc: 'notes.txt' })).toMatchObject({
        status: 400,
        body: { code: 'invalid_param', message: 'doc in input form must be a file' },
      });
      const doc = { type: 'document', transfer_method: 'remote_url', url: 'https://x.test/a.pdf' };
      expect(await runWith({ doc, attachments: 'a.pdf' })).toMatchObject({
        status: 400,
        body: { message: 'attachments in input form must be a list of files' },
      });
      expect(
        await runWith({ doc: { type: 'document', transfer_method: 'local_file', upload_file_id: 'nope' } }),
      ).toMatchObject({ status: 400, body: { message: 'Invalid upload file' } });
      const client = new DifyClient({ baseUrl: emulator.url, apiKey: KEY });
      const png = await client.uploadFile(join(dir, 'pixel.png'), { user: 'u' });
      await client.close();
      expect(
        await runWith({ doc: { type: 'document', transfer_method: 'local_file', upload_file_id: png.id } }),
      ).toMatchObject({
        status: 400,
        body: { message: 'Detected file type does not match the specified type. Please verify the file.' },
      });
    });
  });
});

describe('files: remote files and the library options', () => {
  it('a URL the variable does not take fails without uploadRemote; with it, it is downloaded and uploaded', async () => {
    const { createServer } = await import('node:http');
    const served = 'downloaded body, 33 bytes long...';
    const server = createServer((req, res) => {
      if (req.url === '/files/report.md') res.end(served);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const options = appWithFiles();
    const app = options.apps![0]!;
    const localOnly: EmulatorOptions = {
      apps: [
        { ...app, fileInputs: [{ variable: 'doc', type: 'file', allowedFileUploadMethods: ['local_file'] }] },
      ],
    };
    try {
      await withEmulator(localOnly, async (emulator) => {
        const records = [{ id: 'u', doc: `http://127.0.0.1:${port}/files/report.md` }];
        const refused = await run(emulator, records);
        expect(refused.results[0]).toMatchObject({ ok: false, error: { code: 'ERR_INPUT_INVALID' } });
        expect(refused.results[0]!.ok ? '' : refused.results[0]!.error.message).toMatch(
          /the variable does not take URLs \(allowed: local_file\); --upload-remote downloads and uploads it/,
        );
        const { sink, results } = memorySink<ItemResult>();
        await runBatch({
          source: fromAsyncIterable([
            ...records,
            { id: 'gone', doc: `http://127.0.0.1:${port}/files/gone.md` },
          ]),
          sink,
          dify: { baseUrl: emulator.url, apiKey: KEY },
          app: 'workflow',
          // The test server is on loopback, which is refused unless allowed.
          files: { root: dir, uploadRemote: true, allowHosts: ['127.0.0.1'] },
        });
        expect(results[0], JSON.stringify(results[0])).toMatchObject({
          ok: true,
          outputs: { doc: { filename: 'report.md', size: served.length, transfer_method: 'local_file' } },
        });
        // A third-party 404 fails that record alone, final, and is not counted as a Dify outage.
        expect(results[1]).toMatchObject({
          ok: false,
          attempts: 1,
          error: { code: 'ERR_INPUT_INVALID', retryable: false },
        });
        expect(results[1]!.ok ? '' : results[1]!.error.message).toBe(
          `field "doc": downloading http://127.0.0.1:${port}/files/gone.md failed: HTTP 404`,
        );
        expect(emulator.stats().uploads).toBe(1);
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('uploadRemote refuses loopback/private URLs by default: each such record fails alone, the run goes on', async () => {
    const { createServer } = await import('node:http');
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end('secret from an internal service');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      await withEmulator(appWithFiles(), async (emulator) => {
        const { sink, results } = memorySink<ItemResult>();
        const summary = await runBatch({
          source: fromAsyncIterable(
            [
              { id: 'internal', doc: `http://127.0.0.1:${port}/admin/keys.md` },
              { id: 'by-name', doc: `http://localhost:${port}/admin/keys.md` },
              { id: 'metadata', doc: 'http://169.254.169.254/latest/meta-data.txt' },
              { id: 'fine', doc: 'notes.txt' },
            ],
            { idField: 'id' },
          ),
          sink,
          dify: { baseUrl: emulator.url, apiKey: KEY },
          app: 'workflow',
          retry: fastRetry,
          files: { root: dir, uploadRemote: true },
        });
        expect(summary).toMatchObject({ written: 4, failed: 3, succeeded: 1 });
        const byId = new Map(results.map((r) => [r.id, r]));
        for (const [id, range] of [
          ['internal', 'loopback'],
          ['by-name', 'loopback'],
          ['metadata', 'link-local'],
        ] as const) {
          const result = byId.get(id)!;
          expect(result, id).toMatchObject({
            ok: false,
            attempts: 1,
            error: { code: 'ERR_INPUT_INVALID', retryable: false },
          });
          expect(result.ok ? '' : result.error.message, id).toMatch(
            new RegExp(`^field "doc": downloading http://\\S+ refused: .*${range} address`),
          );
        }
        expect(byId.get('fine')).toMatchObject({ ok: true });
        expect(requests).toBe(0);
        expect(emulator.stats().uploads).toBe(1);
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('with a transport, runBatch takes the variables and the upload function from `files`', async () => {
    const uploads: string[] = [];
    const sent: unknown[] = [];
    const { sink, results } = memorySink<ItemResult>();
    await runBatch({
      source: fromAsyncIterable([
        { id: 'a', doc: 'notes.txt' },
        { id: 'b', doc: 'notes.txt' },
      ]),
      sink,
      transport: async (request) => {
        sent.push(request.inputs.doc);
        return { outputs: {} };
      },
      app: 'workflow',
      files: {
        root: dir,
        variables: readFileVariables({ user_input_form: [{ file: { variable: 'doc' } }] }),
        upload: async (path, { filename }) => {
          uploads.push(path);
          return { id: `up-${filename}`, name: filename, size: 1, extension: 'txt', mimeType: 'text/plain' };
        },
      },
    });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(uploads).toEqual([join(dir, 'notes.txt')]);
    expect(sent).toEqual([
      { type: 'document', transfer_method: 'local_file', upload_file_id: 'up-notes.txt' },
      { type: 'document', transfer_method: 'local_file', upload_file_id: 'up-notes.txt' },
    ]);
    await expect(
      runBatch({
        source: fromAsyncIterable([]),
        sink: memorySink<ItemResult>().sink,
        transport: async () => ({ outputs: {} }),
        app: 'workflow',
        files: { root: dir },
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});
