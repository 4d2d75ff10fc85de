import { describe, expect, it } from 'vitest';
import { keepKafkaSection, replaceKafkaSection } from '../../bench/kafkaSection.js';

describe('kafkaSection', () => {
  it('appends the section once and replaces it in place later', () => {
    const first = replaceKafkaSection('# Results\n\ntable\n', '## Kafka\n\nv1\n');
    expect(first).toMatch(/table\n\n<!-- kafka-bench:start -->\n## Kafka\n\nv1\n<!-- kafka-bench:end -->\n$/);
    const second = replaceKafkaSection(`${first}tail\n`, '## Kafka\n\nv2');
    expect(second).not.toContain('v1');
    expect(second.match(/kafka-bench:start/g)).toHaveLength(1);
    expect(second.endsWith('<!-- kafka-bench:end -->\ntail\n')).toBe(true);
  });

  it('a regenerated RESULTS.md keeps the Kafka section of the previous one', () => {
    const previous = replaceKafkaSection('# old\n', '## Kafka\n\nnumbers');
    const kept = keepKafkaSection(previous, '# new\n');
    expect(kept).toContain('# new');
    expect(kept).not.toContain('# old');
    expect(kept).toContain('## Kafka\n\nnumbers');
    expect(keepKafkaSection(undefined, '# new\n')).toBe('# new\n');
    expect(keepKafkaSection('# no section\n', '# new\n')).toBe('# new\n');
  });
});
