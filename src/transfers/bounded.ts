/**
 * Bounded parallelism for deliveries: `limit` workers take items in order until none is left or
 * `stop()` says so. Every worker has ended when this resolves, so no delivery outlives the run
 * that started it (its writes, its deletes); the first failure is rethrown after that.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  each: (item: T) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  async function work(): Promise<void> {
    while (next < items.length && !stop()) {
      const item = items[next++] as T;
      await each(item);
    }
  }
  const workers = Math.max(1, Math.min(limit, items.length));
  const results = await Promise.allSettled(Array.from({ length: workers }, work));
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
}
