import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DifyResponseMode } from '../../src/dify/DifyRequest.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import type { EmulatorOptions } from '../../src/emulator/EmulatorOptions.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import type { RunSummary } from '../../src/pipeline/RunSummary.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { toFile } from '../../src/sinks/toFile.js';
import { fromFile } from '../../src/sources/fromFile.js';
import { type Toxic, Toxiproxy, toxiproxyAvailability } from './toxiproxy.js';

/**
 * The fault matrix (issue 7): Toxiproxy between a real DifyClient (inside runBatch) and the emulator.
 * For each fault — latency, bandwidth, slicer, reset_peer, timeout, and a server restart — it strikes
 * once a quarter of the output is written and clears after a while; the run must then complete with
 * nothing lost, nothing duplicated and the order kept: one line per input, in order, all ok, with the
 * emulator's answer for that very input, read back from a real output file.
 */

const KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
const COUNT = 400;
const EMULATOR: EmulatorOptions = { latency: { kind: 'uniform', minMs: 3, maxMs: 8 } };
const availability = toxiproxyAvailability();
if (!availability.run) console.warn(`skipping the Toxiproxy fault matrix: ${availability.reason}`);

/** What a fault does: strike, then resolve once it has cleared. */
type Fault = (ctx: { readonly toxiproxy: Toxiproxy; readonly proxy: string }) => Promise<void>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A toxic held for `holdMs`, then removed. */
const toxicFor =
  (toxic: Toxic, holdMs: number): Fault =>
  async ({ toxiproxy, proxy }) => {
    await toxiproxy.addToxic(proxy, toxic);
    await sleep(holdMs);
    await toxiproxy.removeToxic(proxy, toxic.name);
  };

describe.skipIf(!availability.run)(
  'fault matrix through Toxiproxy (nothing lost, nothing duplicated)',
  () => {
    let toxiproxy: Toxiproxy;
    let emulator: Emulator;
    let dir: string;
    let proxy: string;
    let proxyUrl: string;
    let proxies = 0;

    beforeAll(async () => {
      toxiproxy = await Toxiproxy.start();
    });
    afterAll(async () => {
      await toxiproxy?.stop();
    });
    beforeEach(async () => {
      emulator = await startEmulator(EMULATOR);
      dir = await mkdtemp(join(tmpdir(), 'dify-batch-faults-'));
      proxy = `dify_${++proxies}`;
      const listen = await toxiproxy.createProxy(proxy, `127.0.0.1:${emulator.port}`);
      proxyUrl = `http://${listen}/v1`;
    });
    afterEach(async () => {
      await toxiproxy.deleteProxy(proxy).catch(() => {});
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Runs COUNT records file → runBatch → file through the proxy, striking `fault` mid-run. */
    async function runWith(fault: Fault, responseMode: DifyResponseMode = 'blocking') {
      const inputs = Array.from({ length: COUNT }, (_, i) => ({
        id: `r${i}`,
        text: `record ${i} `.repeat(8),
      }));
      const input = join(dir, 'in.ndjson');
      const output = join(dir, 'out.ndjson');
      await writeFile(input, `${inputs.map((r) => JSON.stringify(r)).join('\n')}\n`);
      let struck: Promise<void> | undefined;
      let writtenAtStrike = -1;
      const summary: RunSummary = await runBatch({
        source: fromFile(input, { idField: 'id' }),
        sink: toFile(output),
        dify: { baseUrl: proxyUrl, apiKey: KEY, timeouts: { totalMs: 1_000 } },
        app: 'workflow',
        responseMode,
        concurrency: 8,
        progressIntervalMs: 0,
        onProgress: ({ written }) => {
          if (struck === undefined && written >= COUNT / 4) {
            writtenAtStrike = written;
            struck = fault({ toxiproxy, proxy });
          }
        },
      });
      await struck;
      const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
      const results = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      return { inputs, results, summary, writtenAtStrike };
    }

    function expectComplete(run: Awaited<ReturnType<typeof runWith>>): void {
      const { inputs, results, summary, writtenAtStrike } = run;
      // The fault struck while the run was going on, not after it.
      expect(writtenAtStrike).toBeGreaterThan(0);
      expect(writtenAtStrike).toBeLessThan(COUNT);
      // One line per input, in order, nothing duplicated, every one a success with its own answer.
      expect(results).toHaveLength(COUNT);
      expect(results.map((r) => r.seq)).toEqual([...Array(COUNT).keys()]);
      expect(results.map((r) => r.id)).toEqual(inputs.map((r) => r.id));
      expect(results.filter((r) => r.ok !== true).map((r) => [r.id, r.error])).toEqual([]);
      results.forEach((r, i) => {
        expect(r.outputs).toEqual(emulatedOutputs('workflow', inputs[i]!));
      });
      expect(summary).toMatchObject({ written: COUNT, succeeded: COUNT, failed: 0 });
    }

    it('latency: 300 ms ± 50 on every answer for 1 s', async () => {
      const run = await runWith(
        toxicFor({ name: 'latency', type: 'latency', attributes: { latency: 300, jitter: 50 } }, 1_000),
      );
      expectComplete(run);
    }, 60_000);

    it('bandwidth: answers squeezed to 4 KB/s for 1 s', async () => {
      const run = await runWith(
        toxicFor({ name: 'bandwidth', type: 'bandwidth', attributes: { rate: 4 } }, 1_000),
      );
      expectComplete(run);
    }, 60_000);

    it('slicer: SSE streams cut into 1–15 byte pieces for 1.5 s (streaming)', async () => {
      const run = await runWith(
        toxicFor(
          { name: 'slicer', type: 'slicer', attributes: { average_size: 8, size_variation: 7, delay: 200 } },
          1_500,
        ),
        'streaming',
      );
      expectComplete(run);
    }, 60_000);

    it('reset_peer: every connection reset for 1 s', async () => {
      const run = await runWith(
        toxicFor({ name: 'reset', type: 'reset_peer', attributes: { timeout: 0 } }, 1_000),
      );
      expectComplete(run);
    }, 60_000);

    it('timeout: requests swallowed (no answer, no close) for 1.5 s, calls time out', async () => {
      const run = await runWith(
        toxicFor({ name: 'timeout', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } }, 1_500),
      );
      expectComplete(run);
      // Calls that timed out after they were sent may have run: they are counted, not hidden.
      expect(run.summary.ambiguousRetries).toBeGreaterThan(0);
    }, 60_000);

    it('server restart: the emulator stops mid-run and starts again on the same port 1 s later', async () => {
      const port = emulator.port;
      const run = await runWith(async () => {
        await emulator.close();
        await sleep(1_000);
        emulator = await startEmulator({ ...EMULATOR, port });
      });
      expectComplete(run);
    }, 60_000);
  },
);
