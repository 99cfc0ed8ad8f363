import { describe, expect, it } from 'vitest';
import { makeFakeClock } from '../../test/helpers/clock.ts';
import { makeClock, sleep } from './clock.ts';

describe('clock', () => {
  it('sleep resolves when its timer falls due, not before', async () => {
    const clock = makeFakeClock(0);
    let woke = false;
    const slept = sleep(clock, 1000).then(() => {
      woke = true;
    });
    clock.advance(999);
    await Promise.resolve();
    expect(woke).toBe(false);
    clock.advance(1);
    await slept;
    expect(woke).toBe(true);
  });

  it('an aborted sleep rejects with the reason and leaves no timer behind', async () => {
    const clock = makeFakeClock(0);
    const abort = new AbortController();
    const slept = sleep(clock, 1000, abort.signal);
    expect(clock.sleeping).toBe(1);
    abort.abort(new Error('shutting down'));
    await expect(slept).rejects.toThrow('shutting down');
    expect(clock.sleeping).toBe(0);
    await expect(sleep(clock, 10, abort.signal)).rejects.toThrow('shutting down');
  });

  it('fires periodic timers once per period as time passes', () => {
    const clock = makeFakeClock(0);
    const ticks: number[] = [];
    const stop = clock.every(100, () => ticks.push(clock.now()));
    clock.advance(350);
    stop();
    clock.advance(1000);
    expect(ticks).toEqual([100, 200, 300]);
  });

  it('makeClock reads the composition root’s Date clock', () => {
    expect(makeClock(() => new Date(5000)).now()).toBe(5000);
  });
});
