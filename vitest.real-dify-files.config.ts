import { defineConfig } from 'vitest/config';

// Issue 13 against a real Dify: `npm run test:real-dify:files` (scripts/real-dify-files.sh starts the
// server and passes REAL_DIFY_BASE_URL / REAL_DIFY_FILES_KEY).
export default defineConfig({
  test: {
    include: ['test/real-dify-files/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
