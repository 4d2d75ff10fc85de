import { readFileSync } from 'node:fs';
import { asyncScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { isRetryable } from '../../src/dify/isRetryable.js';
import { CIRCUIT_BREAKER_DEFAULTS } from '../../src/limits/CircuitBreaker.js';
import { TOKEN_BUCKET_DEFAULTS } from '../../src/limits/TokenBucket.js';
import { BATCH_DEFAULTS } from '../../src/operators/batch.js';
import { CALL_DIFY_DEFAULTS } from '../../src/operators/callDify.js';
import { REORDER_DEFAULTS } from '../../src/operators/reorder.js';
import { RETRY_BACKOFF_DEFAULTS } from '../../src/operators/retryBackoff.js';
import { CREDIT_GATE_DEFAULTS } from '../../src/pipeline/creditGate.js';

// Names a @defaultValue may cite, and what they stand for.
const NAMED: Record<string, unknown> = {
  asyncScheduler,
  'Math.random': Math.random,
  isRetryable,
  Infinity: Number.POSITIVE_INFINITY,
  undefined,
  true: true,
  false: false,
};

/** `{ field: documented default }` for every optional field of the named interfaces in `file`. */
function documentedDefaults(file: string, interfaces: string[]): Record<string, unknown> {
  const text = readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
  const documented: Record<string, unknown> = {};
  for (const name of interfaces) {
    const body = new RegExp(`export interface ${name}\\b[^{]*\\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1];
    expect(body, `${file}: interface ${name}`).toBeDefined();
    for (const [, doc, field] of body!.matchAll(/\/\*\*([\s\S]*?)\*\/\s*readonly (\w+)\?:/g)) {
      const value = /@defaultValue\s+(\S+)/.exec(doc!)?.[1];
      expect(value, `${file}: ${name}.${field} has no @defaultValue`).toBeDefined();
      documented[field!] = value! in NAMED ? NAMED[value!] : Number(value!.replaceAll('_', ''));
    }
  }
  return documented;
}

describe('X_DEFAULTS match the @defaultValue docs', () => {
  it.each([
    ['operators/batch.ts', ['BatchOptions'], BATCH_DEFAULTS],
    ['operators/callDify.ts', ['CallDifyOptions'], CALL_DIFY_DEFAULTS],
    ['limits/CircuitBreaker.ts', ['CircuitBreakerOptions'], CIRCUIT_BREAKER_DEFAULTS],
    ['pipeline/creditGate.ts', ['CreditGateOptions'], CREDIT_GATE_DEFAULTS],
    ['operators/reorder.ts', ['ReorderOptions'], REORDER_DEFAULTS],
    ['operators/retryBackoff.ts', ['RetryPolicy', 'RetryBackoffOptions'], RETRY_BACKOFF_DEFAULTS],
    ['limits/TokenBucket.ts', ['TokenBucketOptions'], TOKEN_BUCKET_DEFAULTS],
  ] as const)('%s', (file, interfaces, defaults) => {
    expect(Object.isFrozen(defaults)).toBe(true);
    const documented = documentedDefaults(file, [...interfaces]);
    // Every default is documented, and every documented default is the real one.
    for (const key of Object.keys(defaults)) expect(Object.keys(documented)).toContain(key);
    for (const [field, value] of Object.entries(documented)) {
      expect((defaults as Record<string, unknown>)[field], `${file}: ${field}`).toBe(value);
    }
  });
});
