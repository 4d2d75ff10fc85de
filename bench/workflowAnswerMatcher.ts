import { fnv1a32 } from '../src/emulator/canonicalJson.js';
import { FILLER_TEXT, recordId } from './workload.js';

/**
 * A cheap exact test of a workflow answer for bench record `seq`: true only when `outputs` is exactly the
 * emulator's `{ result, checksum }` for that record's inputs (any key order, no extra keys). It builds the
 * record's canonical inputs as one string (the text is the same for every record) instead of an object
 * canonicalised per result, so the checker costs every Node contender about a microsecond per result
 * rather than the several it cost when it sat at the top of their profiles. A `false` is not a verdict:
 * {@link OutputChecker} then compares against `emulatedOutputs` itself, so the two can never disagree.
 */
export function workflowAnswerMatcher(payloadBytes: number): (seq: number, outputs: unknown) => boolean {
  // canonicalInputs({ id, text }): keys sorted, compact — `{"id":"i<seq>","text":"…"}`.
  const textTail = `,"text":${JSON.stringify(FILLER_TEXT.slice(0, payloadBytes))}}`;
  return (seq, outputs) => {
    if (typeof outputs !== 'object' || outputs === null) return false;
    const { result, checksum } = outputs as { result?: unknown; checksum?: unknown };
    if (typeof result !== 'string' || typeof checksum !== 'string') return false;
    let keys = 0;
    for (const _ in outputs) keys++;
    if (keys !== 2) return false;
    const canonical = `{"id":${JSON.stringify(recordId(seq))}${textTail}`;
    return result === `Processed ${canonical}` && checksum === fnv1a32(canonical);
  };
}
