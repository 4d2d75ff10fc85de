import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import { fromHttp } from '../../src/sources/fromHttp.js';
import { fromReadable } from '../../src/sources/fromReadable.js';
import { collect } from './fixtures.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A loopback server on an ephemeral port; returns its base URL. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const lines = (n: number, from = 0) =>
  Array.from(
    { length: n },
    (_, i) => `${JSON.stringify({ id: `r${from + i}`, q: `question ${from + i}` })}\n`,
  );

describe('fromHttp', () => {
  it.each([
    ['/rows', 'application/x-ndjson; charset=utf-8', '{"id":"a","q":"x"}\n\n{"id":"b","q":"y"}\n'],
    ['/rows', 'application/json', '[{"id":"a","q":"x"},\n{"id":"b","q":"y"}]'],
    ['/rows.csv', 'application/octet-stream', 'id,q\na,x\nb,y\n'],
  ])('streams %s served as %s with the same items as a file', async (path, type, body) => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    });
    const items = await collect(fromHttp(`${base}${path}`, { idField: 'id' }));
    expect(items.map((i) => [i.seq, i.id, i.inputs.q])).toEqual([
      [0, 'a', 'x'],
      [1, 'b', 'y'],
    ]);
    expect(items[0]!.position?.partition).toBe(`${base}${path}`);
  });

  it('turns bad records into error items naming the line, and goes on', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"id":"a"}\n{oops\n{"q":"no id"}\n{"id":"d"}\n');
    });
    const items = await collect(fromHttp(`${base}/x`, { idField: 'id' }));
    expect(items.map((i) => i.error?.code ?? 'ok')).toEqual([
      'ok',
      'ERR_SOURCE_PARSE',
      'ERR_SOURCE_PARSE',
      'ok',
    ]);
    expect(items[1]!.error!.message).toMatch(/line 2/);
    expect(items[2]!.error!.message).toMatch(/line 3: id field `id` is missing/);
  });

  it('fails with the status on a non-2xx answer, without the credentials of the URL', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(404).end('nope');
    });
    const url = base.replace('http://', 'http://user:s3cret@');
    const error = await collect(fromHttp(`${url}/missing.ndjson`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyBatchError);
    expect((error as DifyBatchError).code).toBe('ERR_SOURCE_READ');
    expect((error as Error).message).toMatch(/HTTP 404/);
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('a server that drops mid-body is a clear error naming the position, and the run resumes from it', async () => {
    const all = lines(1000);
    const base = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      if (req.url === '/broken') {
        // 600 whole lines and half of the next, then the connection is cut.
        res.write(all.slice(0, 600).join('') + all[600]!.slice(0, 10));
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        res.end(all.join(''));
      }
    });
    const got: unknown[] = [];
    let error: unknown;
    try {
      for await (const item of fromHttp(`${base}/broken`, { idField: 'id' })) got.push(item.id);
    } catch (e) {
      error = e;
    }
    expect(got).toHaveLength(600);
    expect((error as DifyBatchError).code).toBe('ERR_SOURCE_READ');
    expect((error as Error).message, (error as Error).message).toMatch(
      /after line 600, byte \d+, seq 599; resume with skip 600\)/,
    );
    const skip = (error as { resumeSkip: number }).resumeSkip;
    expect(skip).toBe(600);
    const rest = await collect(fromHttp(`${base}/whole`, { idField: 'id', skip }));
    expect([...got, ...rest.map((i) => i.id)]).toEqual(all.map((_, i) => `r${i}`));
    expect(rest[0]!.seq).toBe(600);
  });

  it('a slow consumer slows the download: the server cannot write far ahead of what was read', async () => {
    const total = 1_000_000;
    let sent = 0;
    let finished = false;
    const base = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const chunk = lines(1000).join('');
      for (let i = 0; i < total / 1000; i++) {
        sent += 1000;
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        if (res.destroyed) return;
      }
      finished = true;
      res.end();
    });
    const iterator = fromHttp(`${base}/big`)[Symbol.asyncIterator]();
    for (let i = 0; i < 100; i++) await iterator.next();
    await new Promise((r) => setTimeout(r, 300));
    // ~35 MB body; TCP buffers and one read chunk hold far less.
    expect(finished).toBe(false);
    expect(sent).toBeLessThan(total / 4);
    await iterator.return?.();
  });

  it('rejects a bad URL synchronously', () => {
    expect(() => fromHttp('ftp://x/y')).toThrow(/http\(s\) URL/);
    expect(() => fromHttp('not a url')).toThrow(/http\(s\) URL/);
  });

  it('aborting stops the download with the signal reason', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(lines(10).join(''));
    });
    const controller = new AbortController();
    const iterator = fromHttp(`${base}/slow`, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(
      (async () => {
        for (;;) if ((await iterator.next()).done) return;
      })(),
    ).rejects.toBe(reason);
  });

  it('property: any body, sent in any chunks, gives the same items as the same bytes read from a stream', async () => {
    let body = Buffer.alloc(0);
    let cuts: number[] = [];
    const base = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let at = 0;
      for (const cut of [...cuts, body.length]) {
        const end = Math.min(Math.max(cut, at), body.length);
        res.write(body.subarray(at, end));
        at = end;
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
    const records = fc.array(
      fc.oneof(
        fc
          .dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
          .map((r) => JSON.stringify(r)),
        fc.string().filter((t) => !t.includes('\n')),
      ),
      { maxLength: 30 },
    );
    await fc.assert(
      fc.asyncProperty(records, fc.array(fc.nat({ max: 2000 }), { maxLength: 8 }), async (lines, at) => {
        body = Buffer.from(lines.join('\n'));
        cuts = [...at].sort((a, b) => a - b);
        const overHttp = await collect(fromHttp(`${base}/p`));
        const overStream = await collect(
          fromReadable(Readable.from([body]), { format: 'ndjson', partition: `${base}/p` }),
        );
        expect(overHttp).toEqual(overStream);
      }),
      { numRuns: 40 },
    );
  });
});
