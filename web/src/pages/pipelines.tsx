/** Pipelines (admins): schedules, last runs, run now, a run's files, a file's ledger history. */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Card, DataTable, ErrorBox, text, Pager } from '../components/ui.tsx';
import { useAction, useApi } from '../data.ts';
import { useLiveEvents } from '../live.ts';

interface Pipeline {
  name: string;
  [k: string]: unknown;
}

export function PipelinesPage() {
  const list = useApi<{ items: Pipeline[] }>('/api/v1/pipelines', 1000);
  const [name, setName] = useState<string | undefined>(undefined);
  const action = useAction();
  useLiveEvents((e) => {
    if (e.event.startsWith('run:')) list.reloadSoon();
  });
  return (
    <>
      <h1>Pipelines</h1>
      <ErrorBox error={list.error ?? action.error} />
      {list.data?.items.length === 0 ? (
        <p class="muted">No pipelines are configured (see docs/pipelines.md).</p>
      ) : null}
      <ul class="plain">
        {(list.data?.items ?? []).map((p) => (
          <li key={p.name} class="card">
            <h2>{p.name}</h2>
            <pre>{JSON.stringify(p, null, 2)}</pre>
            <button
              type="button"
              onClick={() =>
                void action.run(() =>
                  api(`/api/v1/pipelines/${encodeURIComponent(p.name)}/runs`, {
                    method: 'POST',
                    body: {},
                  }),
                )
              }
            >
              Run now
            </button>{' '}
            <button
              type="button"
              onClick={() => {
                setName(p.name);
              }}
            >
              Runs and files
            </button>
          </li>
        ))}
      </ul>
      {name ? <PipelineDetail name={name} /> : null}
    </>
  );
}

function PipelineDetail({ name }: { name: string }) {
  const base = `/api/v1/pipelines/${encodeURIComponent(name)}`;
  const [offset, setOffset] = useState(0);
  const runs = useApi<{ total: number; items: Record<string, unknown>[] }>(
    `${base}/runs?limit=20&offset=${offset}`,
    500,
  );
  const files = useApi<{ total: number; items: Record<string, unknown>[] }>(
    `${base}/files?limit=100`,
    500,
  );
  const [run, setRun] = useState<string | undefined>(undefined);
  const [file, setFile] = useState<number | undefined>(undefined);
  const runDetail = useApi<Record<string, unknown>>(run ? `${base}/runs/${run}` : null);
  const history = useApi<{ items: Record<string, unknown>[] }>(
    file ? `${base}/files/${file}/history` : null,
  );
  useLiveEvents((e) => {
    if ((e.data as { pipeline?: string }).pipeline === name) {
      runs.reloadSoon();
      files.reloadSoon();
    }
  });
  return (
    <>
      <Card title={`${name}: runs`} id="runs">
        <ErrorBox error={runs.error} />
        <ul class="plain">
          {(runs.data?.items ?? []).map((r) => (
            <li key={text(r.id)}>
              <button
                type="button"
                onClick={() => {
                  setRun(text(r.id));
                }}
              >
                {text(r.id)}
              </button>{' '}
              {text(r.status)} {text(r.started_at ?? '')}
            </li>
          ))}
        </ul>
        <Pager total={runs.data?.total ?? 0} offset={offset} limit={20} onChange={setOffset} />
        {runDetail.data ? <pre>{JSON.stringify(runDetail.data, null, 2)}</pre> : null}
      </Card>
      <Card title={`${name}: files`} id="pfiles">
        <ErrorBox error={files.error ?? history.error} />
        <ul class="plain">
          {(files.data?.items ?? []).map((f) => (
            <li key={text(f.id)}>
              <button
                type="button"
                onClick={() => {
                  setFile(Number(f.id));
                }}
              >
                {text(f.path ?? f.name ?? f.id)}
              </button>{' '}
              {text(f.status)}
            </li>
          ))}
        </ul>
        {history.data ? <DataTable caption="Ledger history" rows={history.data.items} /> : null}
      </Card>
    </>
  );
}
