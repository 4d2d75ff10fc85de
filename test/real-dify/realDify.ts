import { join } from 'node:path';
import { inject } from 'vitest';
import { runScript } from './runScript.js';

/** The real server test/real-dify/globalSetup.ts started. */
export function realDify(): {
  baseUrl: string;
  key: string;
  appId: string;
  key256: string;
} {
  return {
    baseUrl: inject('realDifyBaseUrl'),
    key: inject('realDifyKey'),
    appId: inject('realDifyAppId'),
    key256: inject('realDifyKey256'),
  };
}

/**
 * Restarts the real API (gunicorn only) with `APP_MAX_ACTIVE_REQUESTS` (0 = no limit), as README of
 * ../shared/dify shows; the per-app limit is cached in Redis for a day, so it is rewritten each time.
 */
export async function restartWithLimit(limit: number): Promise<void> {
  const work = inject('realDifyWorkDir');
  await runScript(
    inject('realDifyStartScript'),
    ['--restart-api', work],
    join(work, 'restart.log'),
    { ...process.env, APP_MAX_ACTIVE_REQUESTS: String(limit) },
    180_000,
  );
}
