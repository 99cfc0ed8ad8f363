/** Retry arithmetic and target selection, without a network: injected randomness only. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryDelay, jitterStrategies } from './backoff.ts';
import { makeRetryBudget } from './budget.ts';
import { makeTargets } from './targets.ts';

const bounds = { baseMs: 100, capMs: 20_000 };

describe('backoff with jitter', () => {
  it('keeps each strategy within its bounds for any randomness and attempt', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...jitterStrategies),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (strategy, attempt, previous, r) => {
          const delay = retryDelay(strategy, attempt, previous, bounds, () => r);
          const exp = Math.min(bounds.capMs, bounds.baseMs * 2 ** Math.min(attempt, 64));
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(bounds.capMs);
          if (strategy === 'full') expect(delay).toBeLessThanOrEqual(exp);
          if (strategy === 'equal') {
            expect(delay).toBeGreaterThanOrEqual(Math.floor(exp / 2));
            expect(delay).toBeLessThanOrEqual(exp);
          }
          if (strategy === 'decorrelated') {
            expect(delay).toBeGreaterThanOrEqual(Math.min(bounds.baseMs, bounds.capMs));
            expect(delay).toBeLessThanOrEqual(Math.max(bounds.baseMs, previous) * 3);
          }
        },
      ),
    );
  });

  it('reaches the extremes of each range with the extreme random values', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect(retryDelay('full', 3, 0, bounds, low)).toBe(0);
    expect(retryDelay('full', 3, 0, bounds, high)).toBe(799);
    expect(retryDelay('equal', 3, 0, bounds, low)).toBe(400);
    expect(retryDelay('equal', 3, 0, bounds, high)).toBe(799);
    expect(retryDelay('decorrelated', 0, 0, bounds, low)).toBe(100);
    expect(retryDelay('decorrelated', 5, 1000, bounds, high)).toBe(2999);
    expect(retryDelay('decorrelated', 5, 100_000, bounds, high)).toBe(20_000);
    expect(retryDelay('full', 1_000, 0, bounds, high)).toBe(19_999);
  });
});

describe('retry budget', () => {
  it('pays for retries until empty, then refuses; successes earn tokens back up to the capacity', () => {
    const budget = makeRetryBudget({
      capacity: 20,
      retryCost: 5,
      timeoutCost: 10,
      successRefund: 1,
    });
    expect(budget.tryAcquire('timeout')).toBe(true);
    expect(budget.tryAcquire('retry')).toBe(true);
    expect(budget.tryAcquire('retry')).toBe(true);
    expect(budget.tokens).toBe(0);
    expect(budget.tryAcquire('retry')).toBe(false);
    for (let i = 0; i < 4; i++) budget.onSuccess();
    expect(budget.tryAcquire('retry')).toBe(false);
    budget.onSuccess();
    expect(budget.tryAcquire('retry')).toBe(true);
    for (let i = 0; i < 100; i++) budget.onSuccess();
    expect(budget.tokens).toBe(20);
  });
});

describe('target selection', () => {
  const urls = ['http://a:1', 'http://b:2', 'http://c:3'];

  it('goes round robin over healthy nodes and skips a failed one until it answers a ping', () => {
    const targets = makeTargets(urls, undefined);
    expect([1, 2, 3, 4, 5, 6].map(() => targets.pick()?.url)).toEqual([...urls, ...urls]);
    targets.markFailed('http://b:2', 0);
    expect([1, 2, 3, 4].map(() => targets.pick()?.url)).not.toContain('http://b:2');
    expect(targets.down().map((n) => n.url)).toEqual(['http://b:2']);
    targets.markHealthy('http://b:2');
    expect(new Set([1, 2, 3].map(() => targets.pick()?.url))).toEqual(new Set(urls));
  });

  it('prefers the client’s zone and falls back to the others when none of it is healthy', () => {
    const targets = makeTargets(urls, 'eu');
    targets.markHealthy('http://a:1', { zone: 'us' });
    targets.markHealthy('http://b:2', { zone: 'eu' });
    targets.markHealthy('http://c:3', { zone: 'eu' });
    expect(new Set([1, 2, 3, 4].map(() => targets.pick()?.url))).toEqual(
      new Set(['http://b:2', 'http://c:3']),
    );
    targets.markFailed('http://b:2', 0);
    targets.markFailed('http://c:3', 0);
    expect(targets.pick()?.url).toBe('http://a:1');
  });

  it('is sticky per job while the owner is usable; a leader transfer moves it', () => {
    const targets = makeTargets(urls, undefined);
    targets.stick('job-1', 'http://c:3');
    expect([1, 2, 3].map(() => targets.pick('job-1')?.url)).toEqual([
      'http://c:3',
      'http://c:3',
      'http://c:3',
    ]);
    targets.markFailed('http://c:3', 0);
    expect(targets.pick('job-1')?.url).not.toBe('http://c:3');
    targets.stick('job-1', 'http://a:1');
    expect(targets.pick('job-1')?.url).toBe('http://a:1');
    expect(targets.pick('job-1', new Set(['http://a:1']))?.url).not.toBe('http://a:1');
  });

  it('never picks a node of another protocol major; with no usable node it picks none', () => {
    const one = makeTargets(['http://only:65535'], undefined);
    expect(one.pick()?.url).toBe('http://only:65535');
    one.markIncompatible('http://only:65535', '2.0', 'speaks 2.0');
    expect(one.pick()).toBeUndefined();
    expect(makeTargets([], undefined).pick()).toBeUndefined();
  });
});
