/** Small shared pieces: links, errors, progress bars, pagers, filterable tables. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError } from '../api.ts';
import { linkClick } from '../router.ts';

/** An in-app link. */
export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={props.href} onClick={linkClick} class={props.class}>
      {props.children}
    </a>
  );
}

/** An API error with its detail and code; nothing when there is none. */
export function ErrorBox({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message} <code>{error.code}</code>
    </p>
  );
}

/** A labelled progress bar. */
export function Progress({ percent, label }: { percent: number; label: string }) {
  const p = Math.max(0, Math.min(100, percent));
  return (
    <div
      class="progress"
      role="progressbar"
      aria-label={label}
      aria-valuenow={Math.round(p)}
      aria-valuemin={0}
      aria-valuemax={100}
    >
      <div style={{ width: `${p}%` }} />
    </div>
  );
}

/** Previous / next over `total` items, `limit` per page. */
export function Pager(props: {
  total: number;
  offset: number;
  limit: number;
  onChange: (offset: number) => void;
}) {
  const { total, offset, limit } = props;
  const last = offset + limit >= total;
  return (
    <nav class="pager" aria-label="pages">
      <button
        type="button"
        disabled={offset === 0}
        onClick={() => {
          props.onChange(Math.max(0, offset - limit));
        }}
      >
        ← Previous
      </button>
      <span>
        {total === 0 ? 0 : offset + 1}–{Math.min(total, offset + limit)} of {total}
      </span>
      <button
        type="button"
        disabled={last}
        onClick={() => {
          props.onChange(offset + limit);
        }}
      >
        Next →
      </button>
    </nav>
  );
}

/** The search box above a list (filtered here or by the server). */
export function FilterInput({ value, onInput }: { value: string; onInput: (q: string) => void }) {
  return (
    <label class="filter">
      Filter{' '}
      <input
        type="search"
        value={value}
        onInput={(e) => {
          onInput(e.currentTarget.value);
        }}
      />
    </label>
  );
}

/** A text field that filters the rows shown. */
export function useFilter<T>(rows: readonly T[], text: (row: T) => string) {
  const [q, setQ] = useState('');
  const shown = q ? rows.filter((r) => text(r).toLowerCase().includes(q.toLowerCase())) : rows;
  const input = <FilterInput value={q} onInput={setQ} />;
  return { shown, input };
}

type Cell = string | number | boolean | null | undefined;

/** A table of plain objects: one column per key of the first row (or `columns`), filterable. */
export function DataTable(props: {
  rows: readonly Record<string, unknown>[];
  columns?: string[];
  caption: string;
}) {
  const columns = props.columns ?? Object.keys(props.rows[0] ?? {});
  const { shown, input } = useFilter(props.rows, (r) => JSON.stringify(r));
  return (
    <div class="table-wrap">
      {props.rows.length > 10 ? input : null}
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((r, i) => (
            <tr key={i}>
              {columns.map((c) => (
                <td key={c}>{show(r[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {props.rows.length === 0 ? <p class="muted">Nothing yet.</p> : null}
    </div>
  );
}

/** Any API value as cell text. */
export function text(v: unknown): string {
  const c = show(v);
  return c === undefined || c === null ? '' : String(c);
}

function show(v: unknown): Cell {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'object') return JSON.stringify(v);
  return v as Cell;
}

/** A titled card. */
export function Card(props: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
    </section>
  );
}
