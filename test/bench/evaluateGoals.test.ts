import { describe, expect, it } from 'vitest';
import { evaluateGoals } from '../../bench/evaluateGoals.js';
import type { ResultRow } from '../../bench/protocol.js';

const row = (
  partial: Partial<ResultRow> & Pick<ResultRow, 'name' | 'contender' | 'metric' | 'value'>,
): ResultRow => ({
  valid: true,
  ...partial,
});

describe('evaluateGoals', () => {
  it('passes and misses each goal on its stated figure', () => {
    const goals = evaluateGoals([
      row({ name: 'overhead', contender: 'dify-batch-ordered', metric: 'items/s', value: 310_000 }),
      row({ name: 'overhead', contender: 'dify-batch-unordered', metric: 'items/s', value: 290_000 }),
      row({
        name: 'http-ceiling',
        contender: 'dify-batch-ordered',
        metric: 'req/s',
        value: 900,
        ratio: 0.9,
        concurrency: 32,
      }),
      row({ name: 'memory', contender: 'dify-batch-ordered', metric: 'rss growth MB', value: 51 }),
    ]);
    const verdict = (goal: string, contender: string) =>
      goals.find((g) => g.goal.startsWith(goal) && g.contender === contender)?.pass;
    expect(verdict('overhead', 'dify-batch-ordered')).toBe(true);
    expect(verdict('overhead', 'dify-batch-unordered')).toBe(false);
    expect(verdict('HTTP', 'dify-batch-ordered')).toBe(true);
    expect(verdict('RSS', 'dify-batch-ordered')).toBe(false);
  });

  it('fails a goal whose output check failed, whatever the number', () => {
    const [goal] = evaluateGoals([
      row({ name: 'overhead', contender: 'dify-batch-ordered', metric: 'items/s', value: 1e6, valid: false }),
    ]);
    expect(goal).toMatchObject({ pass: false, note: 'output check failed' });
  });

  it("judges Little's law on the worst concurrency up to 256 only", () => {
    const rows = [8, 256, 512].map((c) =>
      row({
        name: 'littles-law',
        contender: 'dify-batch-unordered',
        metric: 'req/s',
        value: c,
        concurrency: c,
        ratio: c === 512 ? 0.5 : 0.98,
      }),
    );
    const [goal] = evaluateGoals(rows);
    expect(goal).toMatchObject({ pass: true, value: 0.98 });
  });

  it('judges the rate limit on the run told the quota, with the rejected share', () => {
    const note = 'rateLimit.perSecond = 50';
    const goals = evaluateGoals([
      row({
        name: 'rate-limit',
        contender: 'dify-batch-ordered',
        metric: 'goodput/s',
        value: 49,
        ratio: 0.98,
        note,
      }),
      row({
        name: 'rate-limit',
        contender: 'dify-batch-ordered',
        metric: 'rejected share',
        value: 0.03,
        ratio: 0.03,
        note,
      }),
      row({
        name: 'rate-limit',
        contender: 'dify-batch-ordered',
        metric: 'goodput/s',
        value: 60,
        ratio: 1.2,
        note: 'Retry-After only',
      }),
    ]);
    expect(goals).toHaveLength(1);
    expect(goals[0]).toMatchObject({ pass: false });
  });

  it('compares with Benthos at the same concurrency', () => {
    const goals = evaluateGoals([
      row({
        name: 'littles-law',
        contender: 'dify-batch-unordered',
        metric: 'req/s',
        value: 300,
        concurrency: 16,
        ratio: 0.9,
      }),
      row({
        name: 'littles-law',
        contender: 'benthos-unordered',
        metric: 'req/s',
        value: 250,
        concurrency: 16,
      }),
      row({
        name: 'littles-law',
        contender: 'benthos-unordered',
        metric: 'req/s',
        value: 999,
        concurrency: 64,
      }),
    ]);
    const versus = goals.filter((g) => g.goal.startsWith('throughput ≥ Benthos'));
    expect(versus).toHaveLength(1);
    expect(versus[0]).toMatchObject({ concurrency: 16, value: 1.2, pass: true });
  });
});
