/**
 * Cluster and jobs (admins): nodes, zones, the leader and jobs, as far as this server offers
 * them. A server without the cluster routes answers 404, and the page says so plainly.
 */
import { api } from '../api.ts';
import { Card, DataTable, ErrorBox, text } from '../components/ui.tsx';
import { useAction, useApi } from '../data.ts';
import { useLiveEvents } from '../live.ts';

type Rows = Record<string, unknown>[] | { items: Record<string, unknown>[] };
const rowsOf = (r: Rows | undefined) => (r === undefined ? [] : Array.isArray(r) ? r : r.items);

function Missing({ what }: { what: string }) {
  return <p class="muted">This server does not offer {what} (single node, or an older Ferry).</p>;
}

/** Nodes and zones with health, for the overview. */
export function ClusterSummary() {
  const nodes = useApi<Rows>('/api/v1/cluster/nodes', 1000);
  return (
    <Card title="Nodes and zones" id="nodes">
      {nodes.error?.status === 404 ? (
        <Missing what="cluster information" />
      ) : (
        <ErrorBox error={nodes.error} />
      )}
      {nodes.data ? <DataTable caption="Nodes" rows={rowsOf(nodes.data)} /> : null}
    </Card>
  );
}

export function ClusterPage() {
  const zones = useApi<Rows>('/api/v1/cluster/zones', 1000);
  const jobs = useApi<Rows>('/api/v1/jobs', 500);
  const action = useAction();
  useLiveEvents((e) => {
    if (e.event.startsWith('job:')) jobs.reloadSoon();
  });
  return (
    <>
      <h1>Cluster and jobs</h1>
      <ClusterSummary />
      <Card title="Zones" id="zones">
        {zones.error?.status === 404 ? <Missing what="zones" /> : <ErrorBox error={zones.error} />}
        {zones.data ? <DataTable caption="Zones" rows={rowsOf(zones.data)} /> : null}
      </Card>
      <Card title="Jobs" id="jobs">
        {jobs.error?.status === 404 ? (
          <Missing what="the jobs list" />
        ) : (
          <ErrorBox error={jobs.error ?? action.error} />
        )}
        <ul class="plain">
          {rowsOf(jobs.data).map((j) => (
            <li key={text(j.id)}>
              <code>{text(j.id)}</code> {text(j.name ?? '')} {text(j.state ?? j.status ?? '')}{' '}
              <button
                type="button"
                onClick={() =>
                  void action.run(() =>
                    api(`/api/v1/jobs/${encodeURIComponent(text(j.id))}/cancel`, {
                      method: 'POST',
                    }).then(jobs.reload),
                  )
                }
              >
                Cancel
              </button>
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}
