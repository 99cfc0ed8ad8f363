/**
 * A sliding-window counter per key, in memory on this node. Used for login attempts; a cluster
 * of N nodes therefore allows up to N times the limit (documented in docs/accounts.md).
 */

/** Counts hits per key inside a window; `retryAfter` says when the key is allowed again. */
export interface RateLimiter {
  /** Seconds until `key` may try again, or 0 when it is under the limit now. */
  retryAfter(key: string, now: number): number;
  hit(key: string, now: number): void;
  reset(key: string): void;
}

export function makeRateLimiter(limit: number, windowMs: number, maxKeys = 100_000): RateLimiter {
  const hits = new Map<string, number[]>();

  function live(key: string, now: number): number[] {
    const list = (hits.get(key) ?? []).filter((t) => t > now - windowMs);
    if (list.length === 0) hits.delete(key);
    else hits.set(key, list);
    return list;
  }

  return {
    retryAfter(key, now) {
      const list = live(key, now);
      if (list.length < limit) return 0;
      const oldest = list[list.length - limit] ?? now;
      return Math.max(1, Math.ceil((oldest + windowMs - now) / 1000));
    },
    hit(key, now) {
      if (hits.size >= maxKeys && !hits.has(key)) {
        // Bounded memory under a spray of distinct keys: forget the oldest key.
        const first = hits.keys().next();
        if (!first.done) hits.delete(first.value);
      }
      const list = live(key, now);
      list.push(now);
      hits.set(key, list);
    },
    reset(key) {
      hits.delete(key);
    },
  };
}
