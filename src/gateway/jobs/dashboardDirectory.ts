import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The dashboard's static files, `assets/dashboard/` of the installed package: found by walking up from
 * this module, which sits at a different depth in `src/` (tests) and in the `dist/` bundle.
 */
export function dashboardDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'assets', 'dashboard');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return join(dirname(fileURLToPath(import.meta.url)), 'assets', 'dashboard');
    dir = parent;
  }
}
