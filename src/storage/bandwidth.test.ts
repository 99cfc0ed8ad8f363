import { describe, expect, it } from 'vitest';
import { makeBandwidthCaps, makePacer, spend, withBudget } from './bandwidth.ts';

/** A clock that only moves when the pacer sleeps: the pacer's arithmetic, not timings. */
function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    sleep(ms: number) {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('bandwidth pacer', () => {
  it('lets bytes through at the rate on average (after a short burst)', async () => {
    const clock = fakeClock();
    const pacer = makePacer(1_000_000, clock);
    for (let i = 0; i < 100; i += 1) await pacer.take(100_000);
    // 10 MB at 1 MB/s: 10 s, less the 100 ms burst allowance.
    expect(clock.now()).toBeCloseTo(9_900, 0);
  });

  it('does not bank idle time beyond the burst', async () => {
    const clock = fakeClock();
    const pacer = makePacer(1_000_000, clock);
    clock.advance(60_000);
    for (let i = 0; i < 10; i += 1) await pacer.take(100_000);
    expect(clock.now() - 60_000).toBeCloseTo(900, 0);
  });

  it('applies a transfer cap and the node cap only inside a budget', async () => {
    const caps = makeBandwidthCaps(0);
    expect(caps.pacersFor(1, undefined)).toEqual([undefined]);
    const [own] = caps.pacersFor(1, 500);
    expect(own?.bytesPerSecond).toBe(500);
    // The same pacer for every file of the transfer while its cap is unchanged.
    expect(caps.pacersFor(1, 500)[0]).toBe(own);
    expect(caps.pacersFor(1, 800)[0]?.bytesPerSecond).toBe(800);
    expect(makeBandwidthCaps(1000).pacersFor(2, undefined)[0]?.bytesPerSecond).toBe(1000);
    const taken: number[] = [];
    const spy = { bytesPerSecond: 1, take: (n: number) => Promise.resolve(void taken.push(n)) };
    await spend(10);
    await withBudget([spy, undefined], async () => {
      await spend(20);
      await Promise.resolve();
      await spend(30);
    });
    expect(taken).toEqual([20, 30]);
  });
});
