/**
 * runBatch's preflight against the emulator: the app's form read once, records that cannot succeed
 * failed with Dify's message and no call, another app kind refused before any run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { fromAsyncIterable } from '../../src/sources/fromAsyncIterable.js';
import { memorySink } from '../helpers/memorySink.js';

const WORKFLOW = 'app-PreflightWorkflow00000001';
const CHAT = 'app-PreflightChat000000000001';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({
    apps: [
      {
        key: WORKFLOW,
        mode: 'workflow',
        inputForm: [
          { type: 'text-input', variable: 'query', required: true, maxLength: 8 },
          { type: 'select', variable: 'tone', required: false, options: ['calm', 'loud'] },
        ],
      },
      { key: CHAT, mode: 'chat' },
    ],
  });
});
afterAll(() => emulator.close());

async function run(
  records: readonly object[],
  options: { apiKey?: string; app?: 'workflow' | 'chat'; preflight?: boolean; baseUrl?: string } = {},
) {
  emulator.reset();
  const warnings: string[] = [];
  const { sink, results } = memorySink<ItemResult>();
  const summary = await runBatch({
    source: fromAsyncIterable(records, { idField: 'id' }),
    sink,
    dify: { baseUrl: options.baseUrl ?? emulator.url, apiKey: options.apiKey ?? WORKFLOW },
    app: options.app ?? 'workflow',
    responseMode: 'streaming',
    concurrency: 4,
    ...(options.preflight === undefined ? {} : { preflight: options.preflight }),
    onWarning: (message) => warnings.push(message),
    retry: { maxAttempts: 1 },
  });
  return { summary, results, warnings, stats: emulator.stats() };
}

describe('runBatch preflight', () => {
  it('fails records the form refuses with Dify’s message and no call; the rest run', async () => {
    const { results, warnings, stats } = await run([
      { id: 'ok', query: 'fine', tone: 'calm' },
      { id: 'long', query: 'much too long' },
      { id: 'type', query: 7 },
      { id: 'none' },
      { id: 'tone', query: 'x', tone: 'shouty' },
      { id: 'ok2', query: 'also', tone: 'loud' },
    ]);
    expect(results.map((r) => [r.id, r.ok, r.attempts])).toEqual([
      ['ok', true, 1],
      ['long', false, 0],
      ['type', false, 0],
      ['none', false, 0],
      ['tone', false, 0],
      ['ok2', true, 1],
    ]);
    expect(results.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.error.message))).toEqual([
      'record long (seq 1): query in input form must be less than 8 characters',
      "record type (seq 2): (type 'text-input') query in input form must be a string",
      'record none (seq 3): query is required in input form',
      "record tone (seq 4): tone in input form must be one of the following: ['calm', 'loud']",
    ]);
    // Only the two valid records reached a run route (the two GETs are the preflight).
    expect(stats.byStatus).toEqual({ 200: 4 });
    // The source's idField stays an input (the whole record is the inputs): reported once.
    expect(warnings).toEqual([
      `the app's input form has no "id": Dify ignores this input (first seen in record ok, seq 0)`,
    ]);
  });

  it('reports inputs the form does not declare once, whichever record brings them', async () => {
    const { warnings } = await run([
      { id: 'a', query: 'x', extra: 1 },
      { id: 'b', query: 'y', extra: 2, more: 3 },
    ]);
    expect(warnings).toEqual([
      `the app's input form has no "id", "extra": Dify ignores these inputs (first seen in record a, seq 0)`,
      `the app's input form has no "more": Dify ignores this input (first seen in record b, seq 1)`,
    ]);
  });

  it('refuses a key of another app kind before any run', async () => {
    const error = await run([{ id: 'a', query: 'x' }], { apiKey: CHAT }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect((error as Error).message).toContain('GET /info says "chat"');
    expect((error as { summary?: unknown }).summary).toBeUndefined();
    // GET /info and GET /parameters only.
    expect(emulator.stats().byStatus).toEqual({ 200: 2 });
  });

  it('preflight: false sends every record (the emulator, like Dify 1.13, then falls silent on a bad one)', async () => {
    const { results, stats } = await run([{ id: 'ok', query: 'fine' }], { preflight: false });
    expect(results.map((r) => r.ok)).toEqual([true]);
    expect(stats.byStatus).toEqual({ 200: 1 });
  });

  it('a server that hides /parameters: the run goes on unchecked, with one warning line', async () => {
    // A proxy that answers 500 on /info and forwards everything else to the emulator.
    const proxy = createServer(async (req, res) => {
      if (req.url?.endsWith('/info')) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":"unknown"}');
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const { host: _h, connection: _c, 'content-length': _l, ...headers } = req.headers;
      const answer = await fetch(`${emulator.url.replace('/v1', '')}${req.url}`, {
        method: req.method ?? 'GET',
        headers: headers as Record<string, string>,
        ...(chunks.length === 0 ? {} : { body: Buffer.concat(chunks) }),
      });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? '' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const { results, warnings } = await run([{ id: 'ok', query: 'fine' }], {
        baseUrl: `http://127.0.0.1:${port}/v1`,
      });
      expect(results.map((r) => r.ok)).toEqual([true]);
      expect(warnings).toEqual([
        'preflight skipped, inputs are not checked before calls: GET /info answered 500',
      ]);
    } finally {
      proxy.close();
    }
  });
});
