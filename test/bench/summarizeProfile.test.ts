import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeProfile } from '../../bench/summarizeProfile.js';

describe('summarizeProfile', () => {
  it('ranks functions by self time and leaves idle out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prof-'));
    try {
      const frame = (functionName: string) => ({
        functionName,
        url: 'file:///x/node_modules/p-retry/index.js',
        lineNumber: 9,
      });
      const profile = {
        nodes: [
          { id: 1, callFrame: frame('(idle)') },
          { id: 2, callFrame: frame('pRetry') },
          { id: 3, callFrame: frame('') },
        ],
        samples: [1, 2, 2, 3],
        timeDeltas: [5000, 3000, 3000, 2000],
      };
      const path = join(dir, 'p.cpuprofile');
      writeFileSync(path, JSON.stringify(profile));
      const summary = summarizeProfile(path, 'label');
      expect(summary.busyMs).toBe(8);
      expect(summary.top[0]).toMatchObject({
        fn: 'pRetry',
        where: 'node_modules/p-retry/index.js:10',
        selfMs: 6,
        share: 0.75,
      });
      expect(summary.top[1]?.fn).toBe('(anonymous)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('summarizeProfile on the bundled bench', () => {
  it('maps a bench/out/dist chunk back to its .ts source through the source map', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prof-'));
    try {
      const dist = join(dir, 'bench', 'out', 'dist');
      mkdirSync(dist, { recursive: true });
      const chunk = join(dist, 'chunk-TEST.js');
      writeFileSync(chunk, '\n\nfunction runAttempt() {}\n');
      // Generated line 3, column 0 → source 0, original line 11 (VLQ "AAUA": +10 lines).
      writeFileSync(
        `${chunk}.map`,
        JSON.stringify({
          version: 3,
          sources: ['../../../src/pipeline/runBatch.ts'],
          names: [],
          mappings: ';;AAUA',
        }),
      );
      const profile = {
        nodes: [
          {
            id: 1,
            callFrame: { functionName: 'runAttempt', url: `file://${chunk}`, lineNumber: 2, columnNumber: 0 },
          },
          {
            id: 2,
            callFrame: { functionName: 'other', url: `file://${join(dist, 'no-map.js')}`, lineNumber: 4 },
          },
        ],
        samples: [1, 1, 2],
        timeDeltas: [1000, 1000, 1000],
      };
      const path = join(dir, 'p.cpuprofile');
      writeFileSync(path, JSON.stringify(profile));
      const [first, second] = summarizeProfile(path, 'label').top;
      expect(first).toMatchObject({ fn: 'runAttempt', where: 'src/pipeline/runBatch.ts:11' });
      expect(second).toMatchObject({ fn: 'other', where: 'bench/out/dist/no-map.js:5' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const benthos = join(import.meta.dirname, '..', '..', '.tools', 'bin', 'benthos');

describe('bench/benthos configs', () => {
  it.skipIf(!existsSync(benthos))('pass `benthos lint`', () => {
    for (const name of ['unordered.yaml', 'ordered.yaml']) {
      const config = join(import.meta.dirname, '..', '..', 'bench', 'benthos', name);
      expect(() => execFileSync(benthos, ['lint', config], { stdio: 'pipe' })).not.toThrow();
    }
  });
});
