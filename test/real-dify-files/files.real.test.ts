import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FileUploadLog } from '../../src/files/FileUploadLog.js';
import { CLI_MAIN, runBinary } from '../helpers/runBinary.js';

/**
 * Issue 13 against a REAL Dify 1.13.2 (`npm run test:real-dify:files`: scripts/real-dify-files.sh starts
 * it and imports ../shared/dify/file-input-app.yml): the built CLI runs a CSV whose `doc` column names
 * local files of several types, most of them named by several records. Dify's own End node returns the
 * file object it resolved, so each output shows which upload the record really got.
 */

const BASE_URL = process.env.REAL_DIFY_BASE_URL;
const KEY = process.env.REAL_DIFY_FILES_KEY;
const DB = process.env.REAL_DIFY_DB_URL ?? 'postgresql://postgres:difyai123456@127.0.0.1:5432/dify';
const exec = promisify(execFile);

/** Rows of Dify's `upload_files` table whose name carries `tag`: the server's own upload count. */
async function serverUploads(tag: string): Promise<number> {
  const { stdout } = await exec('psql', [
    DB,
    '-tAc',
    `select count(*) from upload_files where name like '%-${tag}.%'`,
  ]);
  return Number(stdout.trim());
}

describe('files against a real Dify 1.13.2', () => {
  it('uploads each distinct file once; every output shows its record’s file; bad files fail alone', async () => {
    expect(BASE_URL, 'REAL_DIFY_BASE_URL (scripts/real-dify-files.sh sets it)').toBeTruthy();
    expect(KEY, 'REAL_DIFY_FILES_KEY').toBeTruthy();
    expect(existsSync(CLI_MAIN), 'the built CLI (npm run build)').toBe(true);
    const tag = randomBytes(4).toString('hex');
    const dir = await mkdtemp(join(tmpdir(), 'dify-batch-real-files-'));
    const files = {
      txt: `notes-${tag}.txt`,
      md: `readme-${tag}.md`,
      csv: `table-${tag}.csv`,
      png: `pixel-${tag}.png`,
    };
    await mkdir(join(dir, 'docs'));
    await writeFile(join(dir, 'docs', files.txt), `plain text ${tag}\n`);
    await writeFile(join(dir, 'docs', files.md), `# ${tag}\n\nSome *markdown*, longer than the text file.\n`);
    await writeFile(join(dir, 'docs', files.csv), 'a,b\n1,2\n3,4\n5,6\n7,8\n');
    await writeFile(
      join(dir, 'docs', files.png),
      Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
        'base64',
      ),
    );
    await writeFile(join(dir, 'docs', `song-${tag}.mp3`), 'ID3 audio the app does not allow');
    const named = Object.values(files);
    // 4 records per file, interleaved, then a missing file and a disallowed type.
    const rows: string[][] = [];
    for (let i = 0; i < 16; i++) rows.push([`r${i}`, `docs/${named[i % 4]}`, `query ${i}`]);
    rows.push(['missing', 'invoices/0001.pdf', 'q']);
    rows.push(['audio', `docs/song-${tag}.mp3`, 'q']);
    const input = join(dir, 'in.csv');
    await writeFile(input, `id,doc,query\n${rows.map((r) => r.join(',')).join('\n')}\n`);
    const output = join(dir, 'out.ndjson');

    const run = await runBinary(
      [
        'run',
        '-i',
        input,
        '-o',
        output,
        '--errors',
        join(dir, 'failed.ndjson'),
        '--id-field',
        'id',
        '-c',
        '4',
        '--no-progress',
      ],
      { DIFY_BASE_URL: BASE_URL!, DIFY_API_KEY: KEY! },
      120_000,
    );
    expect(run.code, run.stderr).toBe(2); // some records failed, the run did not
    const results = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(results.map((r) => r.id)).toEqual(rows.map((r) => r[0]));
    for (const result of results.slice(0, 16)) {
      const doc = rows[result.seq]![1]!;
      expect(result.ok, JSON.stringify(result.error)).toBe(true);
      expect(result.outputs.file.filename).toBe(doc.slice('docs/'.length));
      expect(result.outputs.file.size).toBe(statSync(join(dir, doc)).size);
      expect(result.outputs.file.type).toBe(doc.endsWith('.png') ? 'image' : 'document');
      expect(result.outputs.query).toBe(rows[result.seq]![2]);
    }
    const [missing, audio] = results.slice(16);
    expect(missing).toMatchObject({ ok: false, error: { code: 'ERR_INPUT_INVALID' } });
    expect(missing.error.message).toBe(
      `field "doc": file invoices/0001.pdf not found (looked at ${resolve(dir, 'invoices/0001.pdf')})`,
    );
    expect(audio).toMatchObject({ ok: false, error: { code: 'ERR_INPUT_INVALID' } });
    expect(audio.error.message).toBe(
      `field "doc": file docs/song-${tag}.mp3 is an audio file; the variable allows document, image`,
    );
    // The server holds exactly one upload per distinct file (none for the bad ones).
    expect(await serverUploads(tag)).toBe(4);
    const log = JSON.parse(await readFile(FileUploadLog.pathFor(output), 'utf8'));
    expect(Object.keys(log.uploads)).toHaveLength(4);
  }, 180_000);
});
