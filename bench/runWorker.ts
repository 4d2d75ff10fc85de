import { fork } from 'node:child_process';
import type { ContenderSpec, MeasureCommand, WorkerMessage, WorkerReport } from './protocol.js';

export interface RunWorkerOptions {
  /** Extra Node flags for the child (`--expose-gc`, …). */
  readonly execArgv?: readonly string[];
  /** Called when a worker with `spec.warmup` has warmed up, before its clock starts (reset the emulator). */
  readonly onWarmed?: () => Promise<unknown>;
}

/**
 * Runs one contender in a fresh child process (bench/contender-worker.ts) and returns its report once
 * the child has exited (so a profile it writes is complete).
 */
export function runWorker(
  script: string,
  spec: ContenderSpec,
  options: RunWorkerOptions = {},
): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      execArgv: [...(options.execArgv ?? [])],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let message: WorkerMessage | undefined;
    child.on('message', (received: WorkerMessage) => {
      if (received.type !== 'warmed') {
        message = received;
        return;
      }
      const measure: MeasureCommand = { type: 'measure' };
      (options.onWarmed?.() ?? Promise.resolve()).then(
        () => child.send(measure),
        (error: unknown) => {
          message = { type: 'error', message: `after the warm-up: ${String(error)}` };
          child.kill();
        },
      );
    });
    child.once('exit', (code, signal) => {
      if (message?.type === 'report') resolve(message.report);
      else if (message?.type === 'error') reject(new Error(`${spec.contender}: ${message.message}`));
      else reject(new Error(`${spec.contender}: worker exited (${signal ?? code}) without a report`));
    });
    child.send(spec);
  });
}
