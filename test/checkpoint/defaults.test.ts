import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_CHECKPOINT_DEFAULTS } from '../../src/checkpoint/FileCheckpoint.js';
import { RECOVER_WORKFLOW_RUNS_DEFAULTS } from '../../src/checkpoint/recoverWorkflowRuns.js';

const src = resolve(import.meta.dirname, '../../src');

/** The `@defaultValue` text of field `key` in the TSDoc of `file`. */
async function documentedDefault(file: string, key: string): Promise<string | undefined> {
  const text = await readFile(resolve(src, file), 'utf8');
  const match = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*readonly ${key}\\?:`).exec(text);
  return /@defaultValue ([^\n]*)/.exec(match?.[1] ?? '')?.[1];
}

describe('documented checkpoint defaults match the X_DEFAULTS objects', () => {
  it.each([
    ['checkpoint/FileCheckpoint.ts', FILE_CHECKPOINT_DEFAULTS],
    ['checkpoint/recoverWorkflowRuns.ts', RECOVER_WORKFLOW_RUNS_DEFAULTS],
  ] as const)('%s', async (file, defaults) => {
    expect(Object.isFrozen(defaults)).toBe(true);
    for (const [key, value] of Object.entries(defaults)) {
      expect(await documentedDefault(file, key), `${file} ${key}`).toContain(`\`${String(value)}\``);
    }
  });
});
