import { Writable } from 'node:stream';
import type { ItemResult } from '../../src/core/ItemResult.js';

/** A Writable with highWaterMark 1 whose writes complete only when the test calls `release()`. */
export class SlowWritable extends Writable {
  readonly chunks: string[] = [];
  private readonly pending: (() => void)[] = [];
  constructor() {
    super({ highWaterMark: 1, decodeStrings: false });
  }
  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending.push(() => {
      this.chunks.push(String(chunk));
      callback();
    });
  }
  get waiting(): number {
    return this.pending.length;
  }
  release(): void {
    this.pending.shift()?.();
  }
}

/** Collects everything written, synchronously. */
export class MemoryWritable extends Writable {
  text = '';
  override _write(chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    this.text += String(chunk);
    callback();
  }
}

export function success(seq: number, outputs: Record<string, unknown> = { answer: `a${seq}` }): ItemResult {
  return {
    seq,
    id: `r${seq}`,
    ok: true,
    outputs,
    attempts: 1,
    latencyMs: 10 + seq,
    workflowRunId: `w${seq}`,
  };
}

export function failure(seq: number, message = `boom ${seq}`): ItemResult {
  return {
    seq,
    id: `r${seq}`,
    ok: false,
    error: { code: 'ERR_DIFY_HTTP', message, status: 500, retryable: true },
    attempts: 3,
    latencyMs: 99,
  };
}

/** The row a result becomes in a CSV result file, as fromFile reads it back (all strings). */
export function csvRowOf(r: ItemResult): Record<string, string> {
  return {
    seq: String(r.seq),
    id: r.id,
    ok: String(r.ok),
    attempts: String(r.attempts),
    latencyMs: String(r.latencyMs),
    outputs: r.ok ? JSON.stringify(r.outputs) : '',
    error_code: r.ok ? '' : r.error.code,
    error_message: r.ok ? '' : r.error.message,
  };
}
