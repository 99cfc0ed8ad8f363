/** Chart data: stored history from the API, then moved on by live events. */
import { useState } from 'preact/hooks';
import { addPoint } from './components/chart.tsx';
import { useApi } from './data.ts';
import { useLiveEvents } from './live.ts';

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
  const [data, setData] = useState<number[][]>(columns(undefined, names));
  const history = useApi<History>(
    `/api/v1/history/events?window_seconds=${windowSeconds}&bucket_seconds=${bucketSeconds}`,
    1000,
    (h) => {
      setData(columns(h, names));
    },
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
    const landed = history.settledAt();
    if (landed === undefined || performance.now() - landed < settleMs) history.reloadSoon();
    setData((d) => addPoint(d, bucketSeconds, t, column, n));
  });
  return { names, data, error: history.error };
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
