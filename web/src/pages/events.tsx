/** Events (the task monitor): rates, latency, failures with errors, per-user counts, one event. */
import { useState } from 'preact/hooks';
import { Chart } from '../components/chart.tsx';
import { Card, DataTable, ErrorBox, Pager } from '../components/ui.tsx';
import { useApi, when } from '../data.ts';
import { useLiveEvents } from '../live.ts';
import { useEventSeries } from '../series.ts';

interface Stats {
  per_user: Record<string, unknown>[];
  latency_ms: { avg: number | null; p50: number | null; p95: number | null; max: number | null };
  failed: { id: number; event_name: string; error: string | null; at: string | null }[];
}
interface EventRow {
  id: number;
  event_name: string;
  event_type: string;
  status?: string;
  processed: boolean;
  processing_error: string | null;
  created_at: string;
  processed_at: string | null;
  [k: string]: unknown;
}

const pageSize = 50;
const ms = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)} ms`);

export function EventsPage({ admin }: { admin: boolean }) {
  const series = useEventSeries(600, 1);
  const stats = useApi<Stats>('/api/v1/stats/events', 500);
  const [offset, setOffset] = useState(0);
  const list = useApi<EventRow[]>(`/api/v1/events?limit=${pageSize}&offset=${offset}`, 500);
  const [selected, setSelected] = useState<number | undefined>(undefined);
  useLiveEvents((e) => {
    if (e.event === 'event:processed' || e.event === 'event:accepted') {
      stats.reloadSoon();
      list.reloadSoon();
    }
  });
  const totals = ['accepted', 'processed', 'failed'].map(
    (n, i) => [n, (series.data[i + 1] ?? []).reduce((a, b) => a + b, 0)] as const,
  );
  const l = stats.data?.latency_ms;
  return (
    <>
      <h1>Events</h1>
      <ErrorBox error={series.error ?? stats.error ?? list.error} />
      <div class="figures">
        {totals.map(([n, v]) => (
          <div class="figure" key={n} data-figure={`events ${n}`}>
            <span class="label">{n} (10 min)</span>
            <span class="value">{v}</span>
          </div>
        ))}
        <div class="figure">
          <span class="label">Latency p50 / p95</span>
          <span class="value">
            {ms(l?.p50 ?? null)} / {ms(l?.p95 ?? null)}
          </span>
        </div>
      </div>
      <Card title="Per second" id="rate">
        <Chart
          title="Events accepted, processed and failed per second"
          names={series.names}
          data={series.data}
        />
      </Card>
      <div class="grid">
        <Card title="Failed events" id="failed">
          <ul class="plain failed-events">
            {(stats.data?.failed ?? []).map((f) => (
              <li key={f.id} data-event={f.id}>
                <button
                  type="button"
                  onClick={() => {
                    setSelected(f.id);
                  }}
                >
                  #{f.id} {f.event_name}
                </button>{' '}
                <span class="error">{f.error}</span> <span class="muted">{when(f.at)}</span>
              </li>
            ))}
          </ul>
          {stats.data?.failed.length === 0 ? <p class="muted">No failures in 24 h.</p> : null}
        </Card>
        <Card title={admin ? 'Per user (24 h)' : 'Your counts (24 h)'} id="users">
          <DataTable caption="Events per user" rows={stats.data?.per_user ?? []} />
        </Card>
      </div>
      <Card title="Recent events" id="recent">
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Recent events</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">State</th>
                <th scope="col">Accepted</th>
              </tr>
            </thead>
            <tbody>
              {(list.data ?? []).map((e) => (
                <tr key={e.id}>
                  <td>
                    <button
                      type="button"
                      onClick={() => {
                        setSelected(e.id);
                      }}
                    >
                      {e.id}
                    </button>
                  </td>
                  <td>{e.event_name}</td>
                  <td>{e.event_type}</td>
                  <td>
                    {e.processing_error ? (
                      <span class="error">failed: {e.processing_error}</span>
                    ) : e.processed ? (
                      'processed'
                    ) : (
                      'waiting'
                    )}
                  </td>
                  <td>{when(e.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager
          total={offset + (list.data?.length ?? 0) + (list.data?.length === pageSize ? 1 : 0)}
          offset={offset}
          limit={pageSize}
          onChange={setOffset}
        />
      </Card>
      {selected !== undefined ? (
        <EventDetail
          id={selected}
          onClose={() => {
            setSelected(undefined);
          }}
        />
      ) : null}
    </>
  );
}

function EventDetail({ id, onClose }: { id: number; onClose: () => void }) {
  const event = useApi<EventRow>(`/api/v1/events/${id}`);
  const e = event.data;
  return (
    <section class="card detail" aria-labelledby="event-detail">
      <h2 id="event-detail">Event #{id}</h2>
      <button type="button" onClick={onClose}>
        Close
      </button>
      <ErrorBox error={event.error} />
      {e ? (
        <>
          <h3>Status history</h3>
          <ol>
            <li>accepted {when(e.created_at)}</li>
            {e.processed_at ? (
              <li>
                {e.processing_error ? `failed: ${e.processing_error}` : 'processed'}{' '}
                {when(e.processed_at)}
              </li>
            ) : (
              <li>waiting to be processed</li>
            )}
          </ol>
          <h3>Payload</h3>
          <pre>{JSON.stringify(e.payload, null, 2)}</pre>
          <h3>Normalized properties</h3>
          <pre>{JSON.stringify(e.properties, null, 2)}</pre>
        </>
      ) : null}
    </section>
  );
}
