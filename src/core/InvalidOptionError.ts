import { hasBrand } from '../internal/hasBrand.js';
import { DifyBatchError } from './DifyBatchError.js';

const kInvalidOptionError = Symbol.for('dify-batch.InvalidOptionError');

/**
 * A configuration mistake, found before anything runs. The message quotes the value and its type
 * (the p-map style) so the fix is obvious: ``Expected `concurrency` to be an integer from 1 and up, got `0` (number)``.
 * @category errors
 */
export class InvalidOptionError extends DifyBatchError {
  readonly option: string;

  constructor(option: string, expected: string, value: unknown) {
    super('ERR_INVALID_OPTION', `Expected \`${option}\` to be ${expected}, got ${describe(value)}`);
    this.name = 'InvalidOptionError';
    this.option = option;
  }

  static override [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` names, a subclass included.
    return hasBrand(this, InvalidOptionError, kInvalidOptionError, instance);
  }

  get [kInvalidOptionError](): true {
    return true;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`;
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return `\`${shown}\` (${value === null ? 'null' : typeof value})`;
}
