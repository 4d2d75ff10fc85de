import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/core/InvalidOptionError.js';
import { canonicalJson, hashUuid } from '../../src/emulator/canonicalJson.js';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/EmulatorOptions.js';
import { KeyRateLimit } from '../../src/emulator/KeyRateLimit.js';
import { latencySampler } from '../../src/emulator/latencySampler.js';
import { parseFaultHook } from '../../src/emulator/parseFaultHook.js';
import { pyFloat, pyJson, pyRepr } from '../../src/emulator/pyJson.js';
import { pythonUuid } from '../../src/emulator/pythonUuid.js';
import { RecentMap } from '../../src/emulator/RecentMap.js';
import { resolveEmulatorOptions } from '../../src/emulator/resolveEmulatorOptions.js';
import { splitText } from '../../src/emulator/runApp.js';
import { SeededRandom } from '../../src/emulator/SeededRandom.js';
import { truncateRepr, validatePayload } from '../../src/emulator/validatePayload.js';

describe('Python renderings', () => {
  it('pyJson writes json.dumps output: spaced separators, ASCII only', () => {
    expect(pyJson({ a: [1, 'é', null, true], 'k"': { x: 1.5 }, skip: undefined })).toBe(
      '{"a": [1, "\\u00e9", null, true], "k\\"": {"x": 1.5}}',
    );
    expect(pyJson('\u007f😀\n')).toBe('"\\u007f\\ud83d\\ude00\\n"');
  });

  it('pyFloat writes Python float reprs', () => {
    expect([0, 1, 0.5, 0.0001, 0.00001, 1.5e-7, 1e16, 123456.789].map(pyFloat)).toEqual([
      '0.0',
      '1.0',
      '0.5',
      '0.0001',
      '1e-05',
      '1.5e-07',
      '1e+16',
      '123456.789',
    ]);
  });

  it('pyRepr writes Python reprs of parsed JSON', () => {
    expect(pyRepr({ s: "it's", t: 'a"b\'c', n: null, b: false, l: [1, 2.5], u: 'é\u0001' })).toBe(
      `{'s': "it's", 't': 'a"b\\'c', 'n': None, 'b': False, 'l': [1, 2.5], 'u': 'é\\x01'}`,
    );
  });

  it('truncateRepr keeps 25 + 24 UTF-8 bytes, on character boundaries', () => {
    expect(truncateRepr('a'.repeat(50))).toBe('a'.repeat(50));
    expect(truncateRepr('a'.repeat(51))).toBe(`${'a'.repeat(25)}...${'a'.repeat(24)}`);
    expect(truncateRepr('é'.repeat(30))).toBe(`${'é'.repeat(12)}...${'é'.repeat(12)}`);
  });

  it('pythonUuid accepts what uuid.UUID accepts and normalises it', () => {
    const canonical = '0e3b6a52-7c1d-4f0a-9b1e-5d2c8a4f1001';
    for (const form of [
      canonical,
      canonical.toUpperCase(),
      `{${canonical}}`,
      `urn:uuid:${canonical}`,
      canonical.replaceAll('-', ''),
    ]) {
      expect(pythonUuid(form)).toBe(canonical);
    }
    expect(pythonUuid('abc')).toBeUndefined();
    expect(pythonUuid(`${canonical}0`)).toBeUndefined();
  });
});

describe('validatePayload', () => {
  it('accepts valid bodies', () => {
    expect(
      validatePayload('WorkflowRunPayload', { inputs: {}, files: [], response_mode: null, user: 'u' }),
    ).toBeUndefined();
    expect(
      validatePayload('ChatRequestPayload', {
        inputs: {},
        query: 'q',
        conversation_id: ' ',
        auto_generate_name: 'yes',
      }),
    ).toBeUndefined();
  });

  it('reports files, query and chat fields as pydantic does', () => {
    const lines = (message: string | undefined) => message?.split('\n').filter((_, i) => i % 3 !== 0);
    expect(lines(validatePayload('WorkflowRunPayload', { inputs: {}, files: [{}, 'x'] }))).toEqual([
      'files.1',
      "  Input should be a valid dictionary [type=dict_type, input_value='x', input_type=str]",
    ]);
    expect(validatePayload('WorkflowRunPayload', { inputs: {}, files: 'x' })).toContain(
      "files\n  Input should be a valid list [type=list_type, input_value='x', input_type=str]",
    );
    expect(validatePayload('CompletionRequestPayload', { inputs: {}, query: 5 })).toContain(
      'query\n  Input should be a valid string [type=string_type, input_value=5, input_type=int]',
    );
    const chat = validatePayload('ChatRequestPayload', {
      inputs: null,
      query: 'q',
      auto_generate_name: 'maybe',
      workflow_id: 1,
    });
    expect(chat?.split('\n')[0]).toBe('3 validation errors for ChatRequestPayload');
    expect(chat).toContain(
      'inputs\n  Input should be a valid dictionary [type=dict_type, input_value=None, input_type=NoneType]',
    );
    expect(chat).toContain(
      'auto_generate_name\n  Input should be a valid boolean, unable to interpret input [type=bool_parsing',
    );
    expect(chat).toContain(
      'workflow_id\n  Input should be a valid string [type=string_type, input_value=1, input_type=int]',
    );
  });
});

describe('helpers', () => {
  it('RecentMap keeps the most recent entries, between limit/2 and limit of them', () => {
    const map = new RecentMap<number, number>(4);
    for (let i = 0; i < 10; i++) map.set(i, i * 10);
    expect([...map.values()]).toEqual([60, 70, 80, 90]);
    expect(map.get(9)).toBe(90);
    expect(map.get(5)).toBeUndefined();
    map.limit = 0;
    map.set(1, 1);
    expect([...map.values()]).toEqual([]);
  });

  it('canonicalJson ignores key order at every level', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const reversed = Object.fromEntries(Object.entries(value).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('splitText pieces concatenate back and never split a surrogate pair', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 6 }), (text, n) => {
        const pieces = splitText(text, n);
        expect(pieces.join('')).toBe(text);
        expect(pieces.length).toBeLessThanOrEqual(n);
        for (const piece of pieces) expect(piece).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
      }),
    );
  });

  it('hashUuid is stable and UUID-shaped', () => {
    expect(hashUuid('x')).toBe(hashUuid('x'));
    expect(hashUuid('x')).not.toBe(hashUuid('y'));
    expect(hashUuid('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('parseFaultHook reads "kind" and "kind:N"', () => {
    expect(parseFaultHook('500')).toEqual({ kind: '500', calls: Number.POSITIVE_INFINITY });
    expect(parseFaultHook('reset:2')).toEqual({ kind: 'reset', calls: 2 });
    expect(parseFaultHook('teapot')).toBeUndefined();
    expect(parseFaultHook(500)).toBeUndefined();
  });

  it('KeyRateLimit: a burst of rate tokens, then Retry-After until the next token', () => {
    const bucket = new KeyRateLimit(2, 0, true);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 1]);
    expect(bucket.take(500)).toBe(0);
    const slow = new KeyRateLimit(0.2, 0, true);
    expect([slow.take(0), slow.take(0)]).toEqual([0, 5]);
  });

  it('KeyRateLimit starting empty admits no more than rate × the time since the first call, whatever the pattern', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 200, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }),
        (rate, gaps) => {
          // Created long before the first call: idle time must earn nothing.
          const bucket = new KeyRateLimit(rate, -60_000, false);
          let now = 0;
          let admitted = 0;
          for (const gap of gaps) {
            now += gap;
            if (bucket.take(now) === 0) admitted++;
          }
          expect(admitted).toBeLessThanOrEqual(Math.floor((rate * (now - gaps[0]!)) / 1000 + 1e-9));
        },
      ),
    );
  });
});

describe('latency', () => {
  function quantile(samples: number[], q: number): number {
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.floor(q * (sorted.length - 1))]!;
  }

  it('a fixed 0 ms latency needs no sampler (answers stay synchronous)', () => {
    expect(latencySampler({ kind: 'fixed', ms: 0 }, new SeededRandom(1))).toBeUndefined();
    expect(latencySampler({ kind: 'fixed', ms: 7 }, new SeededRandom(1))?.()).toBe(7);
  });

  it('lognormal hits its p50 and p99; the same seed draws the same values', () => {
    const draw = latencySampler({ kind: 'lognormal', p50Ms: 200, p99Ms: 3_000 }, new SeededRandom(5))!;
    const samples = Array.from({ length: 40_000 }, draw);
    expect(quantile(samples, 0.5)).toBeGreaterThan(190);
    expect(quantile(samples, 0.5)).toBeLessThan(210);
    expect(quantile(samples, 0.99)).toBeGreaterThan(2_600);
    expect(quantile(samples, 0.99)).toBeLessThan(3_400);
    const again = latencySampler({ kind: 'lognormal', p50Ms: 200, p99Ms: 3_000 }, new SeededRandom(5))!;
    expect(Array.from({ length: 5 }, again)).toEqual(samples.slice(0, 5));
  });

  it('uniform stays within its bounds', () => {
    const draw = latencySampler({ kind: 'uniform', minMs: 10, maxMs: 20 }, new SeededRandom(3))!;
    const samples = Array.from({ length: 1_000 }, draw);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...samples)).toBeLessThan(20);
  });
});

describe('options', () => {
  it('EMULATOR_DEFAULTS matches every documented @defaultValue', () => {
    const source = readFileSync(new URL('../../src/emulator/EmulatorOptions.ts', import.meta.url), 'utf8');
    const body = source.slice(
      source.indexOf('export interface EmulatorOptions'),
      source.indexOf('export const EMULATOR_DEFAULTS'),
    );
    const documented = new Map<string, string>();
    for (const match of body.matchAll(
      /@defaultValue ([^*\n]+?)\s*(?:\*\/)?\n(?:\s*\*\/\n)?\s*readonly (\w+)\?/g,
    )) {
      documented.set(match[2]!, match[1]!.trim());
    }
    expect([...documented.keys()].sort()).toEqual(Object.keys(EMULATOR_DEFAULTS).sort());
    const shown = (value: unknown): string =>
      value === Number.POSITIVE_INFINITY
        ? 'Infinity'
        : typeof value === 'string'
          ? `'${value}'`
          : String(value);
    for (const [name, text] of documented) {
      const value = EMULATOR_DEFAULTS[name as keyof typeof EMULATOR_DEFAULTS];
      if (typeof value === 'object') continue;
      expect(text.startsWith(shown(value)), `${name}: ${text}`).toBe(true);
    }
    expect(EMULATOR_DEFAULTS.apps).toBe(EMULATOR_DEFAULT_APPS);
    expect(EMULATOR_DEFAULTS.latency).toEqual({ kind: 'fixed', ms: 0 });
    expect(Object.isFrozen(EMULATOR_DEFAULTS)).toBe(true);
  });

  it('the default apps carry the agreed keys', () => {
    expect(EMULATOR_DEFAULT_APPS.map((a) => [a.mode, a.key])).toEqual([
      ['workflow', 'app-EmulatorWorkflowKey00001'],
      ['completion', 'app-EmulatorCompletionKey001'],
      ['chat', 'app-EmulatorChatKey000000001'],
    ]);
  });

  it('rejects bad values with the p-map style message', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ port: 70_000 }, 'port'],
      [{ apps: [] }, 'apps'],
      [{ apps: [{ key: 'k', mode: 'agent' }] }, 'apps[0].mode'],
      [
        {
          apps: [
            { key: 'k', mode: 'chat' },
            { key: 'k', mode: 'chat' },
          ],
        },
        'apps[1].key',
      ],
      [{ latency: { kind: 'lognormal', p50Ms: 0, p99Ms: 1 } }, 'latency'],
      [{ concurrencyLimitStatus: 503 }, 'concurrencyLimitStatus'],
      [{ faults: { rate429: 2 } }, 'faults.rate429'],
      [{ faultsPerInputMax: 1.5 }, 'faultsPerInputMax'],
      [{ seed: 0.5 }, 'seed'],
    ];
    for (const [options, option] of bad) {
      let error: unknown;
      try {
        resolveEmulatorOptions(options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
    }
  });
});
