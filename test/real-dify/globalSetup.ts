import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { runScript } from './runScript.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>/v1` */
    realDifyBaseUrl: string;
    /** A Start→End echo app, `query` without a length limit. */
    realDifyKey: string;
    realDifyAppId: string;
    /** The same app with `query` `max_length` 256. */
    realDifyKey256: string;
    /** start.sh, for `--restart-api`. */
    realDifyStartScript: string;
    /** The git-ignored work folder start.sh uses. */
    realDifyWorkDir: string;
  }
}

/**
 * Where ../shared/dify is: `DIFY_SHARED_DIR`, else beside the repository (`<repo>/../shared/dify`), else
 * `/work/shared/dify` (CI runs on a clean clone at some temporary path).
 */
export function sharedDifyDir(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [env.DIFY_SHARED_DIR, join(REPO, '../shared/dify'), '/work/shared/dify'];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'start.sh'))) return dir;
  throw new Error(`no start.sh in ${candidates.filter(Boolean).join(', ')}: set DIFY_SHARED_DIR`);
}

function alive(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * Starts a real Dify 1.13.2 API (gunicorn + Celery, Postgres, Redis) with start.sh and provides its
 * two app keys; afterwards stops the gunicorn and Celery processes of `.real-dify/` that this run
 * started. Postgres and Redis are machine-wide services that another checkout's start.sh may share
 * (start.sh reuses a running Redis), so they are left running. `REAL_DIFY_KEEP=1` leaves the API and
 * Celery running too, for the next run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = sharedDifyDir();
  const script = join(shared, 'start.sh');
  const work = join(REPO, '.real-dify');
  await mkdir(work, { recursive: true });
  const before = {
    gunicorn: alive(join(work, 'run/gunicorn.pid')),
    celery: alive(join(work, 'run/celery.pid')),
  };
  const startedAt = performance.now();
  const stdout = await runScript(
    script,
    [work],
    join(work, 'start.log'),
    // uv's cache stays in the git-ignored work folder: a second run takes ~25 s instead of ~2.5 min.
    { ...process.env, UV_CACHE_DIR: join(work, 'uv-cache') },
    900_000,
  );
  const apps = [...stdout.matchAll(/BASE_URL=(\S+) APP_KEY=(\S+) APP_ID=(\S+)/g)];
  if (apps.length < 2) throw new Error(`start.sh printed no app keys:\n${stdout.slice(-2000)}`);
  const [unlimited, limited] = apps.slice(-2) as [RegExpMatchArray, RegExpMatchArray];
  process.stderr.write(`real Dify up in ${((performance.now() - startedAt) / 1000).toFixed(0)} s\n`);
  project.provide('realDifyBaseUrl', unlimited[1]!);
  project.provide('realDifyKey', unlimited[2]!);
  project.provide('realDifyAppId', unlimited[3]!);
  project.provide('realDifyKey256', limited[2]!);
  project.provide('realDifyStartScript', script);
  project.provide('realDifyWorkDir', work);
  return async () => {
    if (process.env.REAL_DIFY_KEEP === '1') return;
    for (const name of ['gunicorn', 'celery'] as const) {
      const pid = alive(join(work, `run/${name}.pid`));
      if (pid !== undefined && before[name] === undefined) process.kill(pid, 'SIGTERM');
    }
  };
}
