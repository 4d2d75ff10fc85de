import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Kafka suite needs a broker: `npm run test:kafka` (vitest.kafka.config.ts); the real-Dify
    // suites a real Dify 1.13.2: `npm run test:real-dify` and `npm run test:real-dify:files`.
    exclude: ['test/kafka/**', 'test/real-dify/**', 'test/real-dify-files/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
