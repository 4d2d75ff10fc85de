/**
 * `npm run bench:real-dify`: dify-batch against a real Dify 1.13.2 (../shared/dify/start.sh, into the
 * git-ignored .real-dify/), written to its own section of bench/RESULTS.md ("## Real Dify 1.13.2",
 * kept by `npm run bench` through bench/keepSections.ts).
 *
 * 1. No limit, blocking: dify-batch (runBatch, fixed concurrency) vs a bare undici loop at c=1, 8, 32.
 * 2. `APP_MAX_ACTIVE_REQUESTS=2`, both modes: adaptive concurrency from c=16 vs every fixed concurrency.
 * Every output is compared to its input (the app echoes `query`); a lost or wrong record is reported.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { ItemResult } from '../src/core/ItemResult.js';
import type { DifyResponseMode } from '../src/dify/DifyRequest.js';
import { runBatch } from '../src/pipeline/runBatch.js';
import type { ResultSink } from '../src/sinks/ResultSink.js';
import { fromAsyncIterable } from '../src/sources/fromAsyncIterable.js';
import { runScript } from '../test/real-dify/runScript.js';
import { replaceSection } from './keepSections.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const HEADING = '## Real Dify 1.13.2';

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

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const n = quick ? 60 : 300;
  // Blocking runs long enough that adaptive's start-up (one burst at c=16 before the limit is known)
  // weighs what it would in a real batch; streaming is slower (Celery), so fewer records.
  const nLimited = { blocking: quick ? 40 : 600, streaming: quick ? 40 : 150 } as const;
  const server = await startServer();
  const started = new Date();
  const lines: string[] = [];
  const load = (): string => loadavg()[0]!.toFixed(1);
  await server.restart(0);
  // Warm-up: the first runs after a restart pay Python's imports.
  await runBareUndici(server, 20, 4);

  lines.push('### dify-batch vs a bare undici loop (no limit, blocking)', '');
  lines.push(
    '| concurrency | bare undici (records/s) | dify-batch (records/s) | dify-batch / bare | exact (dify-batch) | load avg |',
  );
  lines.push('|---:|---:|---:|---:|---:|---:|');
  for (const c of [1, 8, 32]) {
    const bare = await runBareUndici(server, n, c);
    const ours = await runDifyBatch(server, n, c, 'blocking', false);
    lines.push(
      `| ${c} | ${fmt(bare)} | ${fmt(ours)} | ${(ours.perSec / bare.perSec).toFixed(2)} | ${ours.exact}/${n} | ${load()} |`,
    );
    process.stderr.write(`${lines.at(-1)}\n`);
  }

  await server.restart(2);
  for (const mode of ['blocking', 'streaming'] as const) {
    lines.push('', `### Under APP_MAX_ACTIVE_REQUESTS=2, ${mode}: adaptive (from c=16) vs fixed`, '');
    lines.push('| run | records/s | exact | retries | load avg |', '|---|---:|---:|---:|---:|');
    let best = { c: 0, perSec: 0 };
    const count = nLimited[mode];
    for (const c of [1, 2, 4, 8, 16]) {
      const fixed = await runDifyBatch(server, count, c, mode, false);
      if (fixed.lost === 0 && fixed.perSec > best.perSec) best = { c, perSec: fixed.perSec };
      lines.push(`| fixed c=${c} | ${fmt(fixed)} | ${fixed.exact}/${count} | ${fixed.retries} | ${load()} |`);
      process.stderr.write(`${lines.at(-1)}\n`);
    }
    const adaptive = await runDifyBatch(server, count, 16, mode, true);
    lines.push(
      `| **adaptive, c=16** | **${fmt(adaptive)}** | ${adaptive.exact}/${count} | ${adaptive.retries} | ${load()} |`,
      '',
      `Adaptive / best fixed (c=${best.c}): **${(adaptive.perSec / best.perSec).toFixed(2)}** (goal ≥ 0.95, no record lost).`,
    );
    process.stderr.write(`${lines.at(-3)}\n${lines.at(-1)}\n`);
  }
  await server.restart(0);

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const section = [
    HEADING,
    '',
    `Written by \`npm run bench:real-dify\` on ${started.toISOString()}${quick ? ' (--quick)' : ''}: a real Dify 1.13.2 API`,
    '(../shared/dify/start.sh: 1 gunicorn gevent worker, Celery `-c 4`, Postgres 15, Redis) on the same machine as',
    `the client, ${cpus().length} × ${cpu}, Node ${process.version}. The machine is shared with other engineers'`,
    'jobs: the 1-minute load average is given per row. The app is Start→End (its output is its input, compared',
    `for every record); ${n} records per row in the first table, ${nLimited.blocking} (blocking) and ${nLimited.streaming}`,
    '(streaming) in the others. The server is the ceiling',
    '(~29 ms of CPU per run: ~46 runs/s blocking; streaming is bounded by the Celery pool).',
    '',
    ...lines,
  ].join('\n');
  const path = join(REPO, 'bench/RESULTS.md');
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  writeFileSync(path, replaceSection(previous, HEADING, section));
  process.stderr.write(`wrote the "${HEADING}" section of ${path}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:real-dify failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
