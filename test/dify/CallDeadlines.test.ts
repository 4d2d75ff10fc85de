import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CallDeadline, CallDeadlines } from '../../src/dify/CallDeadlines.js';

describe('CallDeadlines', () => {
  it('times out exactly the calls still open at their deadline, never before it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ startAfterMs: fc.integer({ min: 0, max: 15 }), keep: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (plan) => {
          const totalMs = 30;
          const deadlines = new CallDeadlines(totalMs);
          const started: { call: CallDeadline; at: number; keep: boolean; abortedAt?: number }[] = [];
          for (const step of plan) {
            await sleep(step.startAfterMs);
            const call = deadlines.start(undefined);
            const entry: (typeof started)[number] = { call, at: performance.now(), keep: step.keep };
            call.once('abort', () => {
              entry.abortedAt = performance.now();
            });
            started.push(entry);
            // A call that does not keep finishes at once, well before its deadline.
            if (!step.keep) call.dispose();
          }
          await sleep(totalMs + 40);
          for (const { call, at, keep, abortedAt } of started) {
            expect(call.timedOut).toBe(keep);
            expect(call.aborted).toBe(keep);
            if (keep) expect(abortedAt! - at).toBeGreaterThanOrEqual(totalMs - 1);
            call.dispose();
          }
        },
      ),
      { numRuns: 8 },
    );
  });

  it('a slow call at the head still times out after thousands of short calls behind it', async () => {
    const deadlines = new CallDeadlines(80);
    const slow = deadlines.start(undefined);
    for (let i = 0; i < 5000; i++) deadlines.start(undefined).dispose();
    const late = deadlines.start(undefined);
    await sleep(120);
    expect(slow.timedOut).toBe(true);
    expect(late.timedOut).toBe(true);
    slow.dispose();
    late.dispose();
  });

  it('one listener per caller signal: abort reaches every open call with its reason, none is left after', () => {
    const deadlines = new CallDeadlines(0);
    const controller = new AbortController();
    const { signal } = controller;
    const calls = Array.from({ length: 40 }, () => deadlines.start(signal));
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    for (const call of calls.slice(0, 10)) call.dispose();
    const reason = new Error('stop');
    controller.abort(reason);
    for (const call of calls.slice(0, 10)) expect(call.aborted).toBe(false);
    for (const call of calls.slice(10)) {
      expect(call.aborted).toBe(true);
      expect(call.reason).toBe(reason);
      expect(call.timedOut).toBe(false);
    }
    for (const call of calls) call.dispose();
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('removes the listener when the last call of a signal ends, and adds it back for the next', () => {
    const deadlines = new CallDeadlines(1000);
    const { signal } = new AbortController();
    const first = deadlines.start(signal);
    const second = deadlines.start(signal);
    first.dispose();
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    second.dispose();
    second.dispose(); // idempotent
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    const third = deadlines.start(signal);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    third.dispose();
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});

describe('CallAbort (undici signal)', () => {
  it('calls each remaining abort listener once, never one removed, and ignores a second abort', () => {
    const deadlines = new CallDeadlines(0);
    const call = deadlines.start(undefined);
    const heard: string[] = [];
    const removed = () => heard.push('removed');
    call.once('abort', () => heard.push('first'));
    call.on('abort', removed);
    call.on('close', () => heard.push('other event'));
    call.removeListener('abort', removed);
    call.once('abort', () => heard.push('second'));
    call.abort(new Error('why'));
    call.abort(new Error('again'));
    expect(heard).toEqual(['first', 'second']);
    expect(call.aborted).toBe(true);
    expect((call.reason as Error).message).toBe('why');
    call.dispose();
  });
});
