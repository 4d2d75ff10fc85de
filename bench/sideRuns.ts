/**
 * Side runs: benchmarks that need something the main run does not (a Kafka broker, a real Dify, the batch
 * gateway under autocannon) and run on their own, at another time, on another load. Each writes its
 * committed JSON beside the main run's (`bench/out/<name>.json`), and its section of bench/RESULTS.md is
 * rendered from that JSON, labeled a side run with its own date, machine and load. The main run (and
 * `--render`) regenerates RESULTS.md from results.json plus every side run's JSON, so no section is lost.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './BenchResults.js';

export type SideRunName = 'gateway' | 'kafka' | 'real-dify';

/** The side runs, in the order their sections follow the main run's in RESULTS.md. */
export const SIDE_RUNS: readonly {
  readonly name: SideRunName;
  readonly heading: string;
  readonly command: string;
}[] = [
  { name: 'gateway', heading: '## Batch gateway', command: 'npm run bench:gateway' },
  { name: 'kafka', heading: '## Kafka', command: 'npm run bench:kafka' },
  { name: 'real-dify', heading: '## Real Dify 1.13.2', command: 'npm run bench:real-dify' },
];

/** The content of `bench/out/<name>.json`. */
export interface SideRun {
  readonly name: SideRunName;
  /** The command as run (flags included), e.g. `npm run bench:kafka`. */
  readonly command: string;
  /** ISO time the run started. */
  readonly date: string;
  readonly machine: MachineInfo;
  readonly node: string;
  /** The section's Markdown below its heading and label, rendered by the side run from `data`. */
  readonly body: string;
  /** The measured numbers and the configuration the body was rendered from. */
  readonly data: unknown;
}

function sideRunInfo(name: SideRunName) {
  const info = SIDE_RUNS.find((run) => run.name === name);
  if (info === undefined) throw new Error(`unknown side run ${name}`);
  return info;
}

/** The section of RESULTS.md for one side run: heading, the side-run label, the body. */
export function renderSideRun(run: SideRun): string {
  const { heading } = sideRunInfo(run.name);
  const m = run.machine;
  const label =
    `_Side run_: \`${run.command}\` on ${run.date}, not part of the main run above: ${m.cpu} × ${m.cores}, ` +
    `${m.totalMemGb} GB, ${m.os}, Node ${run.node}; load average (1 min) ${m.loadAvgStart.toFixed(2)} at start, ` +
    `${m.loadAvgEnd.toFixed(2)} at end. Numbers: [\`bench/out/${run.name}.json\`](out/${run.name}.json).`;
  return `${heading}\n\n${label}\n\n${run.body.trim()}\n`;
}

const jsonPath = (root: string, name: SideRunName): string => join(root, 'bench', 'out', `${name}.json`);
const resultsPath = (root: string): string => join(root, 'bench', 'RESULTS.md');

/** Reads `bench/out/<name>.json`, if that side run has been run. */
export function readSideRun(root: string, name: SideRunName): SideRun | undefined {
  const path = jsonPath(root, name);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as SideRun) : undefined;
}

/**
 * What a side run calls at its end: writes `bench/out/<name>.json` and replaces (or appends) its section
 * of bench/RESULTS.md, rendered from it. `root` is the repository.
 */
export function writeSideRun(root: string, run: SideRun): void {
  mkdirSync(join(root, 'bench', 'out'), { recursive: true });
  writeFileSync(jsonPath(root, run.name), `${JSON.stringify(run, null, 2)}\n`);
  const path = resultsPath(root);
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  writeFileSync(path, replaceSection(previous, sideRunInfo(run.name).heading, renderSideRun(run)));
}

/**
 * `rendered` (a freshly generated main-run RESULTS.md) followed by every side run's section: from its JSON;
 * for a side run whose script does not write one yet, the section of `previous` (the old RESULTS.md) as is.
 */
export function withSideRuns(rendered: string, root: string, previous: string | undefined): string {
  let out = rendered.trimEnd();
  for (const { name, heading } of SIDE_RUNS) {
    const run = readSideRun(root, name);
    const section =
      run === undefined
        ? previous === undefined
          ? undefined
          : extractSection(previous, heading)
        : renderSideRun(run);
    if (section !== undefined) out = `${out}\n\n${section.trimEnd()}`;
  }
  return `${out}\n`;
}

/**
 * The section that starts with the line `heading`, up to the next level-2 heading, the next HTML comment
 * line (the marker an older RESULTS.md put around the Kafka section, which must not travel) or the end.
 */
export function extractSection(text: string, heading: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  if (start === -1) return undefined;
  let end = lines.findIndex((line, i) => i > start && (line.startsWith('## ') || line.startsWith('<!--')));
  if (end === -1) end = lines.length;
  return lines.slice(start, end).join('\n').trimEnd();
}

/** `text` with the section under `heading` replaced by `section` (appended when there is none yet). */
export function replaceSection(text: string, heading: string, section: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  if (start === -1) return `${text.trimEnd()}\n\n${section.trimEnd()}\n`;
  let end = lines.findIndex((line, i) => i > start && (line.startsWith('## ') || line.startsWith('<!--')));
  if (end === -1) end = lines.length;
  const before = lines.slice(0, start).join('\n').trimEnd();
  const after = lines.slice(end).join('\n').trim();
  return `${before === '' ? '' : `${before}\n\n`}${section.trimEnd()}\n${after === '' ? '' : `\n${after}\n`}`;
}
