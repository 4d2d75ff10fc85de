import type { InputFormField } from '../dify/checkInputsAgainstForm.js';
import {
  checkBoolean,
  checkInteger,
  checkIntegerIn,
  checkNumber,
  checkOneOf,
  checkOption,
  checkString,
} from '../internal/checkOption.js';
import {
  EMULATOR_DEFAULTS,
  type EmulatedFileInput,
  type EmulatorOptions,
  type FaultRates,
} from './EmulatorOptions.js';

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
  checkIntegerIn('port', o.port, 0, 65_535);
  checkString('host', o.host);
  checkApps(o.apps);
  checkNumber('uploadLatencyMs', o.uploadLatencyMs, 0);
  checkOption(
    typeof o.uploadFaults === 'object' && o.uploadFaults !== null,
    'uploadFaults',
    'an object of { kind, times } by file name',
    o.uploadFaults,
  );
  checkLatency(o.latency);
  checkInteger('maxActiveRequests', o.maxActiveRequests, 0);
  checkOneOf('concurrencyLimitStatus', o.concurrencyLimitStatus, [400, 429]);
  checkNumber('rateLimitRps', o.rateLimitRps, 0);
  for (const key of [
    'rateLimitRetryAfter',
    'rateLimitStartsFull',
    'answerAsync',
    'trackCallsPerInput',
  ] as const)
    checkBoolean(key, o[key]);
  checkFaults(o.faults);
  checkInteger('faultsPerInputMax', o.faultsPerInputMax, 0, true);
  checkString('countBy', o.countBy);
  checkIntegerIn('seed', o.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  checkInteger('faultRetryAfterSeconds', o.faultRetryAfterSeconds, 0);
  checkInteger('maxStoredRuns', o.maxStoredRuns, 0);
  checkOneOf('difyVersion', o.difyVersion, ['1.13', '1.15']);
  return Object.freeze(o);
}

function checkApps(apps: EmulatorOptions['apps']): void {
  checkOption(Array.isArray(apps) && apps.length > 0, 'apps', 'a non-empty array', apps);
  const keys = new Set<string>();
  (apps ?? []).forEach((app, i) => {
    const at = `apps[${i}]`;
    checkOption(typeof app === 'object' && app !== null, at, 'an object', app);
    checkOption(
      typeof app.key === 'string' && /^\S+$/.test(app.key),
      `${at}.key`,
      'a string without spaces',
      app.key,
    );
    checkOption(!keys.has(app.key), `${at}.key`, 'unique', app.key);
    keys.add(app.key);
    checkOption(APP_MODES.has(app.mode), `${at}.mode`, "'workflow', 'completion' or 'chat'", app.mode);
    for (const field of ['id', 'name', 'workflowId'] as const) {
      const value = app[field];
      checkOption(value === undefined || typeof value === 'string', `${at}.${field}`, 'a string', value);
    }
    checkOption(
      app.requiredInputs === undefined ||
        (Array.isArray(app.requiredInputs) &&
          app.requiredInputs.every((n: unknown) => typeof n === 'string')),
      `${at}.requiredInputs`,
      'an array of strings',
      app.requiredInputs,
    );
    checkOption(
      app.fileInputs === undefined ||
        (Array.isArray(app.fileInputs) &&
          app.fileInputs.every(
            (f: Partial<EmulatedFileInput> | undefined) =>
              typeof f?.variable === 'string' && (f.type === 'file' || f.type === 'file-list'),
          )),
      `${at}.fileInputs`,
      "an array of { variable, type: 'file' | 'file-list' }",
      app.fileInputs,
    );
    checkOption(
      app.inputForm === undefined ||
        (Array.isArray(app.inputForm) &&
          app.inputForm.every(
            (f: InputFormField | null) =>
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
    checkOption(
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
  checkOption(
    ok,
    'latency',
    "{ kind: 'fixed', ms ≥ 0 }, { kind: 'uniform', 0 ≤ minMs ≤ maxMs } or { kind: 'lognormal', 0 < p50Ms ≤ p99Ms }",
    latency,
  );
}

function checkFaults(faults: FaultRates): void {
  checkOption(typeof faults === 'object' && faults !== null, 'faults', 'an object of rates', faults);
  let sum = 0;
  for (const key of FAULT_RATE_KEYS) {
    const rate = faults[key] ?? 0;
    checkOption(isNonNegative(rate) && rate <= 1, `faults.${key}`, 'a number from 0 to 1', rate);
    sum += rate;
  }
  checkOption(sum <= 1 + 1e-9, 'faults', 'rates that add up to at most 1 (one fault per call)', faults);
}
