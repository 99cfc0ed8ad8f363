/**
 * Time for the live channel: the current time and periodic timers, passed in so tests move time
 * with a fake clock and fire timers by hand instead of sleeping through 30-second windows.
 */

/** Periodic work; returns a function that stops it. */
export type Every = (ms: number, fn: () => void) => () => void;

/** The live hub's view of time. */
export interface LiveClock {
  /** Milliseconds since the epoch. */
  now(): number;
  every: Every;
}

/** Real timers; unref'd so a forgotten stop never keeps the process alive. */
export const systemEvery: Every = function every(ms, fn) {
  const timer = setInterval(fn, ms);
  timer.unref();
  return function cancel() {
    clearInterval(timer);
  };
};

/** A clock over a `() => Date` (the composition root's clock) and real or given timers. */
export function makeLiveClock(now: () => Date, every: Every = systemEvery): LiveClock {
  return {
    now: () => now().getTime(),
    every,
  };
}
