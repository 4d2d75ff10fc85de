import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkOutputPaths } from '../../src/cli/checkOutputPaths.js';
import { makeTempDir } from '../sources/fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(() => cleanup());

const check = (input: string, outputs: { flag: string; path: string; isReport?: boolean }[], flags = {}) =>
  checkOutputPaths({ input, outputs, overwrite: false, resume: false, ...flags });

describe('checkOutputPaths', () => {
  it('recognises the input under any spelling built from ., .., a symlinked directory and a symlink', async () => {
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    const input = join(dir, 'a', 'in.ndjson');
    await writeFile(input, '{"x":1}\n');
    await symlink(join(dir, 'a'), join(dir, 'alias'));
    await symlink(input, join(dir, 'a', 'b', 'link.ndjson'));
    const spellings = fc.constantFrom(
      join(dir, 'a', 'in.ndjson'),
      join(dir, 'a', 'b', '..', 'in.ndjson'),
      join(dir, 'alias', 'in.ndjson'),
      join(dir, 'alias', 'b', '..', 'in.ndjson'),
      join(dir, 'a', 'b', 'link.ndjson'),
      join(dir, 'alias', 'b', 'link.ndjson'),
      relative(process.cwd(), input),
    );
    await fc.assert(
      fc.asyncProperty(
        spellings,
        fc.constantFrom('--output', '--errors', '--summary'),
        fc.boolean(),
        async (path, flag, overwrite) => {
          await expect(check(input, [{ flag, path }], { overwrite })).rejects.toThrow(
            new RegExp(`^${flag} .* is the input file`),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('recognises two not-yet-existing outputs that are the same path', async () => {
    const input = join(dir, 'in.ndjson');
    await writeFile(input, '');
    await mkdir(join(dir, 'x'));
    await expect(
      check(input, [
        { flag: '--output', path: join(dir, 'out.ndjson') },
        { flag: '--errors', path: join(dir, 'x', '..', 'out.ndjson') },
      ]),
    ).rejects.toThrow('--output and --errors are the same file');
    await expect(
      check(input, [
        { flag: '--output', path: '-' },
        { flag: '--errors', path: '-' },
      ]),
    ).rejects.toThrow('--output and --errors both write to stdout');
  });

  it('refuses a directory, a missing directory and a path under a file; accepts devices and new files', async () => {
    const input = join(dir, 'in.ndjson');
    await writeFile(input, '{"x":1}\n');
    await expect(check(input, [{ flag: '--output', path: dir }])).rejects.toThrow('is a directory');
    await expect(check(input, [{ flag: '--errors', path: join(dir, 'no', 'e.ndjson') }])).rejects.toThrow(
      /--errors .*does not exist/,
    );
    await expect(check(input, [{ flag: '--errors', path: join(input, 'e.ndjson') }])).rejects.toThrow(
      /--errors .*: a part of the path is not a directory/,
    );
    await expect(
      check('/dev/stdin', [
        { flag: '--output', path: '/dev/null' },
        { flag: '--errors', path: join(dir, 'new.ndjson') },
      ]),
    ).resolves.toBeUndefined();
  });

  it('an existing non-empty output needs --overwrite or --resume; an empty one and a report do not', async () => {
    const input = join(dir, 'in.ndjson');
    await writeFile(input, '{"x":1}\n');
    const output = join(dir, 'out.ndjson');
    await writeFile(output, 'old\n');
    await expect(check(input, [{ flag: '--output', path: output }])).rejects.toThrow(
      /--output .* exists and is not empty: pass --overwrite to replace it, or --resume/,
    );
    await expect(
      check(input, [{ flag: '--output', path: output }], { overwrite: true }),
    ).resolves.toBeUndefined();
    await expect(
      check(input, [{ flag: '--output', path: output }], { resume: true }),
    ).resolves.toBeUndefined();
    await expect(
      check(input, [{ flag: '--summary', path: output, isReport: true }]),
    ).resolves.toBeUndefined();
    await writeFile(output, '');
    await expect(check(input, [{ flag: '--output', path: output }])).resolves.toBeUndefined();
  });
});
