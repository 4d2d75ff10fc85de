import { InvalidOptionError } from '../core/InvalidOptionError.js';
import { EMULATOR_DEFAULTS, type EmulatorOptions, type FaultRates } from './EmulatorOptions.js';

/** Options with every default applied and every value checked. */
export type ResolvedEmulatorOptions = Readonly<Required<EmulatorOptions>>;

const APP_MODES = new Set(['workflow', 'completion', 'chat']);
const APP_STATUSES = new Set(['normal', 'deleted', 'abnormal', 'api-disabled', 'workspace-archived']);
const FAULT_RATE_KEYS: readonly (keyof FaultRates)[] = [
  'rate429',
  'rate500',
  'rate502Html',
  'rateReset',
  'rateStall',
  'rateDrop',
  'rateErrorEvent',
  'rateRunFailed',
];

function check(ok: boolean, option: string, expected: string, value: unknown): void {
  if (!ok) throw new InvalidOptionError(option, expected, value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isNonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * Applies {@link EMULATOR_DEFAULTS} under `options` (or under `base`, for a runtime patch) and checks
 * every value.
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the first bad option
 */
export function resolveEmulatorOptions(
  options: Partial<EmulatorOptions> = {},
  base: ResolvedEmulatorOptions = EMULATOR_DEFAULTS,
): ResolvedEmulatorOptions {
  const o: Required<EmulatorOptions> = { ...base };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (o as Record<string, unknown>)[key] = value;
  }
  check(isCount(o.port) && o.port <= 65535, 'port', 'an integer from 0 to 65535', o.port);
  check(typeof o.host === 'string' && o.host.length > 0, 'host', 'a non-empty string', o.host);
  checkApps(o.apps);
  check(isNonNegative(o.uploadLatencyMs), 'uploadLatencyMs', 'a number ≥ 0', o.uploadLatencyMs);
  check(
    typeof o.uploadFaults === 'object' && o.uploadFaults !== null,
    'uploadFaults',
    'an object of { kind, times } by file name',
    o.uploadFaults,
  );
  checkLatency(o.latency);
  check(isCount(o.maxActiveRequests), 'maxActiveRequests', 'an integer ≥ 0', o.maxActiveRequests);
  check(
    o.concurrencyLimitStatus === 400 || o.concurrencyLimitStatus === 429,
    'concurrencyLimitStatus',
    '400 or 429',
    o.concurrencyLimitStatus,
  );
  check(isNonNegative(o.rateLimitRps), 'rateLimitRps', 'a finite number ≥ 0', o.rateLimitRps);
  check(
    typeof o.rateLimitRetryAfter === 'boolean',
    'rateLimitRetryAfter',
    'a boolean',
    o.rateLimitRetryAfter,
  );
  for (const key of ['rateLimitStartsFull', 'answerAsync'] as const)
    check(typeof o[key] === 'boolean', key, 'a boolean', o[key]);
  checkFaults(o.faults);
  check(
    o.faultsPerInputMax === Number.POSITIVE_INFINITY || isCount(o.faultsPerInputMax),
    'faultsPerInputMax',
    'an integer ≥ 0 or Infinity',
    o.faultsPerInputMax,
  );
  check(typeof o.countBy === 'string' && o.countBy.length > 0, 'countBy', 'a non-empty string', o.countBy);
  check(typeof o.trackCallsPerInput === 'boolean', 'trackCallsPerInput', 'a boolean', o.trackCallsPerInput);
  check(Number.isSafeInteger(o.seed), 'seed', 'an integer', o.seed);
  check(
    isCount(o.faultRetryAfterSeconds),
    'faultRetryAfterSeconds',
    'an integer ≥ 0',
    o.faultRetryAfterSeconds,
  );
  check(isCount(o.maxStoredRuns), 'maxStoredRuns', 'an integer ≥ 0', o.maxStoredRuns);
  check(
    o.difyVersion === '1.13' || o.difyVersion === '1.15',
    'difyVersion',
    "'1.13' or '1.15'",
    o.difyVersion,
  );
  return Object.freeze(o);
}

function checkApps(apps: EmulatorOptions['apps']): void {
  check(Array.isArray(apps) && apps.length > 0, 'apps', 'a non-empty array', apps);
  const keys = new Set<string>();
  (apps ?? []).forEach((app, i) => {
    const at = `apps[${i}]`;
    check(typeof app === 'object' && app !== null, at, 'an object', app);
    check(
      typeof app.key === 'string' && /^\S+$/.test(app.key),
      `${at}.key`,
      'a string without spaces',
      app.key,
    );
    check(!keys.has(app.key), `${at}.key`, 'unique', app.key);
    keys.add(app.key);
    check(APP_MODES.has(app.mode), `${at}.mode`, "'workflow', 'completion' or 'chat'", app.mode);
    for (const field of ['id', 'name', 'workflowId'] as const) {
      const value = app[field];
      check(value === undefined || typeof value === 'string', `${at}.${field}`, 'a string', value);
    }
    check(
      app.requiredInputs === undefined ||
        (Array.isArray(app.requiredInputs) && app.requiredInputs.every((n) => typeof n === 'string')),
      `${at}.requiredInputs`,
      'an array of strings',
      app.requiredInputs,
    );
    check(
      app.fileInputs === undefined ||
        (Array.isArray(app.fileInputs) &&
          app.fileInputs.every(
            (f) => typeof f?.variable === 'string' && (f.type === 'file' || f.type === 'file-list'),
          )),
      `${at}.fileInputs`,
      "an array of { variable, type: 'file' | 'file-list' }",
      app.fileInputs,
    );
    check(
      app.inputForm === undefined ||
        (Array.isArray(app.inputForm) &&
          app.inputForm.every(
            (f) =>
              typeof f === 'object' &&
              f !== null &&
              typeof f.type === 'string' &&
              typeof f.variable === 'string' &&
              typeof f.required === 'boolean',
          )),
      `${at}.inputForm`,
      'an array of { type, variable, required, maxLength?, options? }',
      app.inputForm,
    );
    check(
      app.status === undefined || APP_STATUSES.has(app.status),
      `${at}.status`,
      'an app status',
      app.status,
    );
  });
}

function checkLatency(latency: EmulatorOptions['latency']): void {
  const ok =
    typeof latency === 'object' &&
    latency !== null &&
    ((latency.kind === 'fixed' && isNonNegative(latency.ms)) ||
      (latency.kind === 'uniform' &&
        isNonNegative(latency.minMs) &&
        isNonNegative(latency.maxMs) &&
        latency.minMs <= latency.maxMs) ||
      (latency.kind === 'lognormal' &&
        isNonNegative(latency.p50Ms) &&
        latency.p50Ms > 0 &&
        isNonNegative(latency.p99Ms) &&
        latency.p50Ms <= latency.p99Ms));
  check(
    ok,
    'latency',
    "{ kind: 'fixed', ms ≥ 0 }, { kind: 'uniform', 0 ≤ minMs ≤ maxMs } or { kind: 'lognormal', 0 < p50Ms ≤ p99Ms }",
    latency,
  );
}

function checkFaults(faults: FaultRates): void {
  check(typeof faults === 'object' && faults !== null, 'faults', 'an object of rates', faults);
  let sum = 0;
  for (const key of FAULT_RATE_KEYS) {
    const rate = faults[key] ?? 0;
    check(isNonNegative(rate) && rate <= 1, `faults.${key}`, 'a number from 0 to 1', rate);
    sum += rate;
  }
  check(sum <= 1 + 1e-9, 'faults', 'rates that add up to at most 1 (one fault per call)', faults);
}
