/** Health and settings: store, queues, workers, uptime; the configuration; API keys; users. */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { Me } from '../app.tsx';
import { Card, DataTable, ErrorBox, FilterInput, Pager } from '../components/ui.tsx';
import { useAction, useApi, when } from '../data.ts';
import type { Status } from './overview.tsx';

interface Key {
  id: number;
  name: string;
  prefix: string;
  role: string;
  created_at: string;
  last_used_at: string | null;
}

export function SettingsPage({ me }: { me: Me }) {
  const admin = me.role === 'admin';
  const status = useApi<Status>('/api/v1/status');
  return (
    <>
      <h1>Health and settings</h1>
      <Card title="Health" id="health">
        <ErrorBox error={status.error} />
        {status.data ? (
          <dl class="pairs">
            <dt>Store</dt>
            <dd>{status.data.store}</dd>
            <dt>Version</dt>
            <dd>{status.data.version}</dd>
            <dt>Role</dt>
            <dd>{status.data.role}</dd>
            <dt>Uptime</dt>
            <dd>{Math.round(status.data.uptime_seconds / 60)} min</dd>
            <dt>Workers</dt>
            <dd>
              {status.data.workers.running ? 'running' : 'stopped'}:{' '}
              {status.data.workers.job_names.join(', ')}
            </dd>
          </dl>
        ) : null}
        <DataTable caption="Queues" rows={status.data?.queues ?? []} />
      </Card>
      <ApiKeys admin={admin} />
      {admin ? <Users /> : null}
      {admin ? <Config /> : null}
    </>
  );
}

function ApiKeys({ admin }: { admin: boolean }) {
  const keys = useApi<Key[]>('/api/v1/api-keys');
  const [name, setName] = useState('');
  const [role, setRole] = useState('user');
  const [shown, setShown] = useState<string | undefined>(undefined);
  const action = useAction();
  return (
    <Card title="API keys" id="keys">
      <form
        class="toolbar"
        aria-label="Create an API key"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(async () => {
            const made = await api<{ key: string }>('/api/v1/api-keys', {
              method: 'POST',
              body: { name, role },
            });
            setShown(made.key);
            setName('');
            keys.reload();
          });
        }}
      >
        <label>
          Name{' '}
          <input
            name="key_name"
            required
            value={name}
            onInput={(e) => {
              setName(e.currentTarget.value);
            }}
          />
        </label>
        {admin ? (
          <label>
            Role{' '}
            <select
              name="key_role"
              value={role}
              onChange={(e) => {
                setRole(e.currentTarget.value);
              }}
            >
              <option value="user">user</option>
              <option value="admin">admin</option>
            </select>
          </label>
        ) : null}
        <button type="submit">Create key</button>
      </form>
      {shown ? (
        <p class="once" role="status">
          Copy this key now, it is shown only once: <code data-new-key>{shown}</code>
        </p>
      ) : null}
      <ErrorBox error={keys.error ?? action.error} />
      <ul class="plain">
        {(keys.data ?? []).map((k) => (
          <li key={k.id}>
            <code>{k.prefix}…</code> {k.name} ({k.role}), created {when(k.created_at)}, last used{' '}
            {when(k.last_used_at)}{' '}
            <button
              type="button"
              onClick={() =>
                void action.run(() =>
                  api(`/api/v1/api-keys/${k.id}`, { method: 'DELETE' }).then(keys.reload),
                )
              }
            >
              Revoke {k.name}
            </button>
          </li>
        ))}
      </ul>
    </Card>
  );
}

function Users() {
  const [offset, setOffset] = useState(0);
  const [q, setQ] = useState('');
  const users = useApi<{ total: number; items: Record<string, unknown>[] }>(
    `/api/v1/users?limit=50&offset=${offset}${q ? `&q=${encodeURIComponent(q)}` : ''}`,
  );
  return (
    <Card title="Users" id="users">
      <FilterInput value={q} onInput={setQ} />
      <ErrorBox error={users.error} />
      <DataTable caption="Users" rows={users.data?.items ?? []} />
      <Pager total={users.data?.total ?? 0} offset={offset} limit={50} onChange={setOffset} />
    </Card>
  );
}

function Config() {
  const config = useApi<unknown>('/api/v1/config');
  return (
    <Card title="Effective configuration (secrets masked)" id="config">
      <ErrorBox error={config.error} />
      <pre class="config">{JSON.stringify(config.data, null, 2)}</pre>
    </Card>
  );
}
