import { describe, expect, it } from 'vitest';
import { describeContender } from '../../bench/describeContender.js';
import { benthosQuota } from '../../bench/runBenthos.js';

describe('describeContender', () => {
  it('shows the read-ahead each windowed contender was given, so equal footing can be checked', () => {
    const knobs = { concurrency: 16, count: 300, window: 256 };
    expect(describeContender('head-of-line', 'dify-batch-ordered', knobs).readAhead).toBe('window 256');
    expect(describeContender('head-of-line', 'readable-map', knobs).readAhead).toBe(
      '16 + highWaterMark 240 = 256',
    );
    expect(describeContender('head-of-line', 'readable-map', { concurrency: 16, count: 300 }).readAhead).toBe(
      '16 + highWaterMark (Node default)',
    );
  });

  it('shows a warm-up only for the runs that had one', () => {
    const warm = describeContender('http-ceiling', 'bare-undici', {
      concurrency: 32,
      count: 100,
      warmup: 200,
    });
    expect(warm.warmup).toBe(200);
    expect(
      describeContender('http-ceiling', 'benthos-unordered', { concurrency: 32, count: 100 }).warmup,
    ).toBe(undefined);
    expect(
      describeContender('http-ceiling', 'bare-undici', { concurrency: 32, count: 100, warmup: 0 }),
    ).not.toHaveProperty('warmup');
  });

  it('shows the quota wherever a contender was told it, and who was not', () => {
    const told = { concurrency: 16, count: 300, rateLimitPerSecond: 100 };
    expect(describeContender('rate-limit', 'dify-batch-unordered', told).rateLimit).toBe(
      '100/s token bucket (burst 1, the default)',
    );
    expect(describeContender('rate-limit', 'benthos-unordered', told).rateLimit).toBe(
      'rate_limit resource 100/s (1 per 10000 µs, burst 1)',
    );
    // What bench/benthos/*.yaml is given: one request per 1/R, not R at the start of each second.
    expect(benthosQuota(100)).toEqual({ RATE_COUNT: '1', RATE_INTERVAL: '10000us' });
    expect(benthosQuota(50)).toEqual({ RATE_COUNT: '1', RATE_INTERVAL: '20000us' });
    expect(
      describeContender('rate-limit', 'python-unordered', { concurrency: 16, count: 300 }).rateLimit,
    ).toBe('none');
  });

  it('names adaptive concurrency and the output path', () => {
    const config = describeContender('concurrency-limit', 'dify-batch-unordered', {
      concurrency: 32,
      count: 200,
      adaptiveConcurrency: true,
      maxAttempts: 20,
    });
    expect(config).toMatchObject({ concurrency: '≤ 32 adaptive (AIMD)', items: 200 });
    expect(config.retry).toContain('20 attempts');
    expect(
      describeContender('http-ceiling', 'benthos-unordered', { concurrency: 32, count: 10 }).output,
    ).toContain('stdout pipe');
  });
});
