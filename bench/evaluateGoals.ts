import type { Contender, ResultRow, ScenarioName } from './protocol.js';

/** One performance goal of issue 4, checked against one measurement. */
export interface GoalResult {
  readonly goal: string;
  readonly scenario: ScenarioName;
  readonly contender: Contender;
  readonly concurrency?: number;
  /** The figure the goal is stated in. */
  readonly value: number;
  readonly target: string;
  /** `undefined` = not evaluated (a contender was skipped). */
  readonly pass: boolean | undefined;
  readonly note?: string;
}

const OURS: readonly Contender[] = ['dify-batch-ordered', 'dify-batch-unordered'];

function find(
  rows: readonly ResultRow[],
  name: ScenarioName,
  contender: Contender,
  metric: string,
  concurrency?: number,
) {
  return rows.filter(
    (row) =>
      row.name === name &&
      row.contender === contender &&
      row.metric === metric &&
      (concurrency === undefined || row.concurrency === concurrency),
  );
}

/** Pass only when the number counts (output check passed) and meets the bound. */
function judged(row: ResultRow, figure: number, ok: boolean): Pick<GoalResult, 'value' | 'pass' | 'note'> {
  return row.valid
    ? { value: figure, pass: ok }
    : { value: figure, pass: false, note: 'output check failed' };
}

/** Evaluates every goal of issue 4 §4 on the rows of one run. */
export function evaluateGoals(rows: readonly ResultRow[]): GoalResult[] {
  const goals: GoalResult[] = [];
  for (const contender of OURS) {
    for (const row of find(rows, 'overhead', contender, 'items/s')) {
      goals.push({
        goal: 'overhead ≥ 300k items/s',
        scenario: 'overhead',
        contender,
        target: '≥ 300,000 items/s',
        ...judged(row, row.value, row.value >= 300_000),
      });
    }
    for (const row of find(rows, 'http-ceiling', contender, 'req/s')) {
      goals.push({
        goal: 'HTTP ≥ 90% of bare undici',
        scenario: 'http-ceiling',
        contender,
        concurrency: row.concurrency,
        target: '≥ 0.90',
        ...judged(row, row.ratio!, row.ratio! >= 0.9),
      });
    }
    const littles = find(rows, 'littles-law', contender, 'req/s').filter(
      (row) => (row.concurrency ?? 0) <= 256,
    );
    if (littles.length > 0) {
      const worst = littles.reduce((a, b) =>
        (a.valid ? a.ratio! : -1) <= (b.valid ? b.ratio! : -1) ? a : b,
      );
      goals.push({
        goal: "Little's law ≥ 97% up to c=256",
        scenario: 'littles-law',
        contender,
        concurrency: worst.concurrency,
        target: '≥ 0.97 at every c ≤ 256 (worst shown)',
        ...judged(
          worst,
          worst.ratio!,
          littles.every((row) => row.valid && row.ratio! >= 0.97),
        ),
      });
    }
    for (const row of find(rows, 'memory', contender, 'rss growth MB')) {
      goals.push({
        goal: 'RSS growth < 50 MB over the input',
        scenario: 'memory',
        contender,
        target: '< 50 MB',
        ...judged(row, row.value, row.value < 50),
      });
    }
  }
  for (const row of find(rows, 'head-of-line', 'dify-batch-ordered', 'req/s')) {
    const unordered = find(rows, 'head-of-line', 'dify-batch-unordered', 'req/s')[0];
    const valid = row.valid && unordered?.valid === true;
    goals.push({
      goal: 'ordered ≥ 0.9× unordered (log-normal)',
      scenario: 'head-of-line',
      contender: row.contender,
      concurrency: row.concurrency,
      target: '≥ 0.90',
      ...judged({ ...row, valid }, row.ratio!, row.ratio! >= 0.9),
    });
  }
  for (const row of find(rows, 'head-of-line', 'dify-batch-ordered', 'speed-up vs naive')) {
    goals.push({
      goal: 'ordered ≥ 3× naive chunks (log-normal)',
      scenario: 'head-of-line',
      contender: row.contender,
      concurrency: row.concurrency,
      target: '≥ 3.0',
      ...judged(row, row.value, row.value >= 3),
    });
  }
  // Judged on the run told the quota; the Retry-After-only run is in the scenario table for reference.
  for (const contender of OURS) {
    for (const row of find(rows, 'rate-limit', contender, 'goodput/s')) {
      if (row.note?.startsWith('rateLimit') !== true) continue;
      const rejected = rows.find(
        (r) =>
          r.name === 'rate-limit' &&
          r.contender === contender &&
          r.metric === 'rejected share' &&
          r.note === row.note,
      );
      const share = rejected?.value ?? Number.NaN;
      goals.push({
        goal: 'rate limit: goodput ≥ 95% of R, < 2% rejected',
        scenario: 'rate-limit',
        contender,
        target: '≥ 0.95 and < 2% 429s',
        ...judged(row, row.ratio!, row.ratio! >= 0.95 && share < 0.02),
        note: `${row.note}; ${(share * 100).toFixed(1)}% rejected${row.valid ? '' : '; output check failed'}`,
      });
    }
  }
  goals.push(...versusBenthos(rows));
  return goals;
}

/** "throughput ≥ Benthos at the same concurrency": A vs unordered, B vs ordered, wherever both ran. */
function versusBenthos(rows: readonly ResultRow[]): GoalResult[] {
  const goals: GoalResult[] = [];
  const pairs: [Contender, Contender][] = [
    ['dify-batch-unordered', 'benthos-unordered'],
    ['dify-batch-ordered', 'benthos-ordered'],
  ];
  for (const [ours, theirs] of pairs) {
    for (const row of rows) {
      if (row.contender !== theirs || !['req/s', 'goodput/s'].includes(row.metric)) continue;
      const mine = find(rows, row.name, ours, row.metric, row.concurrency).find(
        (r) => row.name !== 'rate-limit' || r.note?.startsWith('rateLimit'),
      );
      if (mine === undefined) continue;
      const ratio = mine.value / row.value;
      goals.push({
        goal: 'throughput ≥ Benthos at the same concurrency',
        scenario: row.name,
        contender: ours,
        concurrency: row.concurrency,
        target: `≥ 1.0 × ${theirs}`,
        ...(mine.valid
          ? {
              value: ratio,
              pass: ratio >= 1,
              ...(row.valid ? {} : { note: `${theirs} output check failed` }),
            }
          : { value: ratio, pass: false, note: 'output check failed' }),
      });
    }
  }
  return goals;
}
