/**
 * Reconnect delays: exponential, capped, with full jitter (a random delay between 0 and the
 * exponential value), so clients dropped together by one server do not come back together.
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

/** The delay before reconnect attempt `attempt` (0 = the first after a drop). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  const ceiling = Math.min(max, initial * factor ** Math.min(attempt, 64));
  return Math.floor(random() * ceiling);
}
