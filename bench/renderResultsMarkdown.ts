import type { BenchResults } from './BenchResults.js';
import { formatNumber } from './BenchRunner.js';
import type { ContenderConfig } from './describeContender.js';
import type { ResultRow, ScenarioName } from './protocol.js';

const SCENARIO_TEXT: Readonly<Record<ScenarioName, string>> = {
  overhead:
    'Zero-latency in-process transport: the whole chain (source → credit gate → call → reorder → batch → sink) with nothing to wait for. Baselines run the same echo transport. Every contender runs several times, interleaved (A B C A B C …): `value` is the median, `min–max (runs)` the spread; the goal reads the median.',
  'http-ceiling':
    'Emulator at 0 ms answering asynchronously (`answerAsync`), keep-alive, same concurrency for all. Each Node contender first processes a warm-up of untimed records in the same process with its own connection pool (`items` shows how many), so the row measures the ceiling of a warm process, as a long batch runs, not the V8 JIT warming up; the emulator counters are reset before the clock starts. Benthos (compiled) and the Python anchor (no JIT) run cold. A row counts only if the emulator saw c calls in flight at once (`peak … in flight`). Ratio = ÷ the bare undici loop (req/s), or its CPU per request (cpu-µs/req). Client CPU only; the emulator runs in its own process. Every contender runs several times, interleaved (A B C A B C …): `value` is the median, `min–max (runs)` the spread; a row counts only if every run reached c in flight; the goals read the median.',
  'littles-law':
    'Fixed latency L, a range of concurrencies. Ratio = achieved ÷ (concurrency ÷ L). The ideal ignores the HTTP round trip; the `latency floor` row (bare undici at c=1) is what one call really takes here, so L ÷ floor is the best ratio any client can reach. Each Node contender first processes a warm-up of untimed records at 0 ms in the same process (`items` shows how many), so the row measures a warm client, not the V8 JIT warming up; Benthos (compiled) and the Python anchor (no JIT) run cold. Every contender but the Python anchor runs several times at each c, interleaved: `value` is the median, `min–max (runs)` the spread. These rows are the plot.',
  'head-of-line':
    'Log-normal latency; every contender runs the same items. Windowed contenders (dify-batch, Readable.map) get the same read-ahead, 16 × c (`req/s`), then 4 × c (`req/s (window 4 × c)`). Ratio = ÷ dify-batch unordered at the same window. The windowed contenders run several times, interleaved: `value` is the median, `min–max (runs)` the spread; the others run once. Run Batch runs at its fixed 5.',
  'rate-limit':
    "The emulator admits R req/s (token bucket) and answers the excess 429 without `Retry-After` (Dify's /v1 sends none). The bucket starts empty at every run, so goodput above R is impossible. Ratio = goodput ÷ R, and the share of calls rejected. The pair a run of which backoff tails decide — the Python anchor and dify-batch unordered, neither told the quota — runs several times, interleaved: `value` is the median, `min–max (runs)` the spread; the others run once.",
  'concurrency-limit':
    'Dify\'s app concurrency limit (`max_active_requests`) answered as its code path does: 400 `invalid_param` "Too many requests.", no Retry-After; log-normal latency; the client is given a higher c. Ratio = goodput ÷ the best fixed-c dify-batch run; `refused share` = refused calls ÷ calls.',
  memory:
    'NDJSON file, zero-latency transport, sink capped in items/s (slow sink), workers under `--expose-gc`. Defined before the run: peak RSS; RSS growth from the start and from 10 % of the input; heap used right after a forced GC at 10 %, 50 % and 100 % of the input, and its growth from 10 % to 100 %.',
};

function cell(value: number | undefined): string {
  return value === undefined ? '' : formatNumber(value);
}

/** `min–max (n)` of a repeated measurement (its value is the median); empty for a single run. */
export function spreadCell(row: ResultRow): string {
  return row.spread === undefined
    ? ''
    : `${formatNumber(row.spread.min)}–${formatNumber(row.spread.max)} (${row.spread.runs})`;
}

/** The equal-footing table: each run's configuration exactly as the scenario gave it. */
function configurationTable(configs: readonly ContenderConfig[]): string[] {
  if (configs.length === 0) return [];
  const lines = [
    'Configuration of each run (generated from what the scenario passed):',
    '',
    '| contender | items | concurrency | read-ahead | retry | rate limit | output |',
    '|---|---:|---|---|---|---|---|',
  ];
  for (const c of configs) {
    lines.push(
      `| ${c.contender} | ${c.items.toLocaleString('en-US')}${c.warmup === undefined ? '' : ` (after ${c.warmup.toLocaleString('en-US')} untimed)`} | ${c.concurrency} | ${c.readAhead} | ${c.retry} | ${c.rateLimit} | ${c.output} |`,
    );
  }
  return [...lines, ''];
}

function scenarioTable(rows: readonly ResultRow[]): string[] {
  const lines = [
    '| contender | c | metric | value | min–max (runs) | ratio | check | note |',
    '|---|---:|---|---:|---:|---:|---|---|',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.contender} | ${row.concurrency ?? ''} | ${row.metric} | ${cell(row.value)} | ${spreadCell(row)} | ${cell(row.ratio)} | ${row.valid ? 'ok' : '**failed**'} | ${row.note ?? ''} |`,
    );
  }
  return lines;
}

/** bench/RESULTS.md: machine, every scenario and contender, goals pass/fail, the plot, profiles. */
export function renderResultsMarkdown(results: BenchResults, command: string): string {
  const { machine } = results;
  const out: string[] = [
    '# Benchmark results',
    '',
    `Generated by \`${command}\` on ${results.date} (${results.mode} run). Every number below comes from this one run`,
    'on this one machine; compare ratios, not absolute figures, across machines.',
    '',
    '| machine | |',
    '|---|---|',
    `| CPU | ${machine.cpu} × ${machine.cores} |`,
    `| memory | ${machine.totalMemGb} GB |`,
    `| OS | ${machine.os} |`,
    `| Node | ${results.node} |`,
    `| Benthos | ${results.benthos ?? 'not installed (`npm run bench:benthos`)'} |`,
    `| load average (1 min) | ${machine.loadAvgStart.toFixed(2)} at start, ${machine.loadAvgEnd.toFixed(2)} at end |`,
    '',
    'Each contender runs in its own child process against one emulator process (so CPU and RSS are its',
    "own); its output is checked — one result per input, each equal to the emulator's answer for that input,",
    'and input order where the contender promises it — before its number counts. A failed check is shown as',
    '**failed** and the number does not count.',
    '',
    '## Goals',
    '',
    'Why the missed goals are missed, with the profiles behind each answer: [ANALYSIS.md](ANALYSIS.md).',
    '',
    '| goal | contender | c | value | target | result |',
    '|---|---|---:|---:|---|---|',
  ];
  for (const goal of results.goals) {
    const verdict = goal.pass === undefined ? '➖ n/a' : goal.pass ? '✅ pass' : '❌ miss';
    out.push(
      `| ${goal.goal} (${goal.scenario}) | ${goal.contender} | ${goal.concurrency ?? ''} | ${Number.isFinite(goal.value) ? formatNumber(goal.value) : '—'} | ${goal.target} | ${verdict}${goal.note === undefined ? '' : ` — ${goal.note}`} |`,
    );
  }
  out.push('', '## Throughput vs concurrency', '', '![throughput vs concurrency](throughput.svg)', '');
  const names = [...new Set(results.scenarios.map((row) => row.name))];
  for (const name of names) {
    out.push(
      `## ${name}`,
      '',
      SCENARIO_TEXT[name],
      '',
      ...scenarioTable(results.scenarios.filter((row) => row.name === name)),
      '',
      ...configurationTable((results.configurations ?? []).filter((config) => config.scenario === name)),
    );
  }
  if (results.skipped.length > 0) {
    out.push('## Skipped', '', ...results.skipped.map((text) => `- ${text}`), '');
  }
  if (results.profiles.length > 0) {
    out.push(
      '## CPU profiles (dify-batch, self time)',
      '',
      'One extra, unmeasured run per dify-batch contender (no number above comes from a profiled run), under',
      "V8's sampling profiler from the first record to the last result; also in `out/profiles/summary.md`.",
      '',
    );
    for (const profile of results.profiles) {
      out.push(
        `### ${profile.label}`,
        '',
        `${formatNumber(profile.busyMs)} ms busy; \`${profile.path}\``,
        '',
        '| function | where | self ms | share |',
        '|---|---|---:|---:|',
      );
      for (const entry of profile.top) {
        out.push(
          `| ${entry.fn} | ${entry.where} | ${formatNumber(entry.selfMs)} | ${(entry.share * 100).toFixed(1)}% |`,
        );
      }
      out.push('');
    }
  }
  out.push(
    '## Contenders',
    '',
    '- **dify-batch-ordered / -unordered**: `runBatch` with its own source, DifyClient (undici pool, one connection per slot) and a sink that hands results to the checker.',
    '- **bare-undici**: `concurrency` loops each awaiting one undici `Pool.request`; no order, retry or backpressure — the physical limit.',
    '- **p-map+dify-client**: `await pMap(records, r => client.runWorkflow(...), { concurrency })` with the official SDK 2.3.2 (axios); no retry.',
    "- **readable-map**: Node's `Readable.from(records).map(fn, { concurrency })` (ordered, head-of-line bound), undici calls.",
    '- **naive-chunks**: RxJS `bufferCount(c)` + `Promise.all` per chunk, chunks one after another (a barrier per chunk), undici calls.',
    "- **dify-run-batch**: Dify web app's Run Batch policy: groups of 5, the next group after the whole previous one (dify-api.md §6).",
    '- **benthos-unordered / -ordered**: Benthos v4.60.0 `http` processor, configs in `bench/benthos/` (peers.md §1.7 variants A and B); results on stdout, piped into the checker; a `rate_limit` resource wherever dify-batch is told the quota.',
    '- **python-unordered / -ordered**: the Python anchor (`bench/python/contender.py`): asyncio + httpx + `asyncio.Semaphore` + tenacity retries, unordered with `as_completed`, ordered with `gather`; results on stdout, piped into the checker. Installed by `npm run bench:python` into a git-ignored venv.',
    '',
  );
  return out.join('\n');
}
