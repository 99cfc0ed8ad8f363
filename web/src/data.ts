/** Loading API data into components: refetched on demand, after a reconnect and on live events. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.ts';
import { useLiveStatus } from './live.ts';

/** A loaded resource: its data, its last error (shown, never swallowed), and a reload. */
export interface Resource<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
  /** Reloads at most once per `ms` however often it is asked (bursts of live events). */
  reloadSoon: () => void;
  set: (update: (current: T | undefined) => T | undefined) => void;
  /** When the last read ended (`performance.now()`); undefined while one is in flight. */
  settledAt: () => number | undefined;
}

/**
 * Fetches `path` (skipped while null), again when it changes and after every reconnect.
 * `onLoad` gets each answer as it lands, before the re-render (for state derived from it).
 */
export function useApi<T>(path: string | null, ms = 300, onLoad?: (data: T) => void): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const { generation } = useLiveStatus();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const settled = useRef<number | undefined>(undefined);
  const loaded = useRef(onLoad);
  loaded.current = onLoad;

  useEffect(() => {
    if (path === null) return;
    let current = true;
    setLoading(true);
    settled.current = undefined;
    api<T>(path)
      .then((d) => {
        if (!current) return;
        loaded.current?.(d);
        setData(d);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (current) setError(asApiError(e));
      })
      .finally(() => {
        if (!current) return;
        setLoading(false);
        settled.current = performance.now();
      });
    return () => {
      current = false;
    };
  }, [path, tick, generation]);

  const reload = useCallback(() => {
    setTick((n) => n + 1);
  }, []);
  const reloadSoon = useCallback(() => {
    timer.current ??= setTimeout(() => {
      timer.current = undefined;
      setTick((n) => n + 1);
    }, ms);
  }, [ms]);
  useEffect(
    () => () => {
      clearTimeout(timer.current);
    },
    [],
  );
  const settledAt = useCallback(() => settled.current, []);
  return { data, error, loading, reload, reloadSoon, set: setData, settledAt };
}

/** Any thrown value as an ApiError, so the page can show its detail. */
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, 'NETWORK', e instanceof Error ? e.message : String(e));
}

/** Runs an action, keeping its error for display; returns whether it succeeded. */
export function useAction(): {
  error: ApiError | undefined;
  busy: boolean;
  run: (fn: () => Promise<unknown>) => Promise<boolean>;
} {
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
      setError(undefined);
      return true;
    } catch (e) {
      setError(asApiError(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, busy, run };
}

/** Formats bytes as B, KiB, MiB… */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i] ?? 'B'}`;
}

/** A short local date-time, or a dash. */
export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}
