import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { type RecordingProxy, startRecordingProxy, WORKFLOW_KEY } from '../gateway/helpers.js';
import { runBinary } from '../helpers/runBinary.js';

/**
 * `dify-batch run --trace`: the built CLI in its own process, an OpenTelemetry SDK preloaded the standard
 * way (NODE_OPTIONS="--require …", test/cli/fixtures/otelPreload.cjs, which writes finished spans to a
 * file), and a recording proxy in front of the emulator, because the emulator (like Dify) keeps no
 * request headers: the proxy is where the `traceparent` sent upstream is seen.
 */
const PRELOAD = join(import.meta.dirname, 'fixtures/otelPreload.cjs');

interface SpanLine {
  readonly name: string;
  readonly kind: number;
  readonly status: { readonly code: number; readonly message?: string };
  readonly traceId: string;
  readonly spanId: string;
}

let emulator: Emulator;
let proxy: RecordingProxy;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  proxy = await startRecordingProxy(emulator.url);
  dir = await mkdtemp(join(tmpdir(), 'dify-batch-trace-'));
  const records = [{ id: 'a' }, { id: 'b', __fault: 'failed' }, { id: 'c' }, { id: 'd' }];
  await writeFile(join(dir, 'in.ndjson'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
});
afterEach(async () => {
  await proxy.close();
  await rm(dir, { recursive: true, force: true });
});

/** `run` over in.ndjson through the proxy, with `extra` flags; `preload` adds the test SDK. */
function run(extra: readonly string[], preload: boolean) {
  return runBinary(
    [
      'run',
      '-i',
      join(dir, 'in.ndjson'),
      '-o',
      join(dir, 'out.ndjson'),
      '--id-field',
      'id',
      '--no-progress',
      ...extra,
    ],
    {
      DIFY_BASE_URL: proxy.url,
      DIFY_API_KEY: WORKFLOW_KEY,
      ...(preload
        ? { NODE_OPTIONS: `--require ${PRELOAD}`, DIFY_BATCH_TEST_SPANS: join(dir, 'spans.ndjson') }
        : {}),
    },
  );
}

async function spansWritten(): Promise<SpanLine[]> {
  const text = await readFile(join(dir, 'spans.ndjson'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SpanLine);
}

const calls = (p: RecordingProxy) => p.seen.filter((s) => s.path === '/v1/workflows/run');

describe('dify-batch run --trace', () => {
  it('one client span per record (ERROR for the failed one), its context sent to Dify as traceparent', async () => {
    const result = await run(['--trace'], true);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).not.toContain(WORKFLOW_KEY);
    expect(result.stderr).not.toContain('--trace: no OpenTelemetry SDK');
    const out = (await readFile(join(dir, 'out.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out.map((r: { id: string; ok: boolean }) => [r.id, r.ok])).toEqual([
      ['a', true],
      ['b', false],
      ['c', true],
      ['d', true],
    ]);

    const spans = await spansWritten();
    expect(spans).toHaveLength(4);
    for (const span of spans) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.name).toBe('POST /workflows/run');
    }
    expect(spans.filter((s) => s.status.code === SpanStatusCode.ERROR)).toHaveLength(1);
    expect(spans.filter((s) => s.status.code === SpanStatusCode.UNSET)).toHaveLength(3);
    // Each call carried its own span's context: same trace id, the span as parent, sampled.
    const received = calls(proxy).map((s) => s.traceparent);
    expect(received).toHaveLength(4);
    expect([...received].sort()).toEqual(spans.map((s) => `00-${s.traceId}-${s.spanId}-01`).sort());
    // The failed record's call is the ERROR span's.
    const failedCall = calls(proxy).find((s) => s.body.includes('"__fault":"failed"'));
    const errorSpan = spans.find((s) => s.status.code === SpanStatusCode.ERROR)!;
    expect(failedCall?.traceparent).toBe(`00-${errorSpan.traceId}-${errorSpan.spanId}-01`);
    // The preflight (GET /info, /parameters) runs outside any span: nothing to propagate.
    const preflight = proxy.seen.filter((s) => s.path !== '/v1/workflows/run');
    expect(preflight.length).toBeGreaterThan(0);
    expect(preflight.every((s) => s.traceparent === undefined)).toBe(true);
  });

  it('without --trace nothing changes: no span, no traceparent, even with an SDK preloaded', async () => {
    const result = await run([], true);
    expect(result.code, result.stderr).toBe(2);
    expect(await spansWritten()).toEqual([]);
    expect(calls(proxy)).toHaveLength(4);
    expect(calls(proxy).every((s) => s.traceparent === undefined)).toBe(true);
  });

  it('with --trace but no SDK preloaded: one warning line naming the recipe, and the run goes on untraced', async () => {
    const result = await run(['--trace'], false);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(
      'dify-batch: warning: --trace: no OpenTelemetry SDK is registered, so no spans are recorded; preload one (NODE_OPTIONS="--require @opentelemetry/auto-instrumentations-node/register")\n',
    );
    expect(calls(proxy)).toHaveLength(4);
    expect(calls(proxy).every((s) => s.traceparent === undefined)).toBe(true);
  });
});
