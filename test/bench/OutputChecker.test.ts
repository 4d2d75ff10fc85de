import { describe, expect, it } from 'vitest';
import { OutputChecker } from '../../bench/OutputChecker.js';

const expected = (seq: number) => ({ result: `r${seq}`, checksum: String(seq * 7) });

describe('OutputChecker', () => {
  it('accepts exactly one matching result per input, in order', () => {
    const checker = new OutputChecker(3, expected, true);
    for (const seq of [0, 1, 2]) checker.ok(seq, expected(seq));
    const report = checker.report();
    expect(report).toMatchObject({ expected: 3, received: 3, succeeded: 3, missing: 0, valid: true });
  });

  it('ignores object key order (Benthos re-serialises with sorted keys)', () => {
    const checker = new OutputChecker(1, expected, false);
    checker.ok(0, { checksum: '0', result: 'r0' });
    expect(checker.report().valid).toBe(true);
  });

  it('reports missing, duplicate, mismatched and failed results', () => {
    const checker = new OutputChecker(5, expected, false);
    checker.ok(0, expected(0));
    checker.ok(0, expected(0));
    checker.ok(1, expected(2));
    checker.fail(2, 'HTTP 429');
    checker.ok(9, expected(9));
    const report = checker.report();
    expect(report).toMatchObject({ missing: 2, duplicates: 1, mismatches: 2, failed: 1, valid: false });
    expect(report.problems.join('\n')).toContain('duplicate result for seq 0');
    expect(report.problems.length).toBeLessThanOrEqual(5);
  });

  it('flags out-of-order results only when the contender promises order', () => {
    const ordered = new OutputChecker(2, expected, true);
    const unordered = new OutputChecker(2, expected, false);
    for (const checker of [ordered, unordered]) {
      checker.ok(1, expected(1));
      checker.ok(0, expected(0));
    }
    expect(ordered.report()).toMatchObject({ orderViolations: 1, valid: false });
    expect(unordered.report()).toMatchObject({ orderViolations: 0, valid: true });
  });

  it('takes the cheap matcher when it says yes and falls back to the full comparison', () => {
    const checker = new OutputChecker(3, expected, false, (seq, outputs) => outputs === seq);
    checker.ok(0, 0);
    checker.ok(1, expected(1));
    checker.ok(2, 'wrong');
    expect(checker.report()).toMatchObject({ succeeded: 2, mismatches: 1 });
  });
});
