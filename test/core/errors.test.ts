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
  it('brand check works on objects from another copy of the class', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('dify-batch.error')]: true });
    expect(foreign instanceof DifyBatchError).toBe(true);
    expect(new Error('y') instanceof DifyBatchError).toBe(false);
  });
  it('toErrorRecord wraps non-errors as ERR_INTERNAL', () => {
    expect(toErrorRecord('boom')).toEqual({ code: 'ERR_INTERNAL', message: 'boom', retryable: false });
  });
});
