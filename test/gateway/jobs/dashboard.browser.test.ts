import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../src/emulator/startEmulator.js';
import { type Gateway, startGateway } from '../../../src/gateway/startGateway.js';
import { WORKFLOW_KEY } from '../helpers.js';
import { call, ndjson } from './jobHelpers.js';

// The Debian package `chromium`; the test never downloads a browser. CI installs it (see .ci/run), so
// there a missing binary fails the test instead of skipping it.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
// Evaluated in the page (this file is compiled without the DOM types).
const progressAt = (value: string): string =>
  `document.querySelector('#progress')?.getAttribute('aria-valuenow') === '${value}'`;
const progressStarted = "Number(document.querySelector('#progress')?.getAttribute('aria-valuenow')) > 0";
const shots = join(import.meta.dirname, '../../../test-output/dashboard');

let emulator: Emulator;
let gateway: Gateway;
let dataDir: string;
let browser: Browser;

describe.skipIf(!hasChromium && process.env.CI !== 'true')('the jobs dashboard in headless Chromium', () => {
  beforeAll(async () => {
    emulator = await startEmulator({ latency: { kind: 'fixed', ms: 20 } });
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-ui-'));
    gateway = await startGateway({ upstream: emulator.url, concurrency: 4, jobs: { dataDir } });
    await mkdir(shots, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await emulator?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('submits a job, shows progress to 100 %, the chart and the failures, and retries the failures', async () => {
    // A phone-sized screen: the page must stay readable there.
    const page = await browser.newPage({ viewport: { width: 420, height: 1300 } });
    await page.goto(gateway.url);
    expect(await page.title()).toBe('dify-batch jobs');
    await page.fill('#key', WORKFLOW_KEY);
    await page.click('#key-form button');
    await expect.poll(() => page.textContent('#message')).toBe('Key set for this tab.');
    // The key is in sessionStorage, not in the page.
    expect(await page.evaluate("sessionStorage.getItem('difyBatchKey')")).toBe(WORKFLOW_KEY);
    expect(await page.inputValue('#key')).toBe('');

    // 400 records at 20 ms over 4 slots: about two seconds, long enough for chart samples.
    // Every 20th record fails on its first call only, so retrying the failures succeeds.
    const records = ndjson(400, (i) =>
      i % 20 === 7 ? { id: `ui-${i}`, __fault: 'failed:1' } : { id: `ui-${i}` },
    );
    await page.fill('#records', records);
    await page.fill('#id-field', 'id');
    await page.screenshot({ path: join(shots, '1-form.png'), fullPage: true });
    await page.click('#submit-form button[type=submit]');
    await page.waitForSelector('#detail:not([hidden])');
    const id = (await page.textContent('#job-id'))!;
    expect(id).toMatch(/^job_/);
    await page.waitForFunction(progressStarted);
    await page.screenshot({ path: join(shots, '2-running.png'), fullPage: true });

    await page.waitForFunction(progressAt('100'), undefined, {
      timeout: 20_000,
    });
    await expect.poll(() => page.textContent('#job-status')).toBe('succeeded');
    expect(await page.textContent('#progress span')).toBe('100 %');
    expect(await page.textContent('dd[data-name=written]')).toBe('400');
    expect(await page.textContent('dd[data-name=failed]')).toBe('20');
    // The chart: a throughput line and a latency line with one point per second the job ran.
    const points = await page.getAttribute('#chart polyline[data-series=throughput]', 'points');
    expect(points!.trim().split(' ').length).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#chart polyline[data-series=latency]').count()).toBe(1);
    // The failure row: the code the API reports, its count, and examples naming the records.
    const api = (await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${id}`)).json();
    const [code] = Object.keys(api.errors_by_code as object);
    const cells = await page.locator('#failures tbody tr').first().locator('td').allTextContents();
    expect(cells[0]).toBe(code);
    expect(cells[1]).toBe('20');
    expect(cells[2]).toContain('#7 (ui-7)');
    expect(await page.isDisabled('#cancel')).toBe(true);
    await page.screenshot({ path: join(shots, '3-done.png'), fullPage: true });

    await page.click('#retry');
    await expect.poll(() => page.textContent('#job-id')).not.toBe(id);
    await page.waitForFunction(progressAt('100'), undefined, {
      timeout: 20_000,
    });
    await expect.poll(() => page.textContent('#job-status')).toBe('succeeded');
    expect(await page.textContent('dd[data-name=written]')).toBe('20');
    expect(await page.textContent('dd[data-name=failed]')).toBe('0');
    expect(await page.locator('#failures tbody tr').count()).toBe(0);
    await expect.poll(() => page.locator('#jobs tbody tr').count()).toBe(2);
    expect(await page.textContent('#jobs tbody tr:first-child td:first-child')).toContain('(retry)');
    await page.screenshot({ path: join(shots, '4-retried.png'), fullPage: true });

    // A wide screen too, for the README.
    await page.setViewportSize({ width: 1100, height: 1000 });
    await page.click(`#jobs tbody tr[data-id="${id}"]`);
    await expect.poll(() => page.textContent('#job-id')).toBe(id);
    await expect.poll(() => page.textContent('dd[data-name=failed]')).toBe('20');
    await page.screenshot({ path: join(shots, '5-wide.png'), fullPage: true });
  }, 60_000);
});
