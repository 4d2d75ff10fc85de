#!/usr/bin/env node
// The process glue: argv, env, signals and the exit code live here and nowhere else.
import { createRequire } from 'node:module';
import { runCli } from './runCli.js';

const GRACE_MS = 30_000;

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
const drain = new AbortController();
const abort = new AbortController();
let interrupts = 0;
const onSignal = (): void => {
  interrupts++;
  if (interrupts === 1) {
    process.stderr.write(
      `\nstopping: finishing in-flight records (Ctrl-C again to cancel now, ${GRACE_MS / 1000} s grace)\n`,
    );
    drain.abort(new DOMException('Interrupted', 'AbortError'));
    setTimeout(() => abort.abort(new DOMException('Grace period over', 'AbortError')), GRACE_MS).unref();
  } else {
    abort.abort(new DOMException('Interrupted twice', 'AbortError'));
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli(
  process.argv.slice(2),
  {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    drainSignal: drain.signal,
    abortSignal: abort.signal,
  },
  version,
);
process.exitCode = code;
// Don't let a lingering keep-alive socket or timer hold the process open after the work is done.
setTimeout(() => process.exit(code), 100).unref();
