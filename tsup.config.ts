import { defineConfig } from 'tsup';

// One entry per package.json `exports` subpath (plus the CLI binary).
const publicEntries = {
  index: 'src/index.ts',
  'operators/index': 'src/operators/index.ts',
  'limits/index': 'src/limits/index.ts',
  'emulator/index': 'src/emulator/index.ts',
};

export default defineConfig({
  entry: { ...publicEntries, 'cli/main': 'src/cli/main.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: { entry: publicEntries },
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
});
