import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BatchMetrics } from '../../src/metrics/BatchMetrics.js';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const promtool = join(root, '.tools/bin/promtool');
const rules = join(root, 'deploy/prometheus/alerts.yml');
// Installed by scripts/install-promtool.sh (CI runs it before the tests).
const hasPromtool = existsSync(promtool);

describe('deploy/prometheus/alerts.yml', () => {
  it('uses only metrics that BatchMetrics exports', async () => {
    const exported = (await new BatchMetrics({ processMetrics: false }).scrape()).body;
    const used = new Set(readFileSync(rules, 'utf8').match(/dify_batch_\w+/g));
    expect(used.size).toBeGreaterThan(0);
    for (const name of used)
      expect(exported, name).toMatch(new RegExp(`^# TYPE ${name.replace(/_bucket$/, '')} `, 'm'));
  });

  it.skipIf(!hasPromtool)(
    'passes `promtool check rules` and its unit tests (promtool test rules)',
    async () => {
      const check = await exec(promtool, ['check', 'rules', rules]);
      expect(check.stdout).toContain('SUCCESS: 2 rules found');
      const tests = await exec(promtool, ['test', 'rules', join(root, 'deploy/prometheus/alerts.test.yml')]);
      expect(tests.stdout).toContain('SUCCESS');
    },
  );
});
