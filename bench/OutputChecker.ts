import type { CheckReport } from './protocol.js';

const MAX_PROBLEMS = 5;

/** JSON with object keys sorted: Benthos re-serialises bodies with sorted keys, Node keeps their order. */
function canonicalJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}

/**
 * Checks a contender's output as it arrives, in fixed memory (one byte per input): exactly one result per
 * input, each equal to the expected outputs for its input, and — when the contender claims order — in
 * input order. Every contender feeds the same checker, so its cost is the same for all.
 */
export class OutputChecker {
  readonly #seen: Uint8Array;
  readonly #expected: (seq: number) => unknown;
  readonly #matches: ((seq: number, outputs: unknown) => boolean) | undefined;
  readonly #ordered: boolean;
  #received = 0;
  #succeeded = 0;
  #failed = 0;
  #duplicates = 0;
  #mismatches = 0;
  #orderViolations = 0;
  #lastSeq = -1;
  readonly #problems: string[] = [];

  /**
   * @param count - number of inputs (seq 0 … count-1)
   * @param expected - the outputs the input `seq` must produce
   * @param ordered - whether results must arrive in increasing `seq`
   * @param matches - optional cheap exact test (the echo of the overhead scenario, the workflow answer of
   *   the HTTP ones: bench/workflowAnswerMatcher.ts), so the check does not weigh on a run that measures
   *   microseconds per item; when it says false the full comparison with `expected` decides
   */
  constructor(
    count: number,
    expected: (seq: number) => unknown,
    ordered: boolean,
    matches?: (seq: number, outputs: unknown) => boolean,
  ) {
    this.#seen = new Uint8Array(count);
    this.#expected = expected;
    this.#ordered = ordered;
    this.#matches = matches;
  }

  get received(): number {
    return this.#received;
  }

  /** A successful result for input `seq` with these outputs. */
  ok(seq: number, outputs: unknown): void {
    if (!this.#accept(seq)) return;
    if (this.#matches?.(seq, outputs) === true || this.#equalsExpected(seq, outputs)) {
      this.#succeeded++;
    } else {
      this.#mismatches++;
      this.#problem(
        `seq ${seq}: outputs ${JSON.stringify(outputs)?.slice(0, 120)} differ from the expected ones`,
      );
    }
  }

  #equalsExpected(seq: number, outputs: unknown): boolean {
    const expected = this.#expected(seq);
    // Fast path first: Node-side results keep the emulator's key order.
    return (
      JSON.stringify(outputs) === JSON.stringify(expected) ||
      canonicalJson(outputs) === canonicalJson(expected)
    );
  }

  /** A failed result for input `seq`. */
  fail(seq: number, message: string): void {
    if (!this.#accept(seq)) return;
    this.#failed++;
    this.#problem(`seq ${seq} failed: ${message.slice(0, 160)}`);
  }

  #accept(seq: number): boolean {
    this.#received++;
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.#seen.length) {
      this.#mismatches++;
      this.#problem(`result for unknown input seq ${seq}`);
      return false;
    }
    if (this.#seen[seq] !== 0) {
      this.#duplicates++;
      this.#problem(`duplicate result for seq ${seq}`);
      return false;
    }
    this.#seen[seq] = 1;
    if (this.#ordered) {
      if (seq < this.#lastSeq) {
        this.#orderViolations++;
        this.#problem(`seq ${seq} arrived after seq ${this.#lastSeq}`);
      }
      this.#lastSeq = Math.max(this.#lastSeq, seq);
    }
    return true;
  }

  #problem(text: string): void {
    if (this.#problems.length < MAX_PROBLEMS) this.#problems.push(text);
  }

  report(): CheckReport {
    let missing = 0;
    for (const flag of this.#seen) if (flag === 0) missing++;
    if (missing > 0 && this.#problems.length < MAX_PROBLEMS) {
      this.#problems.push(`${missing} input(s) without a result (first: seq ${this.#seen.indexOf(0)})`);
    }
    const valid =
      missing === 0 &&
      this.#failed === 0 &&
      this.#duplicates === 0 &&
      this.#mismatches === 0 &&
      this.#orderViolations === 0;
    return {
      expected: this.#seen.length,
      received: this.#received,
      succeeded: this.#succeeded,
      failed: this.#failed,
      missing,
      duplicates: this.#duplicates,
      mismatches: this.#mismatches,
      orderViolations: this.#orderViolations,
      problems: [...this.#problems],
      valid,
    };
  }
}
