import { describe, expect, it } from 'vitest';
import { DifyApiError } from '../../src/core/DifyApiError.js';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import { InvalidOptionError } from '../../src/core/InvalidOptionError.js';
import { redactSecrets } from '../../src/core/redactSecrets.js';
import { toErrorRecord } from '../../src/core/toErrorRecord.js';

describe('redactSecrets', () => {
  it('removes app keys and bearer tokens', () => {
    const text = 'Authorization: Bearer app-abcdefghijklmnopqrstuvwx failed for app-abcdefghijklmnopqrstuvwx';
    const out = redactSecrets(text);
    expect(out).not.toContain('abcdefghijklmnopqrstuvwx');
    expect(out).toContain('Bearer [REDACTED]');
  });
  it('leaves ordinary text alone', () => {
    expect(redactSecrets('a happy message about apps')).toBe('a happy message about apps');
  });
});

describe('errors', () => {
  it('InvalidOptionError quotes the value and its type', () => {
    const e = new InvalidOptionError('concurrency', 'an integer ≥ 1', 0);
    expect(e.message).toBe('Expected `concurrency` to be an integer ≥ 1, got `0` (number)');
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e).toBeInstanceOf(DifyBatchError);
  });
  it('DifyApiError redacts its message and serialises without secrets', () => {
    const e = new DifyApiError({
      code: 'ERR_DIFY_HTTP',
      message: 'bad key app-abcdefghijklmnopqrstuvwx',
      status: 401,
      difyCode: 'unauthorized',
      retryable: false,
    });
    expect(JSON.stringify(e)).not.toContain('abcdefghijklmnopqrstuvwx');
    expect(toErrorRecord(e)).toEqual({
      code: 'ERR_DIFY_HTTP',
      message: 'bad key [REDACTED]',
      status: 401,
      difyCode: 'unauthorized',
      retryable: false,
    });
  });
  it('brand check works on objects from another copy of each class', () => {
    const foreign = (name: string) =>
      Object.assign(new Error('x'), { [Symbol.for(`dify-batch.${name}`)]: true });
    expect(foreign('DifyBatchError') instanceof DifyBatchError).toBe(true);
    expect(foreign('DifyApiError') instanceof DifyApiError).toBe(true);
    expect(foreign('InvalidOptionError') instanceof InvalidOptionError).toBe(true);
    expect(foreign('DifyBatchError') instanceof DifyApiError).toBe(false);
    expect(new Error('y') instanceof DifyBatchError).toBe(false);
  });
  it('instanceof tells DifyApiError, InvalidOptionError and DifyBatchError apart', () => {
    const base = new DifyBatchError('ERR_SINK_WRITE', 'disk full');
    const api = new DifyApiError({ code: 'ERR_DIFY_HTTP', message: 'HTTP 500', retryable: true });
    const option = new InvalidOptionError('concurrency', 'an integer ≥ 1', 0);
    expect([base, api, option].map((e) => e instanceof DifyBatchError)).toEqual([true, true, true]);
    expect([base, api, option].map((e) => e instanceof DifyApiError)).toEqual([false, true, false]);
    expect([base, api, option].map((e) => e instanceof InvalidOptionError)).toEqual([false, false, true]);
    expect([base, api, option].map((e) => e instanceof Error)).toEqual([true, true, true]);
  });
  it('classes derived outside the library get the ordinary prototype check', () => {
    class MyApiError extends DifyApiError {}
    class MyError extends DifyBatchError {}
    const mine = new MyApiError({ code: 'ERR_DIFY_HTTP', message: 'x', retryable: false });
    const plain = new DifyApiError({ code: 'ERR_DIFY_HTTP', message: 'x', retryable: false });
    expect(mine instanceof MyApiError).toBe(true);
    expect(mine instanceof DifyApiError).toBe(true);
    expect(mine instanceof DifyBatchError).toBe(true);
    expect(plain instanceof MyApiError).toBe(false);
    expect(new MyError('ERR_INTERNAL', 'x') instanceof MyError).toBe(true);
    expect(new DifyBatchError('ERR_INTERNAL', 'x') instanceof MyError).toBe(false);
    expect(new MyError('ERR_INTERNAL', 'x') instanceof DifyApiError).toBe(false);
  });
  it('toErrorRecord wraps non-errors as ERR_INTERNAL', () => {
    expect(toErrorRecord('boom')).toEqual({ code: 'ERR_INTERNAL', message: 'boom', retryable: false });
  });
});
