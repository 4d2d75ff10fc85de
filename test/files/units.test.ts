import { getEventListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fileTypeOf, mimeTypeOf } from '../../src/dify/fileTypeOf.js';
import { FileUploadLog } from '../../src/files/FileUploadLog.js';
import { FILE_UPLOADS_DEFAULTS, FileUploads } from '../../src/files/FileUploads.js';
import { readFileVariables } from '../../src/files/readFileVariables.js';

describe('fileTypeOf', () => {
  it('classifies by extension as Dify 1.13.2 does, then by MIME type, else custom', () => {
    expect(['pdf', '.MD', 'csv', 'txt', 'xlsx', 'properties'].map((e) => fileTypeOf(e))).toEqual(
      Array(6).fill('document'),
    );
    expect(['png', 'JPG', 'svg', 'webp'].map((e) => fileTypeOf(e))).toEqual(Array(4).fill('image'));
    expect([fileTypeOf('mp3'), fileTypeOf('wav'), fileTypeOf('mp4'), fileTypeOf('mov')]).toEqual([
      'audio',
      'audio',
      'video',
      'video',
    ]);
    // Not in the default (non-Unstructured) document list.
    expect([fileTypeOf('doc'), fileTypeOf('pptx'), fileTypeOf('exe')]).toEqual([
      'custom',
      'custom',
      'custom',
    ]);
    expect([
      fileTypeOf('bin', 'text/plain'),
      fileTypeOf('', 'image/x-foo'),
      fileTypeOf('x', 'application/zip'),
    ]).toEqual(['document', 'image', 'custom']);
    expect([mimeTypeOf('.png'), mimeTypeOf('CSV'), mimeTypeOf('exe')]).toEqual([
      'image/png',
      'text/csv',
      'application/octet-stream',
    ]);
  });
});

describe('readFileVariables', () => {
  it('reads file and file-list variables and the size limits; skips what it does not understand', () => {
    const { variables, sizeLimits } = readFileVariables({
      user_input_form: [
        { 'text-input': { variable: 'query' } },
        {
          file: {
            variable: 'doc',
            required: true,
            allowed_file_types: ['document', 'bogus'],
            allowed_file_extensions: ['PDF', '.Txt'],
            allowed_file_upload_methods: ['local_file', 'x'],
          },
        },
        { 'file-list': { variable: 'pics', max_length: 2 } },
        { file: { label: 'no variable' } },
        null,
        'junk',
      ],
      system_parameters: { file_size_limit: 20, image_file_size_limit: 'x' },
    });
    expect([...variables.keys()]).toEqual(['doc', 'pics']);
    expect(variables.get('doc')).toEqual({
      name: 'doc',
      kind: 'file',
      required: true,
      allowedTypes: ['document'],
      allowedExtensions: ['.pdf', '.txt'],
      allowedMethods: ['local_file'],
      maxFiles: undefined,
    });
    expect(variables.get('pics')).toMatchObject({
      kind: 'file-list',
      required: false,
      maxFiles: 2,
      allowedTypes: [],
    });
    expect(sizeLimits).toEqual({
      document: 20 * 2 ** 20,
      image: 10 * 2 ** 20,
      audio: 50 * 2 ** 20,
      video: 100 * 2 ** 20,
    });
    expect(readFileVariables(undefined).variables.size).toBe(0);
  });
});

describe('FileUploads', () => {
  it('documents its defaults', () => {
    const text = readFileSync(new URL('../../src/files/FileUploads.ts', import.meta.url), 'utf8');
    expect(text).toContain(`@defaultValue ${FILE_UPLOADS_DEFAULTS.concurrency} */`);
  });

  it('shares one upload between concurrent callers and forgets a failed one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dify-batch-uploads-'));
    const path = join(dir, 'a.txt');
    await writeFile(path, 'same bytes');
    await writeFile(join(dir, 'b.txt'), 'same bytes');
    let calls = 0;
    let failNext = true;
    const uploads = new FileUploads({
      upload: async (_p, { filename }) => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        if (failNext) {
          failNext = false;
          throw new Error('reset');
        }
        return { id: `id-${filename}`, name: filename, size: 10, extension: 'txt', mimeType: 'text/plain' };
      },
    });
    const stat = { size: 10, mtimeMs: 1 };
    const first = await Promise.allSettled(
      [1, 2, 3].map(() => uploads.uploadOnce(path, stat, 'a.txt', undefined)),
    );
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(calls).toBe(1);
    const again = await Promise.all([1, 2, 3].map(() => uploads.uploadOnce(path, stat, 'a.txt', undefined)));
    expect(new Set(again.map((f) => f.id))).toEqual(new Set(['id-a.txt']));
    expect(calls).toBe(2);
    // Same bytes, another name: another upload (Dify keeps the name with the upload).
    await uploads.uploadOnce(join(dir, 'b.txt'), stat, 'b.txt', undefined);
    expect(calls).toBe(3);
    expect(uploads.uploaded).toBe(2);
  });

  it('a caller aborted while waiting for an upload slot leaves at once, and the slot count stays right', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dify-batch-uploads-'));
    const names = ['a.txt', 'b.txt', 'c.txt'];
    for (const name of names) await writeFile(join(dir, name), name);
    const release: (() => void)[] = [];
    const started: string[] = [];
    const uploads = new FileUploads({
      concurrency: 1,
      upload: async (_p, { filename }) => {
        started.push(filename);
        await new Promise<void>((r) => release.push(r));
        return { id: `id-${filename}`, name: filename, size: 5, extension: 'txt', mimeType: 'text/plain' };
      },
    });
    const stat = (name: string) => ({ size: 5, mtimeMs: name.charCodeAt(0) });
    const first = uploads.uploadOnce(join(dir, 'a.txt'), stat('a.txt'), 'a.txt', undefined);
    await vi.waitFor(() => expect(started).toEqual(['a.txt']));
    const controller = new AbortController();
    const waiting = uploads.uploadOnce(join(dir, 'b.txt'), stat('b.txt'), 'b.txt', controller.signal);
    const third = uploads.uploadOnce(join(dir, 'c.txt'), stat('c.txt'), 'c.txt', undefined);
    // Let both hash and queue behind a.txt.
    await new Promise((r) => setTimeout(r, 50));
    const reason = new Error('stop');
    controller.abort(reason);
    // Rejected while a.txt still holds the only slot.
    await expect(waiting).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(started).toEqual(['a.txt']);
    release.shift()!();
    await first;
    // The slot goes to c.txt, the one caller still waiting; never two uploads at once.
    await vi.waitFor(() => expect(started).toEqual(['a.txt', 'c.txt']));
    release.shift()!();
    expect((await third).id).toBe('id-c.txt');
    expect(uploads.uploaded).toBe(2);
  });
});

describe('FileUploadLog', () => {
  it('keeps uploads across opens with resume, and starts empty without', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dify-batch-uploadlog-'));
    const path = FileUploadLog.pathFor(join(dir, 'out.ndjson'));
    const file = { id: 'u1', name: 'a.txt', size: 3, extension: 'txt', mimeType: 'text/plain' };
    const log = await FileUploadLog.open(path, false);
    await Promise.all([log.remember('k1', file), log.remember('k2', { ...file, id: 'u2' })]);
    expect(JSON.parse(await readFile(path, 'utf8')).uploads).toEqual({ k1: file, k2: { ...file, id: 'u2' } });
    expect((await FileUploadLog.open(path, true)).get('k2')?.id).toBe('u2');
    expect((await FileUploadLog.open(path, false)).size).toBe(0);
    await writeFile(path, '{ torn');
    await expect(FileUploadLog.open(path, true)).rejects.toMatchObject({ code: 'ERR_CHECKPOINT' });
  });
});
