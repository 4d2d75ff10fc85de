import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { toFile } from '../../src/sinks/toFile.js';
import { TO_HTTP_DEFAULTS, toHttp } from '../../src/sinks/toHttp.js';
import { makeTempDir } from '../sources/fixtures.js';

let server: Server | undefined;
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  await cleanup();
});

interface Received {
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
}

/** A webhook on an ephemeral loopback port that answers each POST with `status(n)` (n counts from 1). */
async function webhook(status: (n: number) => number): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  let n = 0;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const code = status(++n);
      if (code === 200) received.push({ body, headers: req.headers });
      if (code === 0) {
        req.socket.destroy(); // a connection reset
        return;
      }
      res.writeHead(code).end(code === 200 ? 'ok' : 'try later');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

const result = (seq: number): ItemResult => ({
  seq,
  id: `r${seq}`,
  ok: true,
  outputs: { answer: `a${seq}` },
  attempts: 1,
  latencyMs: 3,
});
const fast = { minDelayMs: 1, maxDelayMs: 5 };

describe('toHttp', () => {
  it('posts each batch as NDJSON lines, the same lines a file gets, in order', async () => {
    const hook = await webhook(() => 200);
    const sink = toHttp(hook.url, { headers: { authorization: 'Bearer app-secretsecretsecret' } });
    await sink.write([result(0), result(1)]);
    await sink.write([result(2)]);
    await sink.close();
    const file = join(dir, 'same.ndjson');
    const fileSink = toFile(file);
    await fileSink.write([result(0), result(1), result(2)]);
    await fileSink.close();
    expect(hook.received.map((r) => r.body).join('')).toBe(await readFile(file, 'utf8'));
    expect(hook.received[0]!.headers['content-type']).toBe('application/x-ndjson');
    expect(hook.received.map((r) => r.headers['x-dify-batch-seq'])).toEqual(['0-1', '2-2']);
  });

  it('a webhook that fails, then recovers: retried with backoff, each batch delivered once, in order', async () => {
    // Attempts 1-3 fail (503, reset, 429), then everything succeeds.
    const hook = await webhook((n) => (n === 1 ? 503 : n === 2 ? 0 : n === 3 ? 429 : 200));
    const sink = toHttp(hook.url, { retry: fast });
    await sink.write([result(0), result(1)]);
    await sink.write([result(2)]);
    await sink.close();
    const seqs = hook.received.flatMap((r) =>
      r.body
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as ItemResult).seq),
    );
    expect(seqs).toEqual([0, 1, 2]);
  });

  it('a webhook that keeps failing: the batch goes to the fallback file, and later batches still try the webhook', async () => {
    let down = true;
    const hook = await webhook(() => (down ? 502 : 200));
    const fallbackPath = join(dir, 'undelivered.ndjson');
    const sink = toHttp(hook.url, { retry: { ...fast, maxAttempts: 3 }, fallback: toFile(fallbackPath) });
    await sink.write([result(0), result(1)]);
    down = false;
    await sink.write([result(2)]);
    await sink.close();
    const undelivered = (await readFile(fallbackPath, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as ItemResult).seq);
    expect(undelivered).toEqual([0, 1]);
    expect(hook.received).toHaveLength(1);
  });

  it('without a fallback, a batch that cannot be delivered fails the run; a 4xx is not retried; the key never shows', async () => {
    let calls = 0;
    const hook = await webhook(() => {
      calls++;
      return 400;
    });
    const sink = toHttp(hook.url.replace('http://', 'http://u:pw-secret@'), {
      retry: fast,
      headers: { authorization: 'Bearer app-secretsecretsecret' },
    });
    const error = await sink.write([result(0)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyBatchError);
    expect((error as DifyBatchError).code).toBe('ERR_SINK_WRITE');
    expect((error as Error).message).toMatch(/HTTP 400/);
    expect((error as Error).message).not.toMatch(/secret/);
    expect(calls).toBe(1);
    // Every later write fails the same way: no batch is acknowledged past a lost one.
    await expect(sink.write([result(1)])).rejects.toBe(error);
  });

  it('documents its defaults', () => {
    expect(TO_HTTP_DEFAULTS).toEqual({
      retry: { maxAttempts: 5, minDelayMs: 200, maxDelayMs: 10_000 },
      timeoutMs: 30_000,
    });
    expect(() => toHttp('file:///x')).toThrow(/http\(s\) URL/);
  });
});
