/**
 * A fake clock for capabilities that take a `Clock` (src/clock): time moves only when the test
 * advances it, and each timer that falls due on the way fires, in order. Tests about time (settle
 * times, poll intervals, retry delays) advance it instead of sleeping.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../../src/clock/clock.ts';

interface Timer {
  due: number;
  fn: () => void;
  /** Set for periodic timers. */
  period?: number;
}

export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void;
  /** One-shot timers waiting (a sleeping watch loop, a retry delay). */
  readonly sleeping: number;
  /** Resolves once a one-shot timer is waiting: the code under test has gone to sleep. */
  asleep(): Promise<void>;
}

export function makeFakeClock(start = Date.now()): FakeClock {
  let at = start;
  const timers = new Set<Timer>();
  const waiters = new Set<() => void>();
  const oneShots = () => [...timers].filter((t) => t.period === undefined).length;

  function add(timer: Timer): () => void {
    timers.add(timer);
    if (timer.period === undefined) for (const wake of waiters) wake();
    return () => {
      timers.delete(timer);
    };
  }

  return {
    now: () => at,
    every: (ms, fn) => add({ due: at + ms, fn, period: Math.max(1, ms) }),
    after: (ms, fn) => add({ due: at + ms, fn }),
    advance(ms) {
      const target = at + ms;
      for (;;) {
        const next = [...timers].filter((t) => t.due <= target).sort((a, b) => a.due - b.due)[0];
        if (!next) break;
        at = Math.max(at, next.due);
        if (next.period === undefined) timers.delete(next);
        else next.due += next.period;
        next.fn();
      }
      at = target;
    },
    get sleeping() {
      return oneShots();
    },
    asleep() {
      if (oneShots() > 0) return Promise.resolve();
      return new Promise((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
      });
    },
  };
}

/**
 * Advances `stepMs` each time the code under test sleeps, until `done` settles; returns its value.
 * Each step waits a turn of the event loop first, so file and database I/O keep running.
 */
export async function advanceUntil<T>(
  clock: FakeClock,
  done: Promise<T>,
  stepMs: number,
): Promise<T> {
  const state = { settled: false };
  const watched = done.finally(() => {
    state.settled = true;
  });
  const settled = () => state.settled;
  for (;;) {
    await Promise.race([watched, clock.asleep()]);
    await nextTurn();
    if (settled()) return watched;
    clock.advance(stepMs);
  }
}
