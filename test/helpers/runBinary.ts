import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The built CLI (`npm test` builds it first). */
export const CLI_MAIN = join(import.meta.dirname, '../../dist/cli/main.js');

/**
 * Runs the built `dify-batch` binary in its own process and resolves with its exit code and output,
 * whatever the code. `env` is added to a minimal environment (PATH only), so no user setting leaks in.
 */
export function runBinary(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_MAIN, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr });
      },
    );
  });
}
