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
      row({ name: 'memory', contender: 'dify-batch-ordered', metric: 'peak rss MB', value: 150 }),
      row({ name: 'memory', contender: 'dify-batch-ordered', metric: 'heap growth 10%→100% MB', value: 6 }),
    ]);
    const verdict = (goal: string, contender: string) =>
      goals.find((g) => g.goal.startsWith(goal) && g.contender === contender)?.pass;
    expect(verdict('overhead', 'dify-batch-ordered')).toBe(true);
    expect(verdict('overhead', 'dify-batch-unordered')).toBe(false);
    expect(verdict('memory: peak RSS', 'dify-batch-ordered')).toBe(true);
    expect(verdict('memory: post-GC heap', 'dify-batch-ordered')).toBe(false);
  });

  it('fails a goal whose output check failed, whatever the number', () => {
    const [goal] = evaluateGoals([
      row({ name: 'overhead', contender: 'dify-batch-ordered', metric: 'items/s', value: 1e6, valid: false }),
    ]);
    expect(goal).toMatchObject({ pass: false, note: 'output check failed' });
  });

  it('judges http-ceiling against the best valid other contender, CPU against the leanest', () => {
    const at = (contender: ResultRow['contender'], metric: string, value: number, valid = true) =>
      row({ name: 'http-ceiling', contender, metric, value, concurrency: 32, valid });
    const goals = evaluateGoals([
      at('dify-batch-unordered', 'req/s', 1000),
      at('dify-batch-unordered', 'cpu-µs/req', 105),
      at('bare-undici', 'req/s', 900),
      at('bare-undici', 'cpu-µs/req', 100),
      at('readable-map', 'req/s', 1100),
      at('readable-map', 'cpu-µs/req', 90),
      // An invalid row (e.g. peak in flight ≠ c) is no yardstick.
      at('naive-chunks', 'req/s', 5000, false),
    ]);
    const http = goals.find((g) => g.goal.startsWith('HTTP req/s'));
    expect(http).toMatchObject({ target: '≥ 1.0 × readable-map', pass: false });
    expect(http?.value).toBeCloseTo(1000 / 1100);
    const cpu = goals.find((g) => g.goal.startsWith('HTTP CPU'));
    expect(cpu).toMatchObject({ target: '≤ 1.1 × readable-map', pass: false });
  });

  it("judges Little's law at every c against the best other contender there", () => {
    const rows = [8, 512].flatMap((c) => [
      row({
        name: 'littles-law',
        contender: 'dify-batch-unordered',
        metric: 'req/s',
        value: c === 512 ? 960 : 100,
        concurrency: c,
      }),
      row({
        name: 'littles-law',
        contender: 'bare-undici',
        metric: 'req/s',
        value: c === 512 ? 1000 : 101,
        concurrency: c,
      }),
    ]);
    const [goal] = evaluateGoals(rows);
    expect(goal).toMatchObject({ concurrency: 512, pass: false });
    expect(goal?.value).toBeCloseTo(0.96);
  });

  it('judges the rate limit on the run told the quota, with the rejected share', () => {
    const note = 'told the quota: 50/s';
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
        note: 'not told: fixed c, 429 backoff',
      }),
    ]);
    expect(goals).toHaveLength(1);
    expect(goals[0]).toMatchObject({ pass: false, note: '3.0 % rejected' });
  });

  it('judges adaptive concurrency against the best fixed c under the 400 concurrency limit', () => {
    const limit = (note: string, metric: string, value: number, ratio: number) =>
      row({
        name: 'concurrency-limit',
        contender: 'dify-batch-unordered',
        metric,
        value,
        ratio,
        concurrency: 32,
        note,
      });
    const goals = evaluateGoals([
      limit('adaptive, ≤ 32', 'goodput/s', 19.5, 0.975),
      limit('adaptive, ≤ 32', 'refused share', 0.04, 0.04),
    ]);
    expect(goals[0]).toMatchObject({ pass: true, note: '4.0 % refused' });
  });

  it('compares with Benthos and Python at the same concurrency and configuration', () => {
    const goals = evaluateGoals([
      row({
        name: 'littles-law',
        contender: 'dify-batch-unordered',
        metric: 'req/s',
        value: 300,
        concurrency: 16,
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
        contender: 'python-unordered',
        metric: 'req/s',
        value: 400,
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
    const versus = goals.filter((g) => g.goal.startsWith('throughput ≥'));
    expect(versus).toHaveLength(2);
    expect(versus[0]).toMatchObject({ concurrency: 16, value: 1.2, pass: true });
    expect(versus[1]).toMatchObject({
      concurrency: 16,
      value: 0.75,
      pass: false,
      target: '≥ 1.0 × python-unordered',
    });
  });
});
