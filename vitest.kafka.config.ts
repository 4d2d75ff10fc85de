import { defineConfig } from 'vitest/config';

// The Kafka suite: needs java ≥ 17 and mvn; test/kafka/globalSetup.ts starts and stops the broker.
export default defineConfig({
  test: {
    include: ['test/kafka/**/*.test.ts'],
    globalSetup: ['test/kafka/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One broker, two cores: the files run one after another.
    fileParallelism: false,
  },
});
