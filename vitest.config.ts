import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Kafka suite needs a broker: `npm run test:kafka` (vitest.kafka.config.ts).
    // The real-Dify suite needs a real Dify 1.13.2: `npm run test:real-dify` (vitest.real-dify.config.ts).
    exclude: ['test/kafka/**', 'test/real-dify/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
