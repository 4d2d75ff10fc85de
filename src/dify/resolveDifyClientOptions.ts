import type { Dispatcher } from 'undici';
import { InvalidOptionError } from '../core/InvalidOptionError.js';
import type { DifyClientOptions, DifyClientTimeouts } from './DifyClient.js';
import { isObject } from './toDifyResult.js';

/** {@link DifyClientOptions} checked, with every default applied. */
export interface ResolvedDifyClientOptions {
  readonly url: URL;
  readonly apiKey: string;
  readonly connections: number;
  readonly timeouts: Required<DifyClientTimeouts>;
  readonly maxResponseBytes: number;
  readonly dispatcher: Dispatcher | undefined;
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
  if (!isObject(options)) throw new InvalidOptionError('options', 'an object', options);
  const url = parseBaseUrl(options.baseUrl);
  const apiKey: unknown = options.apiKey;
  if (typeof apiKey !== 'string' || !/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new InvalidOptionError('apiKey', 'a non-empty string of visible ASCII characters', hidden(apiKey));
  }
  if (options.timeouts !== undefined && !isObject(options.timeouts)) {
    throw new InvalidOptionError('timeouts', 'an object', options.timeouts);
  }
  const merged = { ...defaults, ...definedOnly(options) };
  const given = definedOnly(options.timeouts ?? {});
  const timeouts = { ...defaults.timeouts, ...given };
  // A total deadline bounds every phase: unset phase deadlines never outlast it.
  if (Number.isInteger(timeouts.totalMs) && timeouts.totalMs > 0) {
    if (given.firstByteMs === undefined)
      timeouts.firstByteMs = Math.min(defaults.timeouts.firstByteMs, timeouts.totalMs);
    if (given.idleMs === undefined) timeouts.idleMs = Math.min(defaults.timeouts.idleMs, timeouts.totalMs);
  }
  positiveInteger('connections', merged.connections);
  positiveInteger('maxResponseBytes', merged.maxResponseBytes);
  for (const name of TIMEOUT_NAMES) {
    const value = timeouts[name];
    if (!Number.isInteger(value) || value < 0) {
      throw new InvalidOptionError(`timeouts.${name}`, 'an integer ≥ 0 (0 disables it)', value);
    }
  }
  const { dispatcher } = options;
  if (dispatcher !== undefined && typeof (dispatcher as Partial<Dispatcher>)?.request !== 'function') {
    throw new InvalidOptionError('dispatcher', 'an undici Dispatcher (Pool, Agent, …)', typeof dispatcher);
  }
  return {
    url,
    apiKey,
    connections: merged.connections,
    timeouts,
    maxResponseBytes: merged.maxResponseBytes,
    dispatcher,
  };
}

function parseBaseUrl(value: unknown): URL {
  const expected = 'an http(s) URL ending in the API prefix, such as `https://api.dify.ai/v1`';
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url?.username || url?.password) {
    throw new InvalidOptionError(
      'baseUrl',
      'a URL without credentials (the key goes in `apiKey`)',
      '[hidden]',
    );
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new InvalidOptionError('baseUrl', expected, value);
  }
  return url;
}

function positiveInteger(option: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new InvalidOptionError(option, 'an integer ≥ 1', value);
  }
}

/** A stand-in for a secret in an error message: its type and length, never its text. */
function hidden(value: unknown): unknown {
  if (typeof value === 'string') return `[hidden, ${value.length} characters]`;
  return value === undefined || value === null ? value : `[hidden ${typeof value}]`;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
