import fc from 'fast-check';
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
      limit('fixed c = 4 (the limit)', 'goodput/s', 20, 1),
      limit('fixed c = 32', 'goodput/s', 10, 0.5),
      limit('adaptive, ≤ 32', 'goodput/s', 19.5, 0.975),
      limit('adaptive, ≤ 32', 'refused share', 0.04, 0.04),
    ]);
    expect(goals[0]).toMatchObject({ pass: true, note: '4.0 % refused' });
    expect(goals[0]?.value).toBeCloseTo(0.975);
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

  it('rate limit: the Python anchor (unordered, not told) is compared with dify-batch unordered, not told', () => {
    const at = (contender: ResultRow['contender'], value: number, note: string) =>
      row({ name: 'rate-limit', contender, metric: 'goodput/s', value, concurrency: 16, note });
    const goals = evaluateGoals([
      at('dify-batch-ordered', 60, 'not told: fixed c, 429 backoff'),
      at('dify-batch-unordered', 90, 'not told: fixed c, 429 backoff'),
      at('dify-batch-unordered', 97, 'told the quota: 100/s'),
      at('python-unordered', 80, 'not told: tenacity retries'),
      at('benthos-unordered', 95, 'told the quota: 100/s'),
    ]).filter((g) => g.goal.startsWith('throughput ≥'));
    expect(goals.map((g) => [g.target, g.contender, g.value])).toEqual([
      ['≥ 1.0 × python-unordered', 'dify-batch-unordered', 90 / 80],
      ['≥ 1.0 × benthos-unordered', 'dify-batch-unordered', 97 / 95],
    ]);
  });

  it('a comparison with a peer whose output check failed is n/a, never pass (the python-unordered case)', () => {
    const goals = evaluateGoals([
      row({
        name: 'http-ceiling',
        contender: 'dify-batch-unordered',
        metric: 'req/s',
        value: 1000,
        concurrency: 32,
      }),
      row({
        name: 'http-ceiling',
        contender: 'python-unordered',
        metric: 'req/s',
        value: 60,
        concurrency: 32,
        valid: false,
        note: 'INVALID: peak 31 in flight ≠ c=32',
      }),
    ]);
    const versus = goals.find((g) => g.goal === 'throughput ≥ python at equal configuration');
    expect(versus).toMatchObject({
      pass: undefined,
      note: 'python-unordered at c=32: INVALID: peak 31 in flight ≠ c=32',
    });
    const http = goals.find((g) => g.goal.startsWith('HTTP req/s'));
    expect(http?.pass).toBeUndefined();
    expect(http?.value).toBeNaN();
    expect(http?.note).toContain('python-unordered');
  });

  it('http-ceiling: beating the valid contenders is n/a while another row is INVALID; missing them is a miss', () => {
    const at = (contender: ResultRow['contender'], value: number, valid = true) =>
      row({ name: 'http-ceiling', contender, metric: 'req/s', value, concurrency: 32, valid });
    const beats = evaluateGoals([
      at('dify-batch-unordered', 1200),
      at('bare-undici', 1000),
      at('benthos-unordered', 900, false),
    ]).find((g) => g.goal.startsWith('HTTP req/s'));
    expect(beats).toMatchObject({ pass: undefined, target: '≥ 1.0 × bare-undici' });
    expect(beats?.note).toBe('benthos-unordered at c=32: output check failed');
    const misses = evaluateGoals([
      at('dify-batch-unordered', 800),
      at('bare-undici', 1000),
      at('benthos-unordered', 900, false),
    ]).find((g) => g.goal.startsWith('HTTP req/s'));
    expect(misses).toMatchObject({ pass: false });
  });

  it("Little's law: n/a at one c and pass elsewhere is n/a; a miss anywhere is a miss", () => {
    const at = (c: number, contender: ResultRow['contender'], value: number, valid = true) =>
      row({ name: 'littles-law', contender, metric: 'req/s', value, concurrency: c, valid });
    const unjudged = evaluateGoals([
      at(8, 'dify-batch-ordered', 100),
      at(8, 'bare-undici', 100),
      at(64, 'dify-batch-ordered', 800),
      at(64, 'bare-undici', 700, false),
    ]);
    expect(unjudged[0]).toMatchObject({
      pass: undefined,
      concurrency: 64,
      note: 'bare-undici at c=64: output check failed',
    });
    const missed = evaluateGoals([
      at(8, 'dify-batch-ordered', 90),
      at(8, 'bare-undici', 100),
      at(64, 'dify-batch-ordered', 800),
      at(64, 'bare-undici', 700, false),
    ]);
    expect(missed[0]).toMatchObject({ pass: false, concurrency: 8 });
  });

  it('head-of-line: Readable.map or unordered with a failed check makes the ratio n/a', () => {
    const at = (contender: ResultRow['contender'], value: number, valid = true) =>
      row({ name: 'head-of-line', contender, metric: 'req/s', value, concurrency: 16, valid });
    const goals = evaluateGoals([
      at('dify-batch-ordered', 100),
      at('dify-batch-unordered', 100, false),
      at('readable-map', 90, false),
    ]);
    expect(goals.map((g) => g.pass)).toEqual([undefined, undefined]);
    expect(goals[1]?.note).toBe('readable-map at c=16: output check failed');
  });

  it('concurrency limit: n/a when the fixed-c runs failed their check, a miss when too many calls are refused', () => {
    const limit = (note: string, metric: string, value: number, valid = true) =>
      row({
        name: 'concurrency-limit',
        contender: 'dify-batch-unordered',
        metric,
        value,
        concurrency: 32,
        note,
        valid,
      });
    const base = [
      limit('fixed c = 4 (the limit)', 'goodput/s', 20, false),
      limit('fixed c = 32', 'goodput/s', 10, false),
    ];
    const unjudged = evaluateGoals([
      ...base,
      limit('adaptive, ≤ 32', 'goodput/s', 19.5),
      limit('adaptive, ≤ 32', 'refused share', 0.01),
    ]);
    expect(unjudged[0]).toMatchObject({ pass: undefined });
    expect(unjudged[0]?.note).toMatch(/^1\.0 % refused; dify-batch-unordered at c=32: output check failed/);
    const refused = evaluateGoals([
      ...base,
      limit('adaptive, ≤ 32', 'goodput/s', 19.5),
      limit('adaptive, ≤ 32', 'refused share', 0.2),
    ]);
    expect(refused[0]).toMatchObject({ pass: false });
  });

  it('property: no comparison passes while a row it is compared with is invalid', () => {
    const contenders = ['bare-undici', 'readable-map', 'benthos-unordered', 'python-unordered'] as const;
    const arbRow = fc.record({
      name: fc.constantFrom('http-ceiling' as const, 'littles-law' as const),
      contender: fc.constantFrom('dify-batch-unordered' as const, ...contenders),
      value: fc.double({ min: 1, max: 1e4, noNaN: true }),
      concurrency: fc.constantFrom(8, 32),
      valid: fc.boolean(),
    });
    fc.assert(
      fc.property(
        // One row per scenario, contender and c, as a run produces.
        fc.uniqueArray(arbRow, {
          maxLength: 12,
          selector: (r) => `${r.name}/${r.contender}/${r.concurrency}`,
        }),
        (partials) => {
          const rows = partials.map((p) => row({ ...p, metric: 'req/s' }));
          for (const goal of evaluateGoals(rows)) {
            if (goal.pass !== true) continue;
            // A peer goal compares with that peer; the others with every contender at every c they span
            // (Little's law: all c's), our own row included.
            const peer = goal.goal.startsWith('throughput ≥')
              ? goal.target.replace('≥ 1.0 × ', '')
              : undefined;
            const compared = rows.filter(
              (r) =>
                r.name === goal.scenario &&
                ((goal.scenario === 'littles-law' && peer === undefined) ||
                  r.concurrency === goal.concurrency) &&
                (peer === undefined || r.contender === peer || r.contender === goal.contender) &&
                rows.some(
                  (mine) =>
                    mine.contender === goal.contender &&
                    mine.concurrency === r.concurrency &&
                    mine.name === r.name,
                ),
            );
            expect(compared.every((r) => r.valid)).toBe(true);
          }
        },
      ),
    );
  });
});
