import { InvalidOptionError } from '../core/InvalidOptionError.js';

/**
 * Option checks shared by every operator factory (batch, callDify, creditGate, rateLimit's
 * TokenBucket, reorder, retryBackoff). They run when the factory is called, so a bad option
 * fails before anything is read or sent, with a message that quotes the value (p-map style).
 */

/** An integer ≥ `min`, or `Infinity` when `allowInfinity`. */
export function checkInteger(name: string, value: unknown, min: number, allowInfinity = false): number {
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    throw new InvalidOptionError(
      name,
      `an integer from ${min} and up${allowInfinity ? ' or `Infinity`' : ''}`,
      value,
    );
  }
  return value;
}

/** A number ≥ `min` (finite unless `allowInfinity`), or > `min` when `exclusive`. */
export function checkNumber(
  name: string,
  value: unknown,
  min: number,
  { allowInfinity = false, exclusive = false }: { allowInfinity?: boolean; exclusive?: boolean } = {},
): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (exclusive ? value > min : value >= min) &&
    (allowInfinity || Number.isFinite(value));
  if (!ok) {
    const bound = exclusive ? `greater than ${min}` : `${min} or more`;
    throw new InvalidOptionError(name, `a${allowInfinity ? '' : ' finite'} number ${bound}`, value);
  }
  return value;
}

/** A function, or `undefined` when `optional`. */
export function checkFunction<F>(name: string, value: F, optional = false): F {
  if (typeof value === 'function' || (optional && value === undefined)) return value;
  throw new InvalidOptionError(name, optional ? 'a function or undefined' : 'a function', value);
}

/** An AbortSignal or undefined. */
export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new InvalidOptionError('signal', 'an AbortSignal or undefined', value);
}

/** A SchedulerLike (`now()` and `schedule()`). */
export function checkScheduler<S>(value: S): S {
  const candidate = value as { now?: unknown; schedule?: unknown } | null | undefined;
  if (typeof candidate?.now === 'function' && typeof candidate.schedule === 'function') return value;
  throw new InvalidOptionError('scheduler', 'a SchedulerLike with now() and schedule()', value);
}
