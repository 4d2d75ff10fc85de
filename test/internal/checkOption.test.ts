import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkBoolean,
  checkHttpUrl,
  checkInteger,
  checkIntegerIn,
  checkObject,
  checkOneOf,
  checkOption,
  checkSignal,
  checkString,
} from '../../src/internal/checkOption.js';

/** The one wording every check throws with. */
function wording(name: string, expected: string, shown: string): string {
  return `Expected \`${name}\` to be ${expected}, got ${shown}`;
}

describe('checkOption', () => {
  it('checkInteger accepts exactly the integers from min up, and names the option otherwise', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 5 }),
        fc.oneof(fc.integer(), fc.double(), fc.string()),
        (min, value) => {
          const valid = typeof value === 'number' && Number.isInteger(value) && value >= min;
          if (valid) expect(checkInteger('n', value, min)).toBe(value);
          else
            expect(() => checkInteger('n', value, min)).toThrow(
              `Expected \`n\` to be an integer from ${min} and up`,
            );
        },
      ),
    );
    expect(checkInteger('c', Number.POSITIVE_INFINITY, 1, true)).toBe(Number.POSITIVE_INFINITY);
  });

  it('checkIntegerIn bounds both ends', () => {
    expect(checkIntegerIn('port', 0, 0, 65_535)).toBe(0);
    expect(() => checkIntegerIn('port', 65_536, 0, 65_535)).toThrow(
      wording('port', 'an integer from 0 to 65535', '`65536` (number)'),
    );
  });

  it('checkBoolean, checkString, checkObject and checkOneOf quote what they got', () => {
    expect(() => checkBoolean('ordered', 'yes')).toThrow(wording('ordered', 'a boolean', '`"yes"` (string)'));
    expect(() => checkString('path', '')).toThrow(wording('path', 'a non-empty string', '`""` (string)'));
    expect(() => checkObject('files', null as unknown as object)).toThrow(
      wording('files', 'an object', '`null` (null)'),
    );
    expect(() => checkObject('files', [] as object)).toThrow(/`files`/);
    expect(checkOneOf('app', 'chat', ['workflow', 'chat'])).toBe('chat');
    expect(() => checkOneOf('status', 500, [400, 429])).toThrow(
      wording('status', 'one of 400, 429', '`500` (number)'),
    );
    expect(() => checkOption(false, 'x', 'fine', 1)).toThrow(wording('x', 'fine', '`1` (number)'));
  });

  it('checkSignal takes the option name it checks', () => {
    expect(checkSignal(undefined)).toBeUndefined();
    expect(() => checkSignal(1, 'drainSignal')).toThrow(
      wording('drainSignal', 'an AbortSignal or undefined', '`1` (number)'),
    );
  });

  it('checkHttpUrl takes http(s) only and never quotes user:password', () => {
    expect(checkHttpUrl('url', 'https://example.com/v1').href).toBe('https://example.com/v1');
    expect(() => checkHttpUrl('url', 'ftp://example.com')).toThrow(
      wording('url', 'an http(s) URL', '`"ftp://example.com"` (string)'),
    );
    expect(() => checkHttpUrl('url', 'https://me:s3cret@example.com')).toThrow(
      wording('url', 'a URL without credentials', '`"https://example.com"` (string)'),
    );
    expect(checkHttpUrl('url', 'https://me:s3cret@example.com', { allowCredentials: true }).password).toBe(
      's3cret',
    );
    expect(() => checkHttpUrl('upstream', 'nope', { example: 'such as http://127.0.0.1:5001/v1' })).toThrow(
      'an http(s) URL such as http://127.0.0.1:5001/v1',
    );
  });
});
