import { getEventListeners } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import { fromReadable } from '../../src/sources/fromReadable.js';
import { collect, settle } from './fixtures.js';

/** Produces `lines` NDJSON lines lazily, 100 per `_read`, and counts the bytes handed out. */
class CountingReadable extends Readable {
  pushedBytes = 0;
  private next = 0;
  constructor(private readonly lines: number) {
    super();
  }
  override _read(): void {
    if (this.next >= this.lines) return void this.push(null);
    const end = Math.min(this.next + 100, this.lines);
    let text = '';
    for (; this.next < end; this.next++) text += `{"id":"r${this.next}","text":"payload ${this.next}"}\n`;
    this.pushedBytes += Buffer.byteLength(text);
    this.push(text);
  }
}

describe('fromReadable', () => {
  it('keeps read-ahead bounded while the consumer pulls 10 items and idles (200k-line stream)', async () => {
    const input = new CountingReadable(200_000);
    const iterator = fromReadable(input, { format: 'ndjson', idField: 'id' })[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) expect((await iterator.next()).value?.id).toBe(`r${i}`);
    await settle(50);
    // 200k lines are ~7 MB; only the stream's highWaterMark (16 KiB) plus one push may be in flight.
    expect(input.pushedBytes).toBeLessThan(32 * 1024);
    await iterator.return?.();
    expect(input.destroyed).toBe(true);
  });

  it('keeps read-ahead bounded for JSON arrays and CSV too', async () => {
    for (const format of ['json', 'csv'] as const) {
      let pushed = 0;
      let n = 0;
      const input = new Readable({
        read() {
          if (n === 0) this.push(format === 'json' ? '[' : 'id,text\n');
          let text = '';
          for (const end = n + 100; n < end; n++) {
            text += format === 'json' ? `{"id":"r${n}","text":"payload ${n}"},` : `r${n},payload ${n}\n`;
          }
          pushed += text.length;
          this.push(text);
        },
      });
      const iterator = fromReadable(input, { format, idField: 'id' })[Symbol.asyncIterator]();
      for (let i = 0; i < 10; i++) expect((await iterator.next()).value?.id).toBe(`r${i}`);
      await settle(50);
      expect(pushed).toBeLessThan(64 * 1024);
      await iterator.return?.();
    }
  });

  it('reads string chunks split anywhere, even inside a multi-byte character', async () => {
    const bytes = Buffer.from('{"q":"héllo wörld"}\n{"q":"✓"}\n');
    const pieces = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    const items = await collect(fromReadable(Readable.from(pieces), { format: 'ndjson' }));
    expect(items.map((i) => i.inputs.q)).toEqual(['héllo wörld', '✓']);
  });

  it('names the partition in positions and fatal errors', async () => {
    const broken = Readable.from([Buffer.from('[{"q":1},')]);
    const error = await collect(fromReadable(broken, { format: 'json', partition: 'upload-7' })).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(DifyBatchError);
    expect(error.message).toMatch(/^cannot read upload-7: /);
    const items = await collect(
      fromReadable(Readable.from(['{"q":1}\n']), { format: 'ndjson', partition: 'p' }),
    );
    expect(items[0]?.position).toEqual({ partition: 'p', line: 1, offset: 8 });
  });

  it('reports a failing stream as ERR_SOURCE_READ with the cause', async () => {
    const cause = new Error('socket hang up');
    const input = new Readable({
      read() {
        this.destroy(cause);
      },
    });
    const error = await collect(fromReadable(input, { format: 'ndjson' })).catch((e) => e);
    expect(error.code).toBe('ERR_SOURCE_READ');
    expect(error.message).toBe('cannot read the input stream: socket hang up');
    expect(error.cause).toBe(cause);
  });

  it('rejects a pending next() with the abort reason at once and destroys the stream', async () => {
    const input = new Readable({ read() {} });
    const controller = new AbortController();
    const iterator = fromReadable(input, { format: 'csv', signal: controller.signal })[
      Symbol.asyncIterator
    ]();
    const pending = iterator.next();
    await settle();
    const reason = new Error('cancelled by user');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(input.destroyed).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('destroys the stream when the consumer breaks early', async () => {
    const input = Readable.from(['{"q":1}\n{"q":2}\n{"q":3}\n']);
    for await (const item of fromReadable(input, { format: 'ndjson' })) if (item.seq === 0) break;
    expect(input.destroyed).toBe(true);
  });

  it('requires a format and a byte stream', async () => {
    expect(() => fromReadable(Readable.from([]), {} as { format: 'csv' })).toThrow(/Expected `format`/);
    expect(() => fromReadable({} as Readable, { format: 'csv' })).toThrow(
      'Expected `readable` to be a Node Readable stream, got `{}` (object)',
    );
    const objects = Readable.from([{ q: 1 }]);
    const error = await collect(fromReadable(objects, { format: 'ndjson' })).catch((e) => e);
    expect(error.code).toBe('ERR_SOURCE_READ');
    expect(error.message).toMatch(/object mode/);
  });
});
