import { defineConfig } from 'tsup';

/**
 * Builds the benchmark harness (bench/*.ts plus the ../src it imports) into bench/out/dist, so `npm run
 * bench` needs neither tsx nor a prior `npm run build`. Packages stay external (resolved from node_modules).
 */
export default defineConfig({
  entry: {
    main: 'bench/main.ts',
    'contender-worker': 'bench/contender-worker.ts',
    'emulator-server': 'bench/emulator-server.ts',
    kafka: 'bench/kafka.ts',
    'real-dify': 'bench/realDify.ts',
    // For bench/gateway/loadTest.mjs (plain JS, not built): the one side-run mechanism.
    'side-runs': 'bench/sideRuns.ts',
  },
  outDir: 'bench/out/dist',
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: false,
  sourcemap: true,
  clean: true,
  splitting: true,
  skipNodeModulesBundle: true,
});
