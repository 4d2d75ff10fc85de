import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBootstrap: string;
  }
}

/** Starts the test broker (scripts/kafka.sh) for the Kafka suite and stops it afterwards. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { stdout } = await run('bash', ['scripts/kafka.sh', 'start'], { timeout: 180_000 });
  const bootstrap = stdout.trim().split('\n').pop() ?? '';
  if (!/^127\.0\.0\.1:\d+$/.test(bootstrap)) throw new Error(`scripts/kafka.sh start printed ${stdout}`);
  project.provide('kafkaBootstrap', bootstrap);
  return async () => {
    await run('bash', ['scripts/kafka.sh', 'stop'], { timeout: 60_000 });
  };
}
