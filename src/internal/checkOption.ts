import { InvalidOptionError } from '../core/InvalidOptionError.js';

/**
 * The option checks: every factory, constructor and `start*` function validates its options with
 * these, before it opens a file, a socket or a pool, so a bad option fails before anything is read
 * or sent. Each throws {@link InvalidOptionError}, whose one wording quotes the value and its type
 * (p-map style): ``Expected `name` to be <expected>, got `value` (type)``. The typed checks return
 * the value, narrowed, so a check can sit where the value is used.
 */

/** The general form, for a rule the typed checks below do not cover: throws unless `isValid`. */
export function checkOption(
  isValid: boolean,
  name: string,
  expected: string,
  value: unknown,
): asserts isValid {
  if (!isValid) throw new InvalidOptionError(name, expected, value);
}

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

/** An integer from `min` to `max`, both included (a port: `checkIntegerIn('port', v, 0, 65_535)`). */
export function checkIntegerIn(name: string, value: unknown, min: number, max: number): number {
  checkOption(
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max,
    name,
    `an integer from ${min} to ${max}`,
    value,
  );
  return value as number;
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
export function checkSignal(value: unknown, name = 'signal'): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new InvalidOptionError(name, 'an AbortSignal or undefined', value);
}

/** A SchedulerLike (`now()` and `schedule()`). */
export function checkScheduler<S>(value: S): S {
  const candidate = value as { now?: unknown; schedule?: unknown } | null | undefined;
  if (typeof candidate?.now === 'function' && typeof candidate.schedule === 'function') return value;
  throw new InvalidOptionError('scheduler', 'a SchedulerLike with now() and schedule()', value);
}

/** `true` or `false`. */
export function checkBoolean(name: string, value: unknown): boolean {
  checkOption(typeof value === 'boolean', name, 'a boolean', value);
  return value as boolean;
}

/** A non-empty string. */
export function checkString(name: string, value: unknown): string {
  checkOption(typeof value === 'string' && value !== '', name, 'a non-empty string', value);
  return value as string;
}

/** A non-null object (not an array). */
export function checkObject<T extends object>(name: string, value: T): T {
  checkOption(typeof value === 'object' && value !== null && !Array.isArray(value), name, 'an object', value);
  return value;
}

/** One of `choices` (compared with `===`). */
export function checkOneOf<const T>(name: string, value: unknown, choices: readonly T[]): T {
  const listed = choices.map((c) => (typeof c === 'string' ? `'${c}'` : String(c))).join(', ');
  checkOption(choices.includes(value as T), name, `one of ${listed}`, value);
  return value as T;
}

/**
 * An absolute http: or https: URL. The rejected text is quoted with any user:password cut out: a URL
 * may carry a secret.
 * @param allowCredentials - accept user:password in the URL (basic auth for fromHttp/toHttp); off where
 *   the key travels separately (DifyClient, the gateway). Default false.
 * @param example - shown after "an http(s) URL", e.g. `'such as http://127.0.0.1:5001/v1'`
 */
export function checkHttpUrl(
  name: string,
  value: unknown,
  { allowCredentials = false, example }: { allowCredentials?: boolean; example?: string } = {},
): URL {
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
  const shown = typeof value === 'string' ? value.replace(/\/\/[^/@]*@/, '//') : value;
  checkOption(
    url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:'),
    name,
    example === undefined ? 'an http(s) URL' : `an http(s) URL ${example}`,
    shown,
  );
  const hasCredentials = url!.username !== '' || url!.password !== '';
  checkOption(allowCredentials || !hasCredentials, name, 'a URL without credentials', shown);
  return url!;
}
