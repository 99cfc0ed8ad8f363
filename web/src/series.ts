/** Chart data: stored history from the API, then moved on by live events without refetching. */
import { useEffect, useState } from 'preact/hooks';
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

/** Events accepted / processed / failed per bucket, live. */
export function useEventSeries(windowSeconds: number, bucketSeconds: number) {
  const names = ['accepted', 'processed', 'failed'];
  const history = useApi<History>(
    `/api/v1/history/events?window_seconds=${windowSeconds}&bucket_seconds=${bucketSeconds}`,
  );
  const [data, setData] = useState<number[][]>(columns(undefined, names));
  useEffect(() => {
    setData(columns(history.data, names));
  }, [history.data]);
  useLiveEvents((e) => {
    const t = Date.parse(e.timestamp) / 1000;
    if (e.event === 'event:accepted') {
      const n = (e.data as { ids: number[] }).ids.length;
      setData((d) => addPoint(d, bucketSeconds, t, 1, n));
    } else if (e.event === 'event:processed') {
      const ok = (e.data as { ok: boolean }).ok;
      setData((d) => addPoint(d, bucketSeconds, t, ok ? 2 : 3, 1));
    }
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
