/**
 * Delays between attempts: exponential and capped, with jitter so clients that failed together
 * do not come back together. Three strategies (as in the AWS architecture blog's study):
 * - `full`: random between 0 and the exponential value;
 * - `equal`: half the exponential value, plus random up to the other half;
 * - `decorrelated`: random between the base and three times the previous delay, capped.
 */

/** How reconnect delays grow. */
export interface BackoffOptions {
  /** Upper bound of the first delay. Default 250 ms. */
  initialDelayMs?: number;
  /** Cap on any delay. Default 30 s. */
  maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
}

export type JitterStrategy = 'full' | 'equal' | 'decorrelated';
export const jitterStrategies: readonly JitterStrategy[] = ['full', 'equal', 'decorrelated'];

/** The exponential value for `attempt` (0-based): `base × factor^attempt`, at most `cap`. */
function exponential(attempt: number, baseMs: number, capMs: number, factor = 2): number {
  return Math.min(capMs, baseMs * factor ** Math.min(Math.max(0, attempt), 64));
}

/**
 * The delay before retry `attempt` (0 = the first retry). `previousMs` is the delay used last
 * time (decorrelated jitter grows from it; pass 0 or the base before the first retry).
 */
export function retryDelay(
  strategy: JitterStrategy,
  attempt: number,
  previousMs: number,
  bounds: { baseMs: number; capMs: number },
  random: () => number = Math.random,
): number {
  const { baseMs, capMs } = bounds;
  switch (strategy) {
    case 'full':
      return Math.floor(random() * exponential(attempt, baseMs, capMs));
    case 'equal': {
      const value = exponential(attempt, baseMs, capMs);
      return Math.floor(value / 2 + random() * (value / 2));
    }
    case 'decorrelated': {
      const previous = Math.max(baseMs, previousMs);
      return Math.floor(Math.min(capMs, baseMs + random() * (previous * 3 - baseMs)));
    }
  }
}

/** The delay before reconnect attempt `attempt` (0 = the first after a drop): full jitter. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  return Math.floor(random() * exponential(attempt, initial, max, options.factor ?? 2));
}
