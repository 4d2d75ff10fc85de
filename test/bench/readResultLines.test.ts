import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputChecker } from '../../bench/OutputChecker.js';
import { readResultLines } from '../../bench/readResultLines.js';

describe('readResultLines', () => {
  it('feeds piped results to the checker, skips log lines and picks up t0/t1 and the report', async () => {
    const lines = [
      'level=warn msg="a Benthos log line"',
      JSON.stringify({ id: 'i0', response: { data: { outputs: { n: 0 } } }, t0: 5, t1: 9 }),
      JSON.stringify({ id: 'i1', outputs: { n: 1 }, t0: 3, t1: 7 }),
      JSON.stringify({ id: 'i2', error: 'HTTPStatusError: 500' }),
      JSON.stringify({ _report: { wall_ms: 12 } }),
    ];
    const checker = new OutputChecker(3, (seq) => ({ n: seq }), true);
    const piped = await readResultLines(Readable.from(lines.map((l) => `${l}\n`)), checker);
    expect(piped).toEqual({ firstT0: 3, lastT1: 9, report: { wall_ms: 12 } });
    expect(checker.report()).toMatchObject({
      received: 3,
      succeeded: 2,
      failed: 1,
      missing: 0,
      valid: false,
    });
  });

  it('a wrong output or a missing result makes the check fail', async () => {
    const checker = new OutputChecker(2, (seq) => ({ n: seq }), false);
    await readResultLines(Readable.from([`${JSON.stringify({ id: 'i0', outputs: { n: 7 } })}\n`]), checker);
    expect(checker.report()).toMatchObject({ mismatches: 1, missing: 1, valid: false });
  });
});
