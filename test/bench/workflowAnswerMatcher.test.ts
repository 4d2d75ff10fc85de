import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { workflowAnswerMatcher } from '../../bench/workflowAnswerMatcher.js';
import { makeRecord } from '../../bench/workload.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';

const answer = (seq: number, payloadBytes: number) =>
  emulatedOutputs('workflow', makeRecord(seq, payloadBytes).inputs);

describe('workflowAnswerMatcher', () => {
  it("accepts exactly the emulator's answer for the record, in any key order", () => {
    fc.assert(
      // Up to the filler's 5,120 characters: a longer payload is the same text.
      fc.property(fc.nat(10_000_000), fc.integer({ min: 0, max: 5000 }), (seq, payloadBytes) => {
        const matches = workflowAnswerMatcher(payloadBytes);
        const { result, checksum } = answer(seq, payloadBytes) as { result: string; checksum: string };
        // Through JSON, as every contender's result arrives.
        expect(matches(seq, JSON.parse(JSON.stringify({ result, checksum })))).toBe(true);
        expect(matches(seq, { checksum, result })).toBe(true);
      }),
    );
  });

  it("rejects a neighbour's answer, another payload's, a changed field, an extra key or a non-object", () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.integer({ min: 1, max: 5000 }), (seq, payloadBytes) => {
        const matches = workflowAnswerMatcher(payloadBytes);
        const right = answer(seq, payloadBytes) as { result: string; checksum: string };
        expect(matches(seq, answer(seq + 1, payloadBytes))).toBe(false);
        expect(matches(seq, answer(seq, payloadBytes - 1))).toBe(false);
        expect(matches(seq, { ...right, checksum: '00000000' })).toBe(false);
        expect(matches(seq, { ...right, result: `${right.result} ` })).toBe(false);
        expect(matches(seq, { ...right, extra: 1 })).toBe(false);
        expect(matches(seq, { result: right.result })).toBe(false);
        expect(matches(seq, null)).toBe(false);
        expect(matches(seq, right.result)).toBe(false);
      }),
    );
  });
});
