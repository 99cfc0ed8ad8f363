/**
 * Admission control without HTTP: a principal's share of the cluster-wide rate limit, and which
 * priorities a node sheds under load. The API layer applies both (src/api/admission.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const priorities = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof priorities)[number];

/** Parses a `Ferry-Priority` value; anything unknown is `normal`. */
export function priorityOf(value: unknown): Priority {
  return typeof value === 'string' && (priorities as readonly string[]).includes(value)
    ? (value as Priority)
    : 'normal';
}

/**
 * The rate-limit window: `burst` requests per window of `burst / requests_per_second` seconds,
 * so the average rate is `requests_per_second` and no window holds more than `burst`.
 */
export function rateWindow(limits: { requests_per_second: number; burst: number }) {
  return {
    windowMs: Math.max(1, Math.round((limits.burst / limits.requests_per_second) * 1000)),
    /** This node's share of a principal's burst: the cluster-wide burst over healthy nodes. */
    share: (healthyNodes: number) =>
      Math.max(1, Math.ceil(limits.burst / Math.max(1, healthyNodes))),
  };
}

/**
 * Load as a multiple of the configured thresholds (the larger of in-flight requests and
 * event-loop delay). At 1× `low` is shed, at 1.5× `normal`, at 2× `high`; never `critical`.
 */
export function shed(priority: Priority, load: number): boolean {
  const from: Record<Priority, number> = { critical: Infinity, high: 2, normal: 1.5, low: 1 };
  return load >= from[priority];
}

/** Watches the event loop's delay (p99 of the last second) for the shedding decision. */
export function makeLoadMonitor(thresholds: { inFlight: number; eventLoopDelayMs: number }) {
  let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  let delayMs = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    start(): void {
      histogram = monitorEventLoopDelay({ resolution: 20 });
      histogram.enable();
      timer = setInterval(() => {
        if (!histogram) return;
        delayMs = histogram.percentile(99) / 1e6;
        histogram.reset();
      }, 1000);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
      histogram?.disable();
    },
    /** The current load multiple given the requests in flight now. */
    load(inFlight: number): number {
      return Math.max(inFlight / thresholds.inFlight, delayMs / thresholds.eventLoopDelayMs);
    },
    get eventLoopDelayMs(): number {
      return delayMs;
    },
  };
}
