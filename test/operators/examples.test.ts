import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
// Every module the 'dify-batch/operators' and 'dify-batch/limits' barrels re-export (creditGate lives in
// src/pipeline, the limits in src/limits): each is public, so each has a runnable example.
const barrels = ['../../src/operators/index.ts', '../../src/limits/index.ts'].map((p) => join(here, p));
const files = barrels.flatMap((barrel) =>
  [...readFileSync(barrel, 'utf8').matchAll(/from '(\.[^']+)\.js'/g)].map((m) =>
    join(dirname(barrel), `${m[1]}.ts`),
  ),
);

interface Example {
  readonly file: string;
  readonly code: string;
  readonly output: readonly string[];
}

/** The ```ts block of every `@example` in a file, with its `// Output:` lines. */
function examplesOf(file: string): Example[] {
  const text = readFileSync(file, 'utf8');
  const examples: Example[] = [];
  for (const match of text.matchAll(/@example\s*\n\s*\* ```ts\n([\s\S]*?)\n\s*\* ```/g)) {
    const lines = match[1]!.split('\n').map((line) => line.replace(/^\s*\* ?/, ''));
    const at = lines.indexOf('// Output:');
    expect(at, `${file}: an @example without "// Output:"`).toBeGreaterThan(0);
    examples.push({
      file,
      code: lines.slice(0, at).join('\n'),
      output: lines.slice(at + 1).map((line) => line.replace(/^\/\/ ?/, '')),
    });
  }
  return examples;
}

const examples = files.flatMap(examplesOf);
const written: string[] = [];

afterEach(() => {
  vi.restoreAllMocks();
  for (const path of written.splice(0)) rmSync(path, { force: true });
});

describe('TSDoc examples', () => {
  it('every module the operators and limits entry points export has a runnable example', () => {
    expect(new Set(examples.map((e) => e.file))).toEqual(new Set(files));
  });

  it.each(examples.map((e) => [basename(e.file), e] as const))(
    '%s: runs and prints its // Output lines',
    async (file, example) => {
      const printed: string[] = [];
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        printed.push(format(...args));
      });
      // Beside this test, so the module resolves 'rxjs' and the sources like any test file.
      const path = join(here, `.example-${basename(file, '.ts')}-${process.pid}.ts`);
      written.push(path);
      writeFileSync(
        path,
        example.code.replace(/from 'dify-batch(\/operators|\/limits)?'/g, "from './exampleDeps.js'"),
      );
      await import(path);
      // Examples that subscribe finish on real (few-ms) timers after the module has evaluated.
      await vi.waitFor(() => expect(printed).toHaveLength(example.output.length), {
        timeout: 2000,
        interval: 5,
      });
      expect(printed).toEqual(example.output);
    },
  );
});
