import { getEventListeners } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { toWritable } from '../../src/sinks/toWritable.js';
import { settle } from '../sources/fixtures.js';
import { failure, MemoryWritable, SlowWritable, success } from './fixtures.js';

describe('toWritable', () => {
  it('resolves write() only after the slow stream drains (highWaterMark 1)', async () => {
    const stream = new SlowWritable();
    const log: string[] = [];
    stream.on('drain', () => log.push('drain'));
    const sink = toWritable(stream);
    const written = sink.write([success(0), success(1)]).then(() => log.push('resolved'));
    await settle();
    expect(stream.writableNeedDrain).toBe(true);
    expect(log).toEqual([]);
    stream.release();
    await written;
    expect(log).toEqual(['drain', 'resolved']);
    expect(stream.chunks.join('').split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('keeps order and loses nothing when many writes are in flight on a slow stream', async () => {
    const stream = new SlowWritable();
    const sink = toWritable(stream);
    const writes = Array.from({ length: 40 }, (_, i) => sink.write([success(2 * i), failure(2 * i + 1)]));
    let settled = 0;
    for (const w of writes) void w.then(() => settled++);
    await settle();
    expect(settled).toBe(0);
    while (settled < writes.length) {
      stream.release();
      await settle(2);
    }
    await Promise.all(writes);
    const seqs = stream.chunks
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).seq);
    expect(seqs).toEqual(Array.from({ length: 80 }, (_, i) => i));
  });

  it('writes NDJSON with the leading keys in a fixed order', async () => {
    const stream = new MemoryWritable();
    const sink = toWritable(stream);
    await sink.write([
      { latencyMs: 5, attempts: 1, outputs: { x: 1 }, ok: true, id: 'b', seq: 3, taskId: 't' },
    ]);
    await sink.write([failure(4)]);
    await sink.close();
    expect(stream.text).toBe(
      '{"seq":3,"id":"b","ok":true,"outputs":{"x":1},"attempts":1,"latencyMs":5,"taskId":"t"}\n' +
        '{"seq":4,"id":"r4","ok":false,"error":{"code":"ERR_DIFY_HTTP","message":"boom 4","status":500,"retryable":true},"attempts":3,"latencyMs":99}\n',
    );
    expect(stream.writableEnded).toBe(false);
  });

  it('writes one valid JSON array across batches, and [] for an empty run', async () => {
    const results: ItemResult[] = [success(0), failure(1), success(2)];
    const stream = new MemoryWritable();
    const sink = toWritable(stream, { format: 'json' });
    await sink.write(results.slice(0, 2));
    await sink.write([]);
    await sink.write(results.slice(2));
    await sink.close();
    expect(JSON.parse(stream.text)).toEqual(results);
    const empty = new MemoryWritable();
    await toWritable(empty, { format: 'json' }).close();
    expect(JSON.parse(empty.text)).toEqual([]);
  });

  it('writes a CSV header even for an empty run', async () => {
    const stream = new MemoryWritable();
    await toWritable(stream, { format: 'csv' }).close();
    expect(stream.text).toBe('seq,id,ok,attempts,latencyMs,outputs,error_code,error_message\n');
  });

  it('ends the stream on close only with end: true, and waits for finish', async () => {
    const stream = new MemoryWritable();
    const sink = toWritable(stream, { end: true });
    await sink.write([success(0)]);
    await sink.close();
    expect(stream.writableFinished).toBe(true);
    await sink.close();
  });

  it('makes a stream error a fatal ERR_SINK_WRITE, repeated by every later call', async () => {
    const stream = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    const sink = toWritable(stream);
    const first = await sink.write([success(0)]).catch((e) => e);
    expect(first.code).toBe('ERR_SINK_WRITE');
    expect(first.message).toBe('cannot write the output stream: disk full');
    await expect(sink.write([success(1)])).rejects.toBe(first);
    await expect(sink.close()).rejects.toBe(first);
  });

  it('rejects a write after close', async () => {
    const sink = toWritable(new MemoryWritable());
    await sink.close();
    await expect(sink.write([success(0)])).rejects.toMatchObject({ code: 'ERR_SINK_WRITE' });
  });

  it('rejects a pending write with the abort reason; a borrowed stream is not destroyed', async () => {
    const stream = new SlowWritable();
    const controller = new AbortController();
    const sink = toWritable(stream, { signal: controller.signal });
    const pending = sink.write([success(0)]);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(sink.write([success(1)])).rejects.toBe(reason);
    expect(stream.destroyed).toBe(false);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('destroys an owned stream (end: true) on abort', async () => {
    const stream = new SlowWritable();
    const controller = new AbortController();
    const sink = toWritable(stream, { end: true, signal: controller.signal });
    const pending = sink.write([success(0)]);
    controller.abort();
    await expect(pending).rejects.toBe(controller.signal.reason);
    expect(stream.destroyed).toBe(true);
    await expect(sink.close()).rejects.toBe(controller.signal.reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('removes its listeners from the stream on close', async () => {
    const stream = new SlowWritable();
    const sink = toWritable(stream);
    const before = stream.listenerCount('error');
    const done = sink.write([success(0)]);
    stream.release();
    await done;
    await sink.close();
    expect(stream.listenerCount('error')).toBeLessThan(before);
    expect(stream.listenerCount('drain') + stream.listenerCount('close')).toBe(0);
  });

  it('rejects bad options synchronously', () => {
    expect(() => toWritable(new MemoryWritable(), { format: 'xml' as 'csv' })).toThrow(/Expected `format`/);
    expect(() => toWritable(new MemoryWritable(), { end: 'yes' as unknown as boolean })).toThrow(
      /Expected `end`/,
    );
    expect(() => toWritable({} as Writable)).toThrow(
      'Expected `writable` to be a Node Writable stream, got `{}` (object)',
    );
  });
});
