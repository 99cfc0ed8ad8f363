/** A task run every `ms` on a clock, the next run scheduled only after the last one settled. */
import type { Clock, TimerHandle } from './clock.ts';

export function repeat(
  clock: Clock,
  ms: number,
  task: () => Promise<void>,
  report: (error: unknown) => void,
): { stop(): void } {
  let handle: TimerHandle;
  let stopped = false;
  function tick() {
    handle = undefined;
    void task()
      .catch(report)
      .finally(() => {
        if (!stopped) handle = clock.setTimeout(tick, ms);
      });
  }
  handle = clock.setTimeout(tick, ms);
  return {
    stop() {
      stopped = true;
      if (handle !== undefined) clock.clearTimeout(handle);
      handle = undefined;
    },
  };
}
