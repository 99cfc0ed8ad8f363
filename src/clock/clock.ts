/**
 * Time for every capability: the current time, one-shot and periodic timers, and sleeps built on
 * them. Passed in, so tests move time with a fake clock and fire timers by advancing it instead of
 * sleeping through settle times, poll intervals, retry delays or 30-second windows.
 */

/** Periodic work; returns a function that stops it. */
export type Every = (ms: number, fn: () => void) => () => void;

/** Work once after `ms`; returns a function that cancels it. */
export type After = (ms: number, fn: () => void) => () => void;

/** A capability's view of time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  every: Every;
  after: After;
}

/** Real periodic timers; unref'd so a forgotten stop never keeps the process alive. */
export const systemEvery: Every = function every(ms, fn) {
  const timer = setInterval(fn, ms);
  timer.unref();
  return function cancel() {
    clearInterval(timer);
  };
};

/** A real one-shot timer; unref'd like `systemEvery`. */
export const systemAfter: After = function after(ms, fn) {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return function cancel() {
    clearTimeout(timer);
  };
};

/** A clock over a `() => Date` (the composition root's clock) and real or given timers. */
export function makeClock(
  now: () => Date = () => new Date(),
  timers: { every?: Every | undefined; after?: After | undefined } = {},
): Clock {
  return {
    now: () => now().getTime(),
    every: timers.every ?? systemEvery,
    after: timers.after ?? systemAfter,
  };
}

/** The real clock. */
export const systemClock: Clock = makeClock();

/**
 * Resolves after `ms` on `clock`'s timers; rejects with the signal's reason once it is aborted,
 * so a shutdown never waits out a retry delay.
 */
export function sleep(
  clock: Pick<Clock, 'after'>,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const cancel = clock.after(ms, function wake() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    });
    function aborted() {
      cancel();
      reject(signal?.reason as Error);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
