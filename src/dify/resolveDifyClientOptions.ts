import type { Dispatcher } from 'undici';
import { checkHttpUrl, checkInteger, checkObject, checkOption } from '../internal/checkOption.js';
import type { DifyClientOptions, DifyClientTimeouts } from './DifyClient.js';

/** {@link DifyClientOptions} checked, with every default applied. */
export interface ResolvedDifyClientOptions {
  readonly url: URL;
  readonly apiKey: string;
  readonly connections: number;
  readonly timeouts: Required<DifyClientTimeouts>;
  readonly maxResponseBytes: number;
  readonly dispatcher: Dispatcher | undefined;
  readonly headers: DifyClientOptions['headers'];
}

interface Defaults {
  readonly connections: number;
  readonly maxResponseBytes: number;
  readonly timeouts: Required<DifyClientTimeouts>;
}

const TIMEOUT_NAMES = ['connectMs', 'firstByteMs', 'idleMs', 'totalMs'] as const;

/**
 * Validates {@link DifyClientOptions} and merges them over the defaults (the one place that does).
 * @throws InvalidOptionError naming the option; the API key itself is never quoted.
 */
export function resolveDifyClientOptions(
  options: DifyClientOptions,
  defaults: Defaults,
): ResolvedDifyClientOptions {
  checkObject('options', options);
  const url = parseBaseUrl(options.baseUrl);
  const { apiKey } = options;
  checkOption(
    typeof apiKey === 'string' && /^[\x21-\x7e]+$/.test(apiKey),
    'apiKey',
    'a non-empty string of visible ASCII characters',
    hidden(apiKey),
  );
  if (options.timeouts !== undefined) checkObject('timeouts', options.timeouts);
  const merged = { ...defaults, ...definedOnly(options) };
  const given = definedOnly(options.timeouts ?? {});
  const timeouts = { ...defaults.timeouts, ...given };
  // A total deadline bounds every phase: unset phase deadlines never outlast it.
  if (Number.isInteger(timeouts.totalMs) && timeouts.totalMs > 0) {
    if (given.firstByteMs === undefined)
      timeouts.firstByteMs = Math.min(defaults.timeouts.firstByteMs, timeouts.totalMs);
    if (given.idleMs === undefined) timeouts.idleMs = Math.min(defaults.timeouts.idleMs, timeouts.totalMs);
  }
  checkInteger('connections', merged.connections, 1);
  checkInteger('maxResponseBytes', merged.maxResponseBytes, 1);
  // 0 disables a deadline.
  for (const name of TIMEOUT_NAMES) checkInteger(`timeouts.${name}`, timeouts[name], 0);
  const { dispatcher } = options;
  checkOption(
    dispatcher === undefined || typeof (dispatcher as Partial<Dispatcher>)?.request === 'function',
    'dispatcher',
    'an undici Dispatcher (Pool, Agent, …)',
    typeof dispatcher,
  );
  // Quotes only the type: a headers object may hold a key.
  const { headers } = options;
  checkOption(
    headers === undefined || typeof headers === 'function',
    'headers',
    'a function or undefined',
    typeof headers,
  );
  return {
    url,
    apiKey,
    connections: merged.connections,
    timeouts,
    maxResponseBytes: merged.maxResponseBytes,
    dispatcher,
    headers,
  };
}

function parseBaseUrl(value: unknown): URL {
  const example = 'ending in the API prefix, such as `https://api.dify.ai/v1`';
  const url = checkHttpUrl('baseUrl', value, { example });
  checkOption(url.search === '' && url.hash === '', 'baseUrl', `an http(s) URL ${example}`, value);
  return url;
}

/** A stand-in for a secret in an error message: its type and length, never its text. */
function hidden(value: unknown): unknown {
  if (typeof value === 'string') return `[hidden, ${value.length} characters]`;
  return value === undefined || value === null ? value : `[hidden ${typeof value}]`;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
