import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepKafkaSection } from '../../bench/kafkaSection.js';
import { extractSection, keepSections, replaceSection } from '../../bench/keepSections.js';

describe('keepSections', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'dify-batch-keep-')), 'RESULTS.md');

  it('a regenerated RESULTS.md keeps the Batch gateway section of the previous one', () => {
    writeFileSync(
      path,
      '# Old\n\n## memory\nold numbers\n\n## Batch gateway\n\n| a | 1 |\n\n## Contenders\nlist\n',
    );
    expect(keepSections('# New\n\n## memory\nnew numbers\n', path)).toBe(
      '# New\n\n## memory\nnew numbers\n\n## Batch gateway\n\n| a | 1 |\n',
    );
  });

  it('changes nothing when there is no such section, or the new text has its own', () => {
    writeFileSync(path, '# Old\n\n## memory\n');
    expect(keepSections('# New\n', path)).toBe('# New\n');
    writeFileSync(path, '## Batch gateway\nold\n');
    expect(keepSections('## Batch gateway\nnew\n', path)).toBe('## Batch gateway\nnew\n');
    expect(keepSections('# New\n', join(path, 'missing'))).toBe('# New\n');
  });

  it('extractSection stops at the next level-2 heading, not a level-3 one', () => {
    expect(extractSection('## A\nx\n### sub\ny\n## B\nz', '## A')).toBe('## A\nx\n### sub\ny');
  });
});

describe('keepSections with the Kafka section after the Batch gateway one', () => {
  it('regenerating twice leaves exactly one Kafka marker pair (the marker does not travel with the gateway section)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dify-batch-keep-')), 'RESULTS.md');
    writeFileSync(
      path,
      '# Old\n\n## Batch gateway\n\ngw\n\n<!-- kafka-bench:start -->\n## Kafka\n\nk\n<!-- kafka-bench:end -->\n',
    );
    for (let i = 0; i < 2; i++) {
      const previous = readFileSync(path, 'utf8');
      writeFileSync(path, keepKafkaSection(previous, keepSections('# New\n', path)));
    }
    const text = readFileSync(path, 'utf8');
    expect(text.split('<!-- kafka-bench:start -->')).toHaveLength(2);
    expect(text).toContain('## Batch gateway\n\ngw');
    expect(text).toContain('## Kafka\n\nk');
  });
});

describe('replaceSection', () => {
  it('replaces the section in place, or appends it; the Real Dify section survives npm run bench', () => {
    const text = '# R\n\n## a\nold a\n\n## Real Dify 1.13.2\nold\n\n## b\nb\n';
    expect(replaceSection(text, '## Real Dify 1.13.2', '## Real Dify 1.13.2\nnew')).toBe(
      '# R\n\n## a\nold a\n\n## Real Dify 1.13.2\nnew\n\n## b\nb\n',
    );
    expect(replaceSection('# R\n', '## Real Dify 1.13.2', '## Real Dify 1.13.2\nnew')).toBe(
      '# R\n\n## Real Dify 1.13.2\nnew\n',
    );
    const path = join(mkdtempSync(join(tmpdir(), 'dify-batch-keep-')), 'RESULTS.md');
    writeFileSync(path, text);
    expect(extractSection(keepSections('# New\n', path), '## Real Dify 1.13.2')).toBe(
      '## Real Dify 1.13.2\nold\n',
    );
  });
});
