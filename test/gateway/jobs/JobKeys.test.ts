import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobKeys, ownerOf } from '../../../src/gateway/jobs/JobKeys.js';

describe('JobKeys', () => {
  it('JobKeys - opens what it sealed, and nothing sealed with another secret or tampered with', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (key, secret) => {
        const keys = new JobKeys(secret);
        const sealed = keys.seal(key);
        expect(keys.open(sealed)).toBe(key);
        expect(new JobKeys(`${secret}x`).open(sealed)).toBeUndefined();
        const data = Buffer.from(sealed.data, 'base64');
        data[0]! ^= 1;
        expect(keys.open({ ...sealed, data: data.toString('base64') })).toBeUndefined();
      }),
    );
  });

  it('ownerOf - the same key is the same owner; two keys are two owners', () => {
    expect(ownerOf('app-a')).toBe(ownerOf('app-a'));
    expect(ownerOf('app-a')).not.toBe(ownerOf('app-b'));
    expect(ownerOf('app-a')).toMatch(/^[0-9a-f]{64}$/);
  });
});
