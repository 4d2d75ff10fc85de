import { defineConfig } from 'vitest/config';

// The real-Dify suite: test/real-dify/globalSetup.ts starts Dify 1.13.2 from ../shared/dify/start.sh
// (DIFY_SHARED_DIR overrides) into the git-ignored .real-dify/ and stops what it started.
export default defineConfig({
  test: {
    include: ['test/real-dify/**/*.test.ts'],
    globalSetup: ['test/real-dify/globalSetup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One server, two cores, and one file restarts the API with a concurrency limit: one file at a time.
    fileParallelism: false,
  },
});
