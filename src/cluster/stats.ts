/** Windowed job stats: sums items, bytes and errors, and reports at most once per window. */

export interface WindowStats {
  windowMs: number;
  itemsPerSecond: number;
  bytesPerSecond: number;
  errors: number;
}

/** Starts a window timer; `flush` reports what gathered since the last report, if anything. */
export function makeStatsWindow(windowMs: number, report: (stats: WindowStats) => void) {
  let items = 0;
  let bytes = 0;
  let errors = 0;
  let since = Date.now();
  function flush(): void {
    if (items === 0 && bytes === 0 && errors === 0) return;
    const seconds = Math.max(0.001, (Date.now() - since) / 1000);
    report({
      windowMs,
      itemsPerSecond: items / seconds,
      bytesPerSecond: bytes / seconds,
      errors,
    });
    items = 0;
    bytes = 0;
    errors = 0;
    since = Date.now();
  }
  const timer = setInterval(flush, windowMs);
  timer.unref();
  return {
    add(delta: { items?: number; bytes?: number; errors?: number }): void {
      items += delta.items ?? 0;
      bytes += delta.bytes ?? 0;
      errors += delta.errors ?? 0;
    },
    flush,
    stop(): void {
      clearInterval(timer);
    },
  };
}
