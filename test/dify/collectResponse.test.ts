import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { CallAbort } from '../../src/dify/CallAbort.js';
import { collectResponse } from '../../src/dify/collectResponse.js';

let server: Server | undefined;
let pool: Pool | undefined;
afterEach(async () => {
  await pool?.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  pool = undefined;
});

/** A loopback server (port 0) answering every request with `parts`, written one by one. */
async function serve(status: number, parts: string[], gapMs = 0): Promise<string> {
  server = createServer(async (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    for (const part of parts) {
      res.write(part);
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (origin: string) => ({ origin, path: '/run', method: 'POST' as const, body: '{}' });

describe('collectResponse', () => {
  it('gathers a body sent in several chunks, with status and headers', async () => {
    const origin = await serve(200, ['{"a":', '"bc', 'd"}'], 5);
    pool = new Pool(origin, { connections: 1 });
    let bodyPhase = false;
    const response = await collectResponse(
      pool,
      post(origin),
      new CallAbort(),
      () => 1000,
      () => {
        bodyPhase = true;
      },
    );
    expect(response).toMatchObject({ status: 200, text: '{"a":"bcd"}', truncated: false });
    expect(response.headers['content-type']).toBe('application/json');
    expect(bodyPhase).toBe(true);
  });

  it('cuts a body at the limit of its status, aborts it, and the connection serves the next call', async () => {
    const origin = await serve(500, ['x'.repeat(40), 'y'.repeat(40)], 5);
    pool = new Pool(origin, { connections: 1 });
    const limits: number[] = [];
    const limitOf = (status: number) => {
      limits.push(status);
      return 50;
    };
    const first = await collectResponse(pool, post(origin), new CallAbort(), limitOf, () => {});
    expect(first).toMatchObject({ status: 500, truncated: true });
    expect(first.text).toBe(`${'x'.repeat(40)}${'y'.repeat(10)}`);
    const second = await collectResponse(
      pool,
      post(origin),
      new CallAbort(),
      () => 1000,
      () => {},
    );
    expect(second.text).toHaveLength(80);
    expect(limits).toEqual([500]);
  });

  it('rejects with the abort reason when the call is aborted mid-body, or before it started', async () => {
    const origin = await serve(200, ['{"slow":', '1}'], 200);
    pool = new Pool(origin, { connections: 1 });
    const signal = new CallAbort();
    const reason = new Error('stop');
    const pending = collectResponse(
      pool,
      post(origin),
      signal,
      () => 1000,
      () => {
        setImmediate(() => signal.abort(reason));
      },
    );
    await expect(pending).rejects.toBe(reason);
    const early = new CallAbort();
    early.abort();
    await expect(
      collectResponse(
        pool,
        post(origin),
        early,
        () => 1000,
        () => {},
      ),
    ).rejects.toMatchObject({
      code: 'UND_ERR_ABORTED',
    });
  });
});
