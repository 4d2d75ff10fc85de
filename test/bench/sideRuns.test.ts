import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  extractSection,
  readSideRun,
  renderSideRun,
  replaceSection,
  SIDE_RUNS,
  type SideRun,
  withSideRuns,
  writeSideRun,
} from '../../bench/sideRuns.js';

const machine = {
  cpu: 'Test CPU',
  cores: 2,
  totalMemGb: 8,
  os: 'linux x64',
  loadAvgStart: 1.5,
  loadAvgEnd: 2.25,
};
const sideRun = (name: SideRun['name'], body: string): SideRun => ({
  name,
  command: `npm run bench:${name}`,
  date: '2026-11-30T05:00:00.000Z',
  machine,
  node: 'v20.20.2',
  body,
  data: { body },
});
const repo = (): string => {
  const root = mkdtempSync(join(tmpdir(), 'dify-batch-side-runs-'));
  mkdirSync(join(root, 'bench', 'out'), { recursive: true });
  return root;
};
const results = (root: string): string => readFileSync(join(root, 'bench', 'RESULTS.md'), 'utf8');

describe('side runs', () => {
  it('a side run writes its JSON and its section, labeled with its own date, machine and load', () => {
    const root = repo();
    writeFileSync(join(root, 'bench', 'RESULTS.md'), '# Benchmark results\n\n## memory\nmain numbers\n');
    writeSideRun(root, sideRun('kafka', '| path | records/s |\n|---|---|\n| kafka | 2200 |'));
    expect(readSideRun(root, 'kafka')?.body).toContain('| kafka | 2200 |');
    const text = results(root);
    expect(
      text.startsWith(
        '# Benchmark results\n\n## memory\nmain numbers\n\n## Kafka\n\n_Side run_: `npm run bench:kafka` on 2026-11-30T05:00:00.000Z',
      ),
    ).toBe(true);
    expect(text).toContain(
      'Test CPU × 2, 8 GB, linux x64, Node v20.20.2; load average (1 min) 1.50 at start, 2.25 at end',
    );
    // Run again: replaced in place, not appended.
    writeSideRun(root, sideRun('kafka', 'second'));
    expect(results(root).match(/## Kafka/g)).toHaveLength(1);
    expect(results(root)).not.toContain('2200');
    expect(results(root).trimEnd().endsWith('second')).toBe(true);
  });

  it('the main run renders every side run from its JSON; one without JSON keeps its old section', () => {
    const root = repo();
    writeSideRun(root, sideRun('gateway', 'gateway numbers'));
    writeSideRun(root, sideRun('kafka', 'kafka numbers'));
    // An older RESULTS.md: stale main sections, Kafka between the old markers, Real Dify from before it wrote JSON.
    const previous = replaceSection(
      '# Old\n\n## memory\nold\n\n## Batch gateway\n\nold gateway\n\n<!-- kafka-bench:start -->\n## Kafka\n\nold kafka\n<!-- kafka-bench:end -->\n',
      '## Real Dify 1.13.2',
      '## Real Dify 1.13.2\n\nreal numbers\n\n### blocking\n\n| a |',
    );
    const regenerated = withSideRuns('# New\n\n## memory\nnew\n', root, previous);
    expect(regenerated).toBe(
      [
        '# New\n\n## memory\nnew',
        renderSideRun(sideRun('gateway', 'gateway numbers')).trimEnd(),
        renderSideRun(sideRun('kafka', 'kafka numbers')).trimEnd(),
        '## Real Dify 1.13.2\n\nreal numbers\n\n### blocking\n\n| a |\n',
      ].join('\n\n'),
    );
    expect(regenerated).not.toContain('<!--');
    expect(regenerated).not.toContain('old');
  });

  it('property: regenerating RESULTS.md again changes nothing and keeps every side run once', () => {
    fc.assert(
      fc.property(
        fc.subarray(['gateway', 'kafka', 'real-dify'] as const),
        fc.stringMatching(/^[a-z0-9 |\n]{0,40}$/),
        (withJson, body) => {
          const root = repo();
          for (const name of withJson) writeSideRun(root, sideRun(name, `${name} ${body}`));
          const legacy = SIDE_RUNS.filter(({ name }) => !withJson.includes(name))
            .map(({ heading }) => `${heading}\n\nlegacy`)
            .join('\n\n');
          const once = withSideRuns('# Main\n', root, `# Old\n\n${legacy}\n`);
          const twice = withSideRuns('# Main\n', root, once);
          expect(twice).toBe(once);
          for (const { heading } of SIDE_RUNS) expect(once.split(`\n${heading}\n`)).toHaveLength(2);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("replaceSection (bench/realDify.ts's call site) replaces in place or appends", () => {
    const text = '# R\n\n## a\nold a\n\n## Real Dify 1.13.2\nold\n\n## b\nb\n';
    expect(replaceSection(text, '## Real Dify 1.13.2', '## Real Dify 1.13.2\nnew')).toBe(
      '# R\n\n## a\nold a\n\n## Real Dify 1.13.2\nnew\n\n## b\nb\n',
    );
    expect(replaceSection('# R\n', '## Real Dify 1.13.2', '## Real Dify 1.13.2\nnew')).toBe(
      '# R\n\n## Real Dify 1.13.2\nnew\n',
    );
    expect(extractSection('## A\nx\n### sub\ny\n## B\nz', '## A')).toBe('## A\nx\n### sub\ny');
  });

  it('the committed side-run JSON files are side runs the registry knows', () => {
    const root = join(import.meta.dirname, '..', '..');
    for (const { name } of SIDE_RUNS) {
      const run = readSideRun(root, name);
      if (run === undefined) continue;
      expect(run.name).toBe(name);
      expect(renderSideRun(run)).toMatch(/^## .+\n\n_Side run_: `npm run bench:/);
      expect(Number.isNaN(Date.parse(run.date))).toBe(false);
    }
  });
});
