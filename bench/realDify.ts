/**
 * `npm run bench:real-dify`: dify-batch against a real Dify 1.13.2 (../shared/dify/start.sh, into the
 * git-ignored .real-dify/), a side run (bench/sideRuns.ts): bench/out/real-dify.json and the
 * "## Real Dify 1.13.2" section of bench/RESULTS.md rendered from it.
 *
 * 1. No limit, blocking: dify-batch (runBatch, fixed concurrency) vs a bare undici loop at c=1, 8, 32.
 * 2. `APP_MAX_ACTIVE_REQUESTS=2`, both modes: adaptive concurrency from c=16 vs every fixed concurrency.
 * Every output is compared to its input (the app echoes `query`); a lost or wrong record is reported.
 * Comparisons are interleaved pairs (the machine is shared); every run is in bench/out/real-dify.json.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { ItemResult } from '../src/core/ItemResult.js';
import type { DifyResponseMode } from '../src/dify/DifyRequest.js';
import { runBatch } from '../src/pipeline/runBatch.js';
import type { ResultSink } from '../src/sinks/ResultSink.js';
import { fromAsyncIterable } from '../src/sources/fromAsyncIterable.js';
import { runScript } from '../test/real-dify/runScript.js';
import { machineInfo } from './BenchResults.js';
import { writeSideRun } from './sideRuns.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sharedDir(): string {
  const candidates = [process.env.DIFY_SHARED_DIR, join(REPO, '../shared/dify'), '/work/shared/dify'];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'start.sh'))) return dir;
  throw new Error('no ../shared/dify/start.sh: set DIFY_SHARED_DIR');
}

interface Server {
  baseUrl: string;
  key: string;
  restart(limit: number): Promise<void>;
}

async function startServer(): Promise<Server> {
  const script = join(sharedDir(), 'start.sh');
  const work = join(REPO, '.real-dify');
  const out = await runScript(
    script,
    [work],
    join(work, 'start.log'),
    { ...process.env, UV_CACHE_DIR: join(work, 'uv-cache') },
    900_000,
  );
  const apps = [...out.matchAll(/BASE_URL=(\S+) APP_KEY=(\S+) APP_ID=(\S+)/g)];
  const app = apps.at(-2);
  if (app === undefined) throw new Error(`start.sh printed no key:\n${out.slice(-2000)}`);
  return {
    baseUrl: app[1]!,
    key: app[2]!,
    restart: async (limit) => {
      await runScript(
        script,
        ['--restart-api', work],
        join(work, 'restart.log'),
        { ...process.env, APP_MAX_ACTIVE_REQUESTS: String(limit) },
        180_000,
      );
    },
  };
}

interface Measured {
  perSec: number;
  exact: number;
  lost: number;
  retries?: number;
}

function records(n: number, tag: string): { query: string }[] {
  return Array.from({ length: n }, (_, i) => ({ query: `${tag}-${i} ✓ ${'x'.repeat(i % 64)}` }));
}

async function runDifyBatch(
  server: Server,
  n: number,
  concurrency: number,
  mode: DifyResponseMode,
  adaptive: boolean,
): Promise<Measured> {
  const input = records(n, `db${concurrency}${mode}${adaptive}`);
  const got: ItemResult[] = [];
  const sink: ResultSink<ItemResult> = {
    write: async (batch) => {
      got.push(...batch);
    },
    close: async () => {},
  };
  const summary = await runBatch({
    source: fromAsyncIterable(input),
    sink,
    dify: { baseUrl: server.baseUrl, apiKey: server.key },
    app: 'workflow',
    responseMode: mode,
    concurrency,
    adaptiveConcurrency: adaptive,
    retry: { maxAttempts: 10 },
  });
  let exact = 0;
  for (const r of got) {
    if (r.ok && (r.outputs as { result?: unknown }).result === input[r.seq]!.query) exact++;
  }
  return { perSec: summary.throughputPerSec, exact, lost: n - exact, retries: summary.retries };
}

/** The physical limit: `concurrency` loops, each awaiting one undici request; no retry, no order. */
async function runBareUndici(server: Server, n: number, concurrency: number): Promise<Measured> {
  const url = new URL(server.baseUrl);
  const pool = new Pool(url.origin, { connections: concurrency });
  const input = records(n, `bare${concurrency}`);
  let next = 0;
  let exact = 0;
  const started = performance.now();
  const loop = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const answer = await pool.request({
        method: 'POST',
        path: `${url.pathname}/workflows/run`,
        headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: input[i], user: 'bench', response_mode: 'blocking' }),
      });
      const body = (await answer.body.json()) as { data?: { outputs?: { result?: string } } };
      if (answer.statusCode === 200 && body.data?.outputs?.result === input[i]!.query) exact++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { perSec: n / seconds, exact, lost: n - exact };
}

function fmt(m: Measured): string {
  return `${m.perSec.toFixed(1)}`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One measured run, as bench/out/real-dify.json records it (`data.rows`). */
interface Row {
  readonly table: string;
  readonly run: string;
  readonly concurrency: number;
  readonly mode: DifyResponseMode;
  readonly adaptive: boolean;
  readonly records: number;
  readonly perSec: number;
  readonly exact: number;
  readonly retries?: number;
  readonly loadAvg: number;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  // The machine is shared (load average 2–11 during the runs of 2026-11-30): one run per setting swung by
  // ±40 %. So each comparison is made of interleaved pairs (A B, B A, A B) and reported as the median.
  const trials = 3;
  const n = quick ? 30 : 100;
  const nLimited = { blocking: quick ? 40 : 300, streaming: quick ? 40 : 150 } as const;
  const server = await startServer();
  const started = new Date();
  const loadStart = loadavg()[0]!;
  const lines: string[] = [];
  const rows: Row[] = [];
  const loadNow = (): number => Number(loadavg()[0]!.toFixed(1));
  const record = (row: Omit<Row, 'loadAvg'>): Row => {
    const full = { ...row, loadAvg: loadNow() };
    rows.push(full);
    return full;
  };
  await server.restart(0);
  // Warm-up: the first runs after a restart pay Python's imports.
  await runBareUndici(server, 20, 4);

  const table1 = 'dify-batch vs a bare undici loop (no limit, blocking)';
  lines.push(`### ${table1}`, '');
  lines.push(
    `${trials} interleaved pairs of ${n} records per concurrency (bare first, then dify-batch first, then bare first); medians.`,
    '',
    '| concurrency | bare undici (records/s) | dify-batch (records/s) | dify-batch / bare (median of pairs) | pair ratios | exact (dify-batch) | load avg |',
    '|---:|---:|---:|---:|---|---:|---:|',
  );
  for (const c of [1, 8, 32]) {
    const bare: number[] = [];
    const ours: number[] = [];
    const ratios: number[] = [];
    let exact = 0;
    for (let t = 0; t < trials; t++) {
      const runBare = async (): Promise<Measured> => {
        const m = await runBareUndici(server, n, c);
        record({
          table: table1,
          run: 'bare undici',
          concurrency: c,
          mode: 'blocking',
          adaptive: false,
          records: n,
          ...m,
        });
        return m;
      };
      const runOurs = async (): Promise<Measured> => {
        const m = await runDifyBatch(server, n, c, 'blocking', false);
        record({
          table: table1,
          run: 'dify-batch',
          concurrency: c,
          mode: 'blocking',
          adaptive: false,
          records: n,
          ...m,
        });
        return m;
      };
      // Alternating which goes first, so a load change between the two halves of a pair evens out.
      const first = t % 2 === 0 ? await runBare() : await runOurs();
      const second = t % 2 === 0 ? await runOurs() : await runBare();
      const pair = t % 2 === 0 ? { bare: first, ours: second } : { bare: second, ours: first };
      bare.push(pair.bare.perSec);
      ours.push(pair.ours.perSec);
      ratios.push(pair.ours.perSec / pair.bare.perSec);
      exact += pair.ours.exact;
    }
    lines.push(
      `| ${c} | ${median(bare).toFixed(1)} | ${median(ours).toFixed(1)} | ${median(ratios).toFixed(2)} | ${ratios.map((r) => r.toFixed(2)).join(', ')} | ${exact}/${n * trials} | ${loadNow()} |`,
    );
    process.stderr.write(`${lines.at(-1)}\n`);
  }

  await server.restart(2);
  for (const mode of ['blocking', 'streaming'] as const) {
    const table = `Under APP_MAX_ACTIVE_REQUESTS=2, ${mode}: adaptive (from c=16) vs fixed`;
    lines.push('', `### ${table}`, '');
    lines.push('| run | records/s | exact | retries | load avg |', '|---|---:|---:|---:|---:|');
    let best = { c: 0, perSec: 0 };
    const count = nLimited[mode];
    const fixedRun = async (c: number, label: string): Promise<Measured> => {
      const m = await runDifyBatch(server, count, c, mode, false);
      const row = record({ table, run: label, concurrency: c, mode, adaptive: false, records: count, ...m });
      lines.push(`| ${label} | ${fmt(m)} | ${m.exact}/${count} | ${m.retries} | ${row.loadAvg} |`);
      process.stderr.write(`${lines.at(-1)}\n`);
      return m;
    };
    const adaptiveRun = async (label: string): Promise<Measured> => {
      const m = await runDifyBatch(server, count, 16, mode, true);
      const row = record({ table, run: label, concurrency: 16, mode, adaptive: true, records: count, ...m });
      lines.push(`| **${label}** | **${fmt(m)}** | ${m.exact}/${count} | ${m.retries} | ${row.loadAvg} |`);
      process.stderr.write(`${lines.at(-1)}\n`);
      return m;
    };
    for (const c of [1, 2, 4, 8, 16]) {
      const fixed = await fixedRun(c, `fixed c=${c}`);
      if (fixed.lost === 0 && fixed.perSec > best.perSec) best = { c, perSec: fixed.perSec };
    }
    // The best of five noisy runs is biased upward against one adaptive run: the ratio is taken from
    // interleaved pairs of adaptive and a fresh run at the best fixed c (adaptive first, then fixed first).
    const ratios: number[] = [];
    let lost = 0;
    for (let t = 0; t < 2; t++) {
      const again = `fixed c=${best.c} (again)`;
      const first = t === 0 ? await adaptiveRun('adaptive, c=16') : await fixedRun(best.c, again);
      const second = t === 0 ? await fixedRun(best.c, again) : await adaptiveRun('adaptive, c=16');
      const pair = t === 0 ? [first, second] : [second, first];
      lost += pair[0]!.lost;
      ratios.push(pair[0]!.perSec / pair[1]!.perSec);
    }
    lines.push(
      '',
      `Adaptive / best fixed (c=${best.c} in the scan), median of ${ratios.length} interleaved pairs: **${median(ratios).toFixed(2)}** ` +
        `(pairs: ${ratios.map((r) => r.toFixed(2)).join(', ')}; goal ≥ 0.95); records lost by adaptive: ${lost}.`,
    );
    process.stderr.write(`${lines.at(-1)}\n`);
  }
  await server.restart(0);

  const body = [
    'A real Dify 1.13.2 API (../shared/dify/start.sh: 1 gunicorn gevent worker, Celery `-c 4`, Postgres 15,',
    'Redis) on the same machine as the client. The 1-minute load average is given per row. The app is Start→End',
    `(its output is its input, compared for every record); ${n} records per run in the first table,`,
    `${nLimited.blocking} (blocking) and ${nLimited.streaming} (streaming) in the others. The server is the ceiling`,
    '(~29 ms of CPU per run: ~46 runs/s blocking; streaming is bounded by the Celery pool).',
    '',
    ...lines,
  ].join('\n');
  writeSideRun(REPO, {
    name: 'real-dify',
    command: `npm run bench:real-dify${quick ? ' -- --quick' : ''}`,
    date: started.toISOString(),
    machine: machineInfo(loadStart),
    node: process.version,
    body,
    data: { quick, rows },
  });
  process.stderr.write(
    'wrote bench/out/real-dify.json and the "Real Dify 1.13.2" section of bench/RESULTS.md\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:real-dify failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
