import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TO_DEAD_LETTER_DEFAULTS } from '../../src/sinks/toDeadLetter.js';
import { TO_WRITABLE_DEFAULTS } from '../../src/sinks/toWritable.js';
import { SOURCE_DEFAULTS } from '../../src/sources/SourceOptions.js';

const src = resolve(import.meta.dirname, '../../src');

/** The `@defaultValue` text of field `key` in the TSDoc of `file`. */
async function documentedDefault(file: string, key: string): Promise<string | undefined> {
  const text = await readFile(resolve(src, file), 'utf8');
  const match = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*readonly ${key}\\?:`).exec(text);
  return /@defaultValue ([^\n]*(?:\n\s*\*\s+[^@\n][^\n]*)*)/.exec(match?.[1] ?? '')?.[1];
}

function literal(value: unknown): string {
  return typeof value === 'string' ? `\`'${value}'\`` : `\`${String(value)}\``;
}

describe('documented defaults match the X_DEFAULTS objects', () => {
  it.each([
    ['sources/SourceOptions.ts', SOURCE_DEFAULTS],
    ['sinks/toWritable.ts', TO_WRITABLE_DEFAULTS],
    ['sinks/toDeadLetter.ts', TO_DEAD_LETTER_DEFAULTS],
  ] as const)('%s', async (file, defaults) => {
    expect(Object.isFrozen(defaults)).toBe(true);
    for (const [key, value] of Object.entries(defaults)) {
      expect(await documentedDefault(file, key), `${file} ${key}`).toContain(literal(value));
    }
  });
});
