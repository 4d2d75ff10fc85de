import type { Contender, ResultRow, ScenarioName } from './protocol.js';
import { MEMORY_GOAL_HEAP_GROWTH_MB, MEMORY_GOAL_PEAK_RSS_MB } from './scenarios/runMemory.js';
import { OVERHEAD_GOAL_ITEMS_PER_SEC } from './scenarios/runOverhead.js';

/** One performance goal of issue 10, checked against one measurement. */
export interface GoalResult {
  readonly goal: string;
  readonly scenario: ScenarioName;
  readonly contender: Contender;
  readonly concurrency?: number;
  /** The figure the goal is stated in. */
  readonly value: number;
  readonly target: string;
  /**
   * `undefined` = n/a: the comparison cannot be judged because a contender it compares with failed its
   * output check or its row is INVALID (e.g. peak in flight ≠ c); `note` says which and why.
   */
  readonly pass: boolean | undefined;
  readonly note?: string;
}

const OURS: readonly Contender[] = ['dify-batch-ordered', 'dify-batch-unordered'];
const isOurs = (contender: Contender): boolean => OURS.includes(contender);

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

type Verdict = Pick<GoalResult, 'value' | 'pass' | 'note'>;

/** Pass only when the number counts (output check passed) and meets the bound. */
function judged(row: ResultRow, figure: number, ok: boolean): Verdict {
  return row.valid
    ? { value: figure, pass: ok }
    : { value: figure, pass: false, note: 'output check failed' };
}

/** Why a row does not count: its INVALID note (e.g. peak in flight ≠ c), else its failed output check. */
function whyInvalid(row: ResultRow): string {
  const at = row.concurrency === undefined ? '' : ` at c=${row.concurrency}`;
  const why = row.note?.startsWith('INVALID') === true ? row.note : 'output check failed';
  return `${row.contender}${at}: ${why}`;
}

/**
 * Our row against the reference rows it is compared with. Our own invalid row is a miss. An invalid
 * reference makes the comparison n/a (its number measures something else), unless the valid references
 * alone already make it a miss: an invalid one could only raise the bar. `ok` is the bound on one reference.
 */
function compared(
  mine: ResultRow,
  figure: number,
  references: readonly ResultRow[],
  ok: (reference: ResultRow) => boolean,
): Verdict {
  if (!mine.valid) return { value: figure, pass: false, note: 'output check failed' };
  const invalid = references.filter((row) => !row.valid);
  const valid = references.filter((row) => row.valid);
  if (valid.length > 0 && !valid.every(ok)) return { value: figure, pass: false };
  if (invalid.length > 0) return { value: figure, pass: undefined, note: invalid.map(whyInvalid).join('; ') };
  return { value: figure, pass: true };
}

/** The other contenders' (not dify-batch) rows of a scenario, metric and concurrency, valid or not. */
function others(
  rows: readonly ResultRow[],
  name: ScenarioName,
  metric: string,
  concurrency: number | undefined,
): ResultRow[] {
  return rows.filter(
    (row) =>
      row.name === name && row.metric === metric && row.concurrency === concurrency && !isOurs(row.contender),
  );
}

/** The best valid row of the other contenders (not dify-batch) for a scenario, metric and concurrency. */
function bestOther(
  rows: readonly ResultRow[],
  name: ScenarioName,
  metric: string,
  concurrency: number | undefined,
  better: (a: number, b: number) => boolean,
): ResultRow | undefined {
  let best: ResultRow | undefined;
  for (const row of rows) {
    if (row.name !== name || row.metric !== metric || row.concurrency !== concurrency) continue;
    if (isOurs(row.contender) || !row.valid) continue;
    if (best === undefined || better(row.value, best.value)) best = row;
  }
  return best;
}

/** Evaluates every goal of issue 10 (Build item 7) on the rows of one run. */
export function evaluateGoals(rows: readonly ResultRow[]): GoalResult[] {
  const goals: GoalResult[] = [];
  for (const contender of OURS) {
    for (const row of find(rows, 'overhead', contender, 'items/s')) {
      goals.push({
        goal: 'overhead ≥ 300k items/s',
        scenario: 'overhead',
        contender,
        target: `≥ ${OVERHEAD_GOAL_ITEMS_PER_SEC.toLocaleString('en-US')} items/s`,
        ...judged(row, row.value, row.value >= OVERHEAD_GOAL_ITEMS_PER_SEC),
      });
    }
    for (const row of find(rows, 'http-ceiling', contender, 'req/s')) {
      const references = others(rows, 'http-ceiling', 'req/s', row.concurrency);
      if (references.length === 0) continue;
      const best = bestOther(rows, 'http-ceiling', 'req/s', row.concurrency, (a, b) => a > b);
      goals.push({
        goal: 'HTTP req/s ≥ 1.0 × the best other contender',
        scenario: 'http-ceiling',
        contender,
        concurrency: row.concurrency,
        target: `≥ 1.0 × ${best?.contender ?? 'the best other contender'}`,
        ...compared(
          row,
          best === undefined ? Number.NaN : row.value / best.value,
          references,
          (reference) => row.value >= reference.value,
        ),
      });
    }
    for (const row of find(rows, 'http-ceiling', contender, 'cpu-µs/req')) {
      const references = others(rows, 'http-ceiling', 'cpu-µs/req', row.concurrency);
      if (references.length === 0) continue;
      const leanest = bestOther(rows, 'http-ceiling', 'cpu-µs/req', row.concurrency, (a, b) => a < b);
      goals.push({
        goal: 'HTTP CPU/request ≤ 1.1 × the leanest other contender',
        scenario: 'http-ceiling',
        contender,
        concurrency: row.concurrency,
        target: `≤ 1.1 × ${leanest?.contender ?? 'the leanest other contender'}`,
        ...compared(
          row,
          leanest === undefined ? Number.NaN : row.value / leanest.value,
          references,
          (reference) => row.value <= 1.1 * reference.value,
        ),
      });
    }
    const littles = littlesLaw(rows, contender);
    if (littles !== undefined) goals.push(littles);
    for (const row of find(rows, 'memory', contender, 'peak rss MB')) {
      goals.push({
        goal: `memory: peak RSS < ${MEMORY_GOAL_PEAK_RSS_MB} MB`,
        scenario: 'memory',
        contender,
        target: `< ${MEMORY_GOAL_PEAK_RSS_MB} MB`,
        ...judged(row, row.value, row.value < MEMORY_GOAL_PEAK_RSS_MB),
      });
    }
    for (const row of find(rows, 'memory', contender, 'heap growth 10%→100% MB')) {
      goals.push({
        goal: `memory: post-GC heap at 100 % − at 10 % < ${MEMORY_GOAL_HEAP_GROWTH_MB} MB`,
        scenario: 'memory',
        contender,
        target: `< ${MEMORY_GOAL_HEAP_GROWTH_MB} MB`,
        ...judged(row, row.value, row.value < MEMORY_GOAL_HEAP_GROWTH_MB),
      });
    }
  }
  goals.push(...headOfLine(rows), ...limits(rows), ...versusPeers(rows));
  return goals;
}

/** Little's law at every c: a miss at any c is a miss (worst shown); else an n/a at any c is n/a. */
function littlesLaw(rows: readonly ResultRow[], contender: Contender): GoalResult | undefined {
  const versus = find(rows, 'littles-law', contender, 'req/s').flatMap((row) => {
    const references = others(rows, 'littles-law', 'req/s', row.concurrency);
    // A c nobody else ran judges nothing, unless our own row there failed its check.
    if (references.length === 0 && row.valid) return [];
    const best = bestOther(rows, 'littles-law', 'req/s', row.concurrency, (a, b) => a > b);
    const ratio = best === undefined ? Number.NaN : row.value / best.value;
    return [
      { row, verdict: compared(row, ratio, references, (reference) => row.value >= 0.97 * reference.value) },
    ];
  });
  if (versus.length === 0) return undefined;
  const misses = versus.filter(({ verdict }) => verdict.pass === false);
  const unjudged = versus.filter(({ verdict }) => verdict.pass === undefined);
  const shown = misses.length > 0 ? misses : unjudged.length > 0 ? unjudged : versus;
  // The worst among the deciding c's: our own invalid row first, then no valid yardstick (NaN), then the ratio.
  const rank = ({ row, verdict }: (typeof versus)[number]): number =>
    !row.valid ? -2 : Number.isNaN(verdict.value) ? -1 : verdict.value;
  const worst = shown.reduce((a, b) => (rank(a) <= rank(b) ? a : b));
  const pass = misses.length > 0 ? false : unjudged.length > 0 ? undefined : true;
  const note =
    pass === undefined ? unjudged.map(({ verdict }) => verdict.note).join('; ') : worst.verdict.note;
  return {
    goal: "Little's law ≥ 0.97 × the best other contender at every c",
    scenario: 'littles-law',
    contender,
    concurrency: worst.row.concurrency,
    target: '≥ 0.97 at every c (worst shown)',
    value: worst.verdict.value,
    pass,
    ...(note === undefined ? {} : { note }),
  };
}

function headOfLine(rows: readonly ResultRow[]): GoalResult[] {
  const goals: GoalResult[] = [];
  for (const row of find(rows, 'head-of-line', 'dify-batch-ordered', 'req/s')) {
    const unordered = find(rows, 'head-of-line', 'dify-batch-unordered', 'req/s')[0];
    if (unordered === undefined) continue;
    goals.push({
      goal: 'ordered ≥ 0.90 × unordered (log-normal)',
      scenario: 'head-of-line',
      contender: row.contender,
      concurrency: row.concurrency,
      target: '≥ 0.90',
      ...compared(
        row,
        row.value / unordered.value,
        [unordered],
        (reference) => row.value >= 0.9 * reference.value,
      ),
    });
  }
  // Every window the scenario ran both at: the metric names the window.
  for (const row of rows) {
    if (
      row.name !== 'head-of-line' ||
      row.contender !== 'dify-batch-ordered' ||
      !row.metric.startsWith('req/s')
    )
      continue;
    const readableMap = find(rows, 'head-of-line', 'readable-map', row.metric)[0];
    if (readableMap === undefined) continue;
    goals.push({
      goal: `ordered ≥ 1.0 × Readable.map at equal read-ahead (${row.metric})`,
      scenario: 'head-of-line',
      contender: row.contender,
      concurrency: row.concurrency,
      target: '≥ 1.0 × readable-map',
      ...compared(
        row,
        row.value / readableMap.value,
        [readableMap],
        (reference) => row.value >= reference.value,
      ),
    });
  }
  return goals;
}

function limits(rows: readonly ResultRow[]): GoalResult[] {
  const goals: GoalResult[] = [];
  const share = (name: ScenarioName, row: ResultRow, metric: string): number =>
    rows.find(
      (r) =>
        r.name === name &&
        r.contender === row.contender &&
        r.metric === metric &&
        r.note === row.note &&
        r.concurrency === row.concurrency,
    )?.value ?? Number.NaN;
  for (const contender of OURS) {
    for (const row of find(rows, 'rate-limit', contender, 'goodput/s')) {
      if (row.note?.startsWith('told the quota') !== true) continue;
      const rejected = share('rate-limit', row, 'rejected share');
      goals.push({
        goal: 'rate limit told the quota: goodput ≥ 0.95 R, < 2 % rejected',
        scenario: 'rate-limit',
        contender,
        target: '≥ 0.95 and < 2 % 429s',
        ...judged(row, row.ratio!, row.ratio! >= 0.95 && rejected < 0.02),
        note: `${(rejected * 100).toFixed(1)} % rejected${row.valid ? '' : '; output check failed'}`,
      });
    }
  }
  for (const row of find(rows, 'concurrency-limit', 'dify-batch-unordered', 'goodput/s')) {
    if (row.note?.startsWith('adaptive') !== true) continue;
    const refused = share('concurrency-limit', row, 'refused share');
    const fixed = find(rows, 'concurrency-limit', 'dify-batch-unordered', 'goodput/s').filter(
      (other) => other.note?.startsWith('fixed c') === true,
    );
    if (fixed.length === 0) continue;
    const bestFixed = fixed.filter((other) => other.valid).sort((a, b) => b.value - a.value)[0];
    const verdict = compared(
      row,
      bestFixed === undefined ? Number.NaN : row.value / bestFixed.value,
      fixed,
      (reference) => row.value >= 0.95 * reference.value,
    );
    // Refusing too many calls is a miss whatever the fixed-c yardstick says.
    const pass = row.valid && refused >= 0.05 ? false : verdict.pass;
    goals.push({
      goal: 'concurrency limit: adaptive ≥ 0.95 × the best fixed c, < 5 % refused',
      scenario: 'concurrency-limit',
      contender: row.contender,
      concurrency: row.concurrency,
      target: '≥ 0.95 and < 5 % refused',
      value: verdict.value,
      pass,
      note: [`${(refused * 100).toFixed(1)} % refused`, verdict.note].filter(Boolean).join('; '),
    });
  }
  return goals;
}

/** Which dify-batch row a peer's row is compared with: same scenario, metric, concurrency and configuration. */
function counterpart(rows: readonly ResultRow[], peer: ResultRow): ResultRow | undefined {
  const ordered = peer.contender === 'benthos-ordered' || peer.contender === 'python-ordered';
  const candidates = rows.filter(
    (row) =>
      row.name === peer.name &&
      row.metric === peer.metric &&
      row.concurrency === peer.concurrency &&
      isOurs(row.contender),
  );
  if (peer.name === 'rate-limit') {
    // Benthos is told the quota like dify-batch; the Python anchor is not, like dify-batch with fixed c;
    // both are unordered.
    const told = peer.note?.startsWith('told the quota') === true;
    return candidates.find(
      (row) =>
        row.contender === 'dify-batch-unordered' &&
        (told ? row.note === peer.note : row.note === 'not told: fixed c, 429 backoff'),
    );
  }
  if (peer.name === 'concurrency-limit')
    return candidates.find((row) => row.note?.startsWith('fixed c') === true);
  return candidates.find(
    (row) => row.contender === (ordered ? 'dify-batch-ordered' : 'dify-batch-unordered'),
  );
}

/** "≥ 1.0 × Benthos and the Python contender at equal configuration in every scenario". */
function versusPeers(rows: readonly ResultRow[]): GoalResult[] {
  const goals: GoalResult[] = [];
  const peers: readonly Contender[] = [
    'benthos-unordered',
    'benthos-ordered',
    'python-unordered',
    'python-ordered',
  ];
  for (const row of rows) {
    if (!peers.includes(row.contender) || !['req/s', 'goodput/s'].includes(row.metric)) continue;
    const mine = counterpart(rows, row);
    if (mine === undefined) continue;
    goals.push({
      goal: `throughput ≥ ${row.contender.split('-')[0]} at equal configuration`,
      scenario: row.name,
      contender: mine.contender,
      ...(row.concurrency === undefined ? {} : { concurrency: row.concurrency }),
      target: `≥ 1.0 × ${row.contender}`,
      ...compared(mine, mine.value / row.value, [row], (reference) => mine.value >= reference.value),
    });
  }
  return goals;
}
