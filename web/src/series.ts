/** Chart data: stored history from the API, then moved on by live events. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type ApiError } from './api.ts';
import { addPoint } from './components/chart.tsx';
import { asApiError, useApi } from './data.ts';
import { useLiveEvents, useLiveStatus } from './live.ts';

interface History {
  bucket_seconds: number;
  series: Record<string, number[]>;
}

function columns(h: History | undefined, names: readonly string[]): number[][] {
  if (!h) return [[], ...names.map(() => [])];
  return [h.series.t ?? [], ...names.map((n) => h.series[n] ?? [])];
}

/** How long after a history read lands a push may still be for an event the read counted. */
const settleMs = 2000;

/**
 * Events accepted / processed / failed per bucket, live.
 *
 * Stored history first, then each push adds its point. Pushes travel apart from the read: one
 * that comes while a read is in flight, or soon after it landed, may be for an event the read
 * already counted, or one it missed. Such a push is still drawn at once, and the history is read
 * again a second later, so the figures end on the server's count, never short or doubled.
 */
export function useEventSeries(windowSeconds: number, bucketSeconds: number) {
  const names = ['accepted', 'processed', 'failed'];
  const path = `/api/v1/history/events?window_seconds=${windowSeconds}&bucket_seconds=${bucketSeconds}`;
  const { generation } = useLiveStatus();
  const [data, setData] = useState<number[][]>(columns(undefined, names));
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [tick, setTick] = useState(0);
  // When the last read landed; undefined while one is in flight.
  const landed = useRef<number | undefined>(undefined);
  const again = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const readAgainSoon = () => {
    again.current ??= setTimeout(() => {
      again.current = undefined;
      setTick((n) => n + 1);
    }, 1000);
  };
  useEffect(() => {
    let current = true;
    landed.current = undefined;
    api<History>(path)
      .then((h) => {
        if (!current) return;
        setData(columns(h, names));
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (current) setError(asApiError(e));
      })
      .finally(() => {
        if (current) landed.current = performance.now();
      });
    return () => {
      current = false;
    };
  }, [path, generation, tick]);
  useEffect(
    () => () => {
      clearTimeout(again.current);
    },
    [],
  );
  useLiveEvents((e) => {
    const t = Date.parse(e.timestamp) / 1000;
    let column: number;
    let n = 1;
    if (e.event === 'event:accepted') {
      column = 1;
      n = (e.data as { ids: number[] }).ids.length;
    } else if (e.event === 'event:processed') {
      column = (e.data as { ok: boolean }).ok ? 2 : 3;
    } else {
      return;
    }
    if (landed.current === undefined || performance.now() - landed.current < settleMs) {
      readAgainSoon();
    }
    setData((d) => addPoint(d, bucketSeconds, t, column, n));
  });
  return { names, data, error };
}

/** Bytes delivered (and files, failures) per bucket; refetched as files finish. */
export function useTransferSeries(windowSeconds: number, bucketSeconds: number) {
  const names = ['bytes', 'files', 'failed'];
  const history = useApi<History>(
    `/api/v1/history/transfers?window_seconds=${windowSeconds}&bucket_seconds=${bucketSeconds}`,
    1000,
  );
  useLiveEvents((e) => {
    if (e.event === 'watch:file-finished' || e.event === 'transfer:status') history.reloadSoon();
  });
  return { names, data: columns(history.data, names), error: history.error };
}
