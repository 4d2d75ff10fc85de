import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type BreakerPass, CircuitBreaker } from '../../src/limits/CircuitBreaker.js';
import { advance, settle } from '../operators/virtualTime.js';

/** A breaker on virtual time, and a helper that fails `n` calls from distinct records. */
function setup(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const scheduler = new VirtualTimeScheduler();
  const breaker = new CircuitBreaker({ scheduler, ...options });
  const failMany = async (n: number, outcome: 'unreachable' | 'outage' = 'outage') => {
    const frees: boolean[] = [];
    for (let i = 0; i < n; i++) frees.push(breaker.release(outcome, await breaker.acquire(), i));
    return frees;
  };
  return { scheduler, breaker, failMany };
}

describe('CircuitBreaker', () => {
  it('opens after failureThreshold outage failures in a row; the one that opens it is free', async () => {
    const { breaker, failMany } = setup({ failureThreshold: 3 });
    expect(await failMany(3)).toEqual([false, false, true]);
    expect(breaker.state).toBe('open');
    expect(breaker.openings).toBe(1);
  });

  it('an answer from the server resets the streak', async () => {
    const { breaker, failMany } = setup({ failureThreshold: 3 });
    await failMany(2);
    breaker.release('up', await breaker.acquire());
    await failMany(2);
    expect(breaker.state).toBe('closed');
  });

  it("one record's own 5xx streak does not open it; never-sent failures of one record do", async () => {
    const { breaker } = setup({ failureThreshold: 3 });
    for (let i = 0; i < 5; i++) expect(breaker.release('outage', await breaker.acquire(), 'r1')).toBe(false);
    expect(breaker.state).toBe('closed');
    breaker.release('up');
    for (let i = 0; i < 3; i++) breaker.release('unreachable', await breaker.acquire(), 'r1');
    expect(breaker.state).toBe('open');
  });

  it('while open, calls wait; after probeDelayMs exactly one probe goes; its success releases all', async () => {
    const { scheduler, breaker, failMany } = setup({ failureThreshold: 2, probeDelayMs: 100 });
    await failMany(2);
    const passes: BreakerPass[] = [];
    const waiting = [1, 2, 3].map(() => breaker.acquire().then((p) => passes.push(p)));
    await settle();
    expect(passes).toEqual([]);
    scheduler.maxFrames = 99;
    scheduler.flush();
    await settle();
    expect(passes).toEqual([]);
    scheduler.maxFrames = 100;
    scheduler.flush();
    await settle();
    expect(passes).toEqual([{ probe: true }]);
    expect(breaker.state).toBe('probing');
    breaker.release('up', passes[0]);
    await Promise.all(waiting);
    expect(passes).toEqual([{ probe: true }, { probe: false }, { probe: false }]);
    expect(breaker.state).toBe('closed');
  });

  it('a failed probe reopens with a doubled wait; a probe that reached the server counts, an unreachable one not', async () => {
    const { scheduler, breaker, failMany } = setup({ failureThreshold: 1, probeDelayMs: 100 });
    await failMany(1, 'unreachable');
    const first = breaker.acquire();
    await advance(scheduler, 100);
    expect(scheduler.now()).toBe(100);
    expect(breaker.release('unreachable', await first)).toBe(true);
    const second = breaker.acquire();
    await advance(scheduler, 1_000);
    expect(scheduler.now()).toBe(300); // 100 + 200: the wait doubled
    expect(breaker.release('outage', await second)).toBe(false);
  });

  it('gives up after maxOutageMs: waiting and later calls reject with ERR_DIFY_UNREACHABLE', async () => {
    const { scheduler, breaker, failMany } = setup({
      failureThreshold: 1,
      probeDelayMs: 100,
      maxProbeDelayMs: 400,
      maxOutageMs: 1_000,
    });
    await failMany(1, 'unreachable');
    for (;;) {
      // The handler goes on at once: a rejection must not sit unhandled while time advances.
      const pass = breaker.acquire().then(
        (p) => p,
        (e: unknown) => e as Error,
      );
      await advance(scheduler, 10_000);
      const outcome = await pass;
      if (outcome instanceof Error) {
        expect(outcome).toMatchObject({ code: 'ERR_DIFY_UNREACHABLE' });
        expect(outcome.message).toBe(
          'Dify unreachable since 1970-01-01T00:00:00.000Z (longer than maxOutageMs = 1000 ms)',
        );
        break;
      }
      breaker.release('unreachable', outcome);
    }
    // The last probe went out exactly at the end of the allowed outage, not later.
    expect(scheduler.now()).toBe(1_000);
    expect(breaker.state).toBe('dead');
    await expect(breaker.acquire()).rejects.toMatchObject({ code: 'ERR_DIFY_UNREACHABLE' });
  });

  it('a cancelled probe lets the next waiting call probe; abort leaves no listener', async () => {
    const { scheduler, breaker, failMany } = setup({ failureThreshold: 1, probeDelayMs: 10 });
    await failMany(1, 'unreachable');
    const controller = new AbortController();
    const aborted = breaker.acquire(controller.signal);
    const probe = breaker.acquire();
    const next = breaker.acquire();
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await advance(scheduler, 100);
    const probePass = await probe;
    expect(probePass.probe).toBe(true);
    breaker.release('cancelled', probePass);
    await advance(scheduler, 100);
    expect(await next).toEqual({ probe: true });
  });

  it('property: never more than one probe out at a time, and an answer always closes it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('up', 'unreachable', 'outage', 'cancelled' as const), { maxLength: 40 }),
        async (outcomes) => {
          const { scheduler, breaker } = setup({ failureThreshold: 2, probeDelayMs: 5, maxOutageMs: 1e9 });
          let probesOut = 0;
          for (const [i, outcome] of outcomes.entries()) {
            const pending = breaker.acquire();
            await advance(scheduler, 1e7);
            const pass = await pending;
            if (pass.probe) probesOut++;
            expect(probesOut).toBeLessThanOrEqual(1);
            breaker.release(outcome, pass, i % 3);
            if (pass.probe) probesOut--;
            if (outcome === 'up') expect(breaker.state).toBe('closed');
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('dispose cancels the probe timer and rejects waiting calls', async () => {
    const { scheduler, breaker, failMany } = setup({ failureThreshold: 1 });
    await failMany(1, 'unreachable');
    const waiting = breaker.acquire();
    expect(scheduler.actions).toHaveLength(1);
    breaker.dispose(new Error('run over'));
    await expect(waiting).rejects.toThrow('run over');
    expect(scheduler.actions).toHaveLength(0);
  });

  it('rejects bad options', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreaker({ maxOutageMs: -1 })).toThrow(/maxOutageMs/);
  });
});
