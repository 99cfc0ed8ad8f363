/** Audit: transfer logs and account actions, searchable and exportable as CSV. */
import { useState } from 'preact/hooks';
import { download } from '../api.ts';
import { DataTable, ErrorBox, Pager } from '../components/ui.tsx';
import { useAction, useApi } from '../data.ts';

const pageSize = 50;
// Preact types `type` per input kind; these are all plain text-like inputs.
const fields = [
  { name: 'from', label: 'From', type: 'datetime-local' },
  { name: 'to', label: 'To', type: 'datetime-local' },
  { name: 'user_id', label: 'User id', type: 'number' },
  { name: 'transfer_id', label: 'Transfer id', type: 'number' },
  { name: 'file', label: 'File name', type: 'text' },
  { name: 'q', label: 'Text', type: 'search' },
];

export function AuditPage({ admin }: { admin: boolean }) {
  const [form, setForm] = useState<Record<string, string>>({});
  const [query, setQuery] = useState('');
  const [offset, setOffset] = useState(0);
  const page = useApi<{ total: number; items: Record<string, unknown>[] }>(
    `/api/v1/audit?limit=${pageSize}&offset=${offset}${query}`,
  );
  const exporting = useAction();
  function search() {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) {
      if (!v) continue;
      p.set(k, k === 'from' || k === 'to' ? new Date(v).toISOString() : v);
    }
    setOffset(0);
    setQuery(p.size > 0 ? `&${p.toString()}` : '');
  }
  return (
    <>
      <h1>Audit</h1>
      <p class="muted">
        {admin
          ? 'Every transfer log and account action.'
          : 'Your transfers’ logs and your account actions.'}
      </p>
      <form
        class="toolbar wrap"
        aria-label="Search the audit trail"
        onSubmit={(e) => {
          e.preventDefault();
          search();
        }}
      >
        {fields.map((f) => (
          <label key={f.name}>
            {f.label}{' '}
            <input
              name={f.name}
              type={f.type as 'text'}
              value={form[f.name] ?? ''}
              onInput={(e) => {
                setForm({ ...form, [f.name]: e.currentTarget.value });
              }}
            />
          </label>
        ))}
        <label>
          Outcome{' '}
          <select
            name="outcome"
            value={form.outcome ?? ''}
            onChange={(e) => {
              setForm({ ...form, outcome: e.currentTarget.value });
            }}
          >
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="error">error</option>
          </select>
        </label>
        <button type="submit">Search</button>
        <button
          type="button"
          onClick={() =>
            void exporting.run(() =>
              download(`/api/v1/audit?format=csv${query}`, 'ferry-audit.csv'),
            )
          }
        >
          Export CSV
        </button>
      </form>
      <ErrorBox error={page.error ?? exporting.error} />
      <DataTable
        caption="Audit trail, newest first"
        rows={page.data?.items ?? []}
        columns={['at', 'kind', 'actor', 'user_id', 'transfer_id', 'action', 'outcome', 'message']}
      />
      <Pager total={page.data?.total ?? 0} offset={offset} limit={pageSize} onChange={setOffset} />
    </>
  );
}
