/** Overview: what is moving now, throughput and events over time, queues, runs, nodes. */
import { useState } from 'preact/hooks';
import { Chart } from '../components/chart.tsx';
import { Card, DataTable, ErrorBox, Link, Progress } from '../components/ui.tsx';
import { bytes, useApi } from '../data.ts';
import { useLiveEvents } from '../live.ts';
import { useEventSeries, useTransferSeries } from '../series.ts';
import type { Transfer } from './transfers.tsx';
import { ClusterSummary } from './cluster.tsx';

export interface Status {
  version: string;
  store: string;
  role: string;
  node_id: string;
  uptime_seconds: number;
  workers: { job_names: string[]; running: boolean };
  queues: Record<string, unknown>[];
}

/** Live progress of one transfer, from `transfer:progress`. */
export interface Live {
  bytes: number;
  totalBytes: number;
  percent: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  at: number;
}

const activeStates = new Set(['pending', 'validating', 'copying', 'verifying', 'active']);

/** Transfers with live progress and status applied, shared by the overview and the list. */
export function useLiveTransfers(path: string) {
  const list = useApi<{ total: number; items: Transfer[] }>(path, 500);
  const [progress, setProgress] = useState<Record<number, Live>>({});
  useLiveEvents((e) => {
    const d = e.data as { transferId?: number; status?: string } & Partial<Live>;
    if (d.transferId === undefined) return;
    const id = d.transferId;
    if (e.event === 'transfer:progress') {
      setProgress((p) => ({ ...p, [id]: { ...(d as Live), at: Date.now() } }));
    }
    const known = list.data?.items.some((t) => t.id === id) ?? false;
    if (e.event === 'transfer:status' && known && d.status) {
      const status = d.status;
      list.set(
        (l) => l && { ...l, items: l.items.map((t) => (t.id === id ? { ...t, status } : t)) },
      );
    }
    // Counts and byte totals live on the transfer row: reread it (debounced) as files finish.
    if (!known || e.event === 'watch:file-finished' || e.event === 'transfer:status')
      list.reloadSoon();
  });
  const ids = (list.data?.items ?? []).map((t) => t.id).join(',');
  const counts = useApi<Record<string, Counts>>(
    ids ? `/api/v1/stats/transfers?ids=${ids}` : null,
    300,
  );
  useLiveEvents((e) => {
    if (e.event === 'watch:file-finished' || e.event === 'watch:file-detected') counts.reloadSoon();
  });
  /** Files of a row: a watch profile's from its file rows, a one-off's from the transfer row. */
  const files = (t: Transfer) =>
    t.watch_mode_enabled ? (counts.data?.[String(t.id)]?.completed ?? 0) : t.file_count;
  return { list, progress, files };
}

/** Files per transfer by outcome (GET /api/v1/stats/transfers). */
interface Counts {
  detected: number;
  completed: number;
  failed: number;
  bytes: number;
}

export function OverviewPage({ admin }: { admin: boolean }) {
  const status = useApi<Status>('/api/v1/status', 1000);
  const { list, progress, files } = useLiveTransfers('/api/v1/transfers?limit=200');
  const events = useEventSeries(900, 10);
  const throughput = useTransferSeries(86400, 600);
  const failures = useApi<{ series: Record<string, number[]> }>(
    '/api/v1/history/events?window_seconds=86400&bucket_seconds=3600',
    1000,
  );
  useLiveEvents((e) => {
    // Queue depths move with work arriving or finishing, not with scan cycles or progress.
    if (e.event !== 'watch:cycle' && e.event !== 'transfer:progress') status.reloadSoon();
    if (e.event === 'event:processed') failures.reloadSoon();
  });
  const items = list.data?.items ?? [];
  const active = items.filter((t) => activeStates.has(t.status));
  const watch = items.filter((t) => t.watch_mode_enabled);
  const byState = count(watch.map((t) => t.status));
  const now = Object.values(progress)
    .filter((p) => Date.now() - p.at < 5000 && p.percent < 100)
    .reduce((a, p) => a + p.bytesPerSecond, 0);
  const failed24 =
    (failures.data?.series.failed ?? []).reduce((a, b) => a + b, 0) +
    (throughput.data[3] ?? []).reduce((a, b) => a + b, 0);
  return (
    <>
      <h1>Overview</h1>
      <ErrorBox error={status.error ?? list.error ?? events.error ?? throughput.error} />
      <div class="figures">
        <Figure label="Active transfers" value={active.length} />
        <Figure label="Throughput now" value={`${bytes(now)}/s`} />
        <Figure label="Failures (24 h)" value={failed24} />
        <Figure
          label="Watch profiles"
          value={
            Object.entries(byState)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ') || '0'
          }
        />
        <Figure label="Store" value={status.data?.store ?? '–'} />
        <Figure label="Version" value={status.data?.version ?? '–'} />
      </div>
      <div class="grid">
        <Card title="Active transfers" id="active">
          {active.length === 0 ? <p class="muted">Nothing is moving.</p> : null}
          <ul class="plain">
            {active.map((t) => {
              const p = progress[t.id];
              return (
                <li key={t.id} data-transfer={t.id}>
                  <Link href={`/ui/transfers/${t.id}`}>#{t.id}</Link> {t.source_path} →{' '}
                  {t.destination_path} <span class={`state ${t.status}`}>{t.status}</span>
                  <Progress
                    percent={p?.percent ?? t.progress_percent}
                    label={`transfer ${t.id}`}
                  />{' '}
                  {files(t)} files, {bytes(p?.bytes ?? t.bytes_transferred)}
                </li>
              );
            })}
          </ul>
        </Card>
        <Card title="Throughput, 24 h" id="throughput">
          <Chart
            title="Bytes delivered per 10 minutes"
            names={['bytes']}
            data={[throughput.data[0] ?? [], throughput.data[1] ?? []]}
          />
        </Card>
        <Card title="Events per 10 s" id="events">
          <Chart
            title="Events accepted, processed and failed per 10 s"
            names={events.names}
            data={events.data}
          />
        </Card>
        <Card title="Queues" id="queues">
          <DataTable caption="Queue depths" rows={status.data?.queues ?? []} />
          <p class="muted">
            Workers {status.data?.workers.running ? 'running' : 'stopped'}, up{' '}
            {Math.round((status.data?.uptime_seconds ?? 0) / 60)} min, node {status.data?.node_id}
          </p>
        </Card>
        {admin ? <PipelineRuns /> : null}
        {admin ? <ClusterSummary /> : null}
      </div>
    </>
  );
}

function PipelineRuns() {
  const pipelines = useApi<{ items: Record<string, unknown>[] }>('/api/v1/pipelines', 1000);
  useLiveEvents((e) => {
    if (e.event.startsWith('run:')) pipelines.reloadSoon();
  });
  return (
    <Card title="Pipeline runs" id="runs">
      <ErrorBox error={pipelines.error} />
      <DataTable caption="Pipelines and their last run" rows={pipelines.data?.items ?? []} />
    </Card>
  );
}

function Figure({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="figure" data-figure={label}>
      <span class="label">{label}</span>
      <span class="value">{value}</span>
    </div>
  );
}

function count(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
