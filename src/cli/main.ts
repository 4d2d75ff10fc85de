#!/usr/bin/env node
// The process glue: argv, env, signals and the exit code live here and nowhere else.
import { createRequire } from 'node:module';
import { Interruption, type InterruptSignal } from './Interruption.js';
import { runCli } from './runCli.js';

const GRACE_MS = 30_000;

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
const drain = new AbortController();
const abort = new AbortController();
let first: InterruptSignal | undefined;
const onSignal = (signal: InterruptSignal): void => {
  if (first === undefined) {
    first = signal;
    const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'send SIGTERM or SIGINT again';
    process.stderr.write(
      `\nstopping (${signal}): finishing in-flight records (${again} to cancel now, ${GRACE_MS / 1000} s grace)\n`,
    );
    drain.abort(new Interruption(signal, `interrupted (${signal})`));
    setTimeout(
      () => abort.abort(new Interruption(signal, `grace period over after ${signal}`)),
      GRACE_MS,
    ).unref();
  } else {
    // The exit code stays that of the first signal: it says why the run stopped.
    abort.abort(new Interruption(first, `interrupted twice (${first}, then ${signal})`));
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
