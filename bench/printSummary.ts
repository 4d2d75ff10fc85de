import type { BenchResults } from './BenchResults.js';
import { formatNumber } from './BenchRunner.js';
import { spreadCell } from './renderResultsMarkdown.js';

/** The end-of-run table on stdout: every row, then the goals. */
export function printSummary(results: BenchResults, write: (text: string) => void): void {
  const header = ['scenario', 'contender', 'c', 'metric', 'value', 'min–max (runs)', 'ratio', 'check'];
  const body = results.scenarios.map((row) => [
    row.name,
    row.contender,
    row.concurrency === undefined ? '' : String(row.concurrency),
    row.metric,
    formatNumber(row.value),
    spreadCell(row),
    row.ratio === undefined ? '' : formatNumber(row.ratio),
    row.valid ? 'ok' : 'FAILED',
  ]);
  const table = [header, ...body];
  const widths = header.map((_, i) => Math.max(...table.map((line) => line[i]!.length)));
  const render = (line: readonly string[]): string =>
    line
      .map((text, i) => (i >= 4 && i <= 6 ? text.padStart(widths[i]!) : text.padEnd(widths[i]!)))
      .join('  ');
  write(`\n${render(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const line of body) write(`${render(line)}\n`);
  write('\nGoals\n');
  for (const goal of results.goals) {
    const verdict = goal.pass === undefined ? 'N/A' : goal.pass ? 'PASS' : 'MISS';
    const at = goal.concurrency === undefined ? '' : ` c=${goal.concurrency}`;
    const note = goal.note === undefined ? '' : `  (${goal.note})`;
    write(
      `  ${verdict.padEnd(7)} ${goal.goal} [${goal.scenario}, ${goal.contender}${at}]: ${formatNumber(goal.value)} (target ${goal.target})${note}\n`,
    );
  }
  if (results.skipped.length > 0) write(`\nSkipped: ${results.skipped.join('; ')}\n`);
}

/** Top self-time functions of each `--profile` run. */
export function printProfiles(results: BenchResults, write: (text: string) => void, limit = 8): void {
  for (const profile of results.profiles) {
    write(`\nprofile ${profile.label}: ${formatNumber(profile.busyMs)} ms busy (${profile.path})\n`);
    for (const entry of profile.top.slice(0, limit)) {
      write(`  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.fn}  ${entry.where}\n`);
    }
  }
}
