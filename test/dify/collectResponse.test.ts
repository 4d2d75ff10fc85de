import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, util } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { CallAbort } from '../../src/dify/CallAbort.js';
import { collectResponse, type ResponseHandling } from '../../src/dify/collectResponse.js';

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

interface Seen {
  status: number;
  text: string;
  truncated: boolean;
  headers: Record<string, string | string[] | undefined>;
}

/** A handling that records what it was given: the response, or the failure and its phase. */
function recording(limitOf: (status: number) => number = () => 1000) {
  const failures: { error: unknown; bodyStarted: boolean }[] = [];
  const handling: ResponseHandling<CallAbort, string, Seen & { request: string }> = {
    limitOf,
    complete: (_abort, request, status, text, truncated, rawHeaders) => {
      if (status === 418) throw new Error(`teapot ${request}`);
      return { request, status, text, truncated, headers: util.parseHeaders([...rawHeaders]) };
    },
    fail: (_abort, _request, error, bodyStarted) => {
      failures.push({ error, bodyStarted });
      return error;
    },
  };
  return { handling, failures };
}

describe('collectResponse', () => {
  it('gathers a body sent in several chunks and hands status, text and raw headers to complete()', async () => {
    const origin = await serve(200, ['{"a":', '"bc', 'd"}'], 5);
    pool = new Pool(origin, { connections: 1 });
    const { handling, failures } = recording();
    const response = await collectResponse(pool, post(origin), new CallAbort(), 'r1', handling);
    expect(response).toMatchObject({ request: 'r1', status: 200, text: '{"a":"bcd"}', truncated: false });
    expect(response.headers['content-type']).toBe('application/json');
    expect(failures).toEqual([]);
  });

  it('gives an empty body as empty text', async () => {
    const origin = await serve(200, []);
    pool = new Pool(origin, { connections: 1 });
    const response = await collectResponse(pool, post(origin), new CallAbort(), 'r', recording().handling);
    expect(response).toMatchObject({ status: 200, text: '', truncated: false });
  });

  it('cuts a body at the limit of its status, aborts it, and the connection serves the next call', async () => {
    const origin = await serve(500, ['x'.repeat(40), 'y'.repeat(40)], 5);
    pool = new Pool(origin, { connections: 1 });
    const limits: number[] = [];
    const { handling } = recording((status: number) => {
      limits.push(status);
      return 50;
    });
    const first = await collectResponse(pool, post(origin), new CallAbort(), 'r', handling);
    expect(first).toMatchObject({ status: 500, truncated: true });
    expect(first.text).toBe(`${'x'.repeat(40)}${'y'.repeat(10)}`);
    const second = await collectResponse(pool, post(origin), new CallAbort(), 'r', recording().handling);
    expect(second.text).toHaveLength(80);
    expect(limits).toEqual([500]);
  });

  it("rejects with fail()'s mapping of what complete() throws", async () => {
    const origin = await serve(418, ['short and stout']);
    pool = new Pool(origin, { connections: 1 });
    const { handling, failures } = recording();
    await expect(collectResponse(pool, post(origin), new CallAbort(), 'r7', handling)).rejects.toThrow(
      'teapot r7',
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]!.bodyStarted).toBe(true);
  });

  it('rejects with the abort reason when the call is aborted mid-body, or before it started', async () => {
    const origin = await serve(200, ['{"slow":', '1}'], 200);
    pool = new Pool(origin, { connections: 1 });
    const signal = new CallAbort();
    const reason = new Error('stop');
    const { handling, failures } = recording(() => {
      setImmediate(() => signal.abort(reason));
      return 1000;
    });
    await expect(collectResponse(pool, post(origin), signal, 'r', handling)).rejects.toBe(reason);
    expect(failures).toEqual([{ error: reason, bodyStarted: true }]);
    expect(signal.controller).toBeUndefined();
    const early = new CallAbort();
    early.abort();
    const before = recording();
    await expect(collectResponse(pool, post(origin), early, 'r', before.handling)).rejects.toMatchObject({
      code: 'UND_ERR_ABORTED',
    });
    expect(before.failures[0]!.bodyStarted).toBe(false);
  });

  it('settles once through fail() when the dispatcher throws instead of calling onError', async () => {
    const throwing = {
      dispatch: () => {
        throw new Error('dispatcher broke');
      },
    } as unknown as Pool;
    const { handling, failures } = recording();
    await expect(
      collectResponse(throwing, post('http://127.0.0.1:1'), new CallAbort(), 'r', handling),
    ).rejects.toThrow('dispatcher broke');
    expect(failures).toHaveLength(1);
  });
});
