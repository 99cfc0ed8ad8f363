/** Transfers: the create form (copy or move, now or watched) and the live list. */
import { useState } from 'preact/hooks';
import { transferStatuses } from '../../../src/client/index.ts';
import { api } from '../api.ts';
import { FolderPicker } from '../components/folder-picker.tsx';
import { ErrorBox, Link, Pager, Progress, useFilter } from '../components/ui.tsx';
import { bytes, useAction } from '../data.ts';
import { navigate } from '../router.ts';
import { useLiveTransfers } from './overview.tsx';

/** A transfer as GET /api/v1/transfers shows it. */
export interface Transfer {
  id: number;
  source_path: string;
  destination_path: string;
  status: string;
  operation_mode: string;
  watch_mode_enabled: boolean;
  watch_continuous: boolean;
  settle_time_seconds: number;
  file_count: number;
  file_size: number;
  bytes_transferred: number;
  progress_percent: number;
  error_message: string | null;
  checksum_algorithm: string;
  conflict_policy: string;
  created_at: string;
}

const statuses = ['', ...transferStatuses];
const pageSize = 25;

export function TransfersPage() {
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const path = `/api/v1/transfers?limit=${pageSize}&offset=${offset}${status ? `&status=${status}` : ''}`;
  const { list, progress, files } = useLiveTransfers(path);
  const rows = list.data?.items ?? [];
  const { shown, input } = useFilter(
    rows,
    (t) => `${t.id} ${t.source_path} ${t.destination_path} ${t.status}`,
  );
  return (
    <>
      <h1>Transfers</h1>
      <CreateTransfer
        onCreated={(id) => {
          navigate(`/ui/transfers/${id}`);
        }}
      />
      <section aria-labelledby="list-title">
        <h2 id="list-title">All transfers</h2>
        <div class="toolbar">
          <label>
            Status{' '}
            <select
              value={status}
              onChange={(e) => {
                setStatus(e.currentTarget.value);
                setOffset(0);
              }}
            >
              {statuses.map((s) => (
                <option key={s} value={s}>
                  {s || 'any'}
                </option>
              ))}
            </select>
          </label>
          {input}
        </div>
        <ErrorBox error={list.error} />
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Transfers with live progress</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">From → to</th>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col">Files</th>
                <th scope="col">Rate, ETA</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((t) => {
                const p = progress[t.id];
                const live = p && Date.now() - p.at < 5000 && p.percent < 100;
                return (
                  <tr key={t.id} data-transfer={t.id} data-status={t.status}>
                    <td>
                      <Link href={`/ui/transfers/${t.id}`}>{t.id}</Link>
                    </td>
                    <td class="path">
                      {t.source_path} → {t.destination_path}
                    </td>
                    <td>
                      {t.operation_mode}
                      {t.watch_mode_enabled
                        ? t.watch_continuous
                          ? ', watching'
                          : ', watch once'
                        : ''}
                    </td>
                    <td>
                      <span class={`state ${t.status}`}>{t.status}</span>
                      {t.error_message ? <span class="error"> {t.error_message}</span> : null}
                    </td>
                    <td>
                      <Progress
                        percent={p?.percent ?? t.progress_percent}
                        label={`transfer ${t.id} progress`}
                      />
                      {bytes(p?.bytes ?? t.bytes_transferred)}
                    </td>
                    <td data-files={files(t)}>{files(t)}</td>
                    <td>
                      {live
                        ? `${bytes(p.bytesPerSecond)}/s, ${p.etaSeconds === null ? '–' : `${Math.round(p.etaSeconds)} s`}`
                        : '–'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <Pager
          total={list.data?.total ?? 0}
          offset={offset}
          limit={pageSize}
          onChange={setOffset}
        />
      </section>
    </>
  );
}

const algorithms = ['xxh128', 'xxh3', 'xxh64', 'sha256', 'sha1', 'md5', 'blake3'];

function CreateTransfer({ onCreated }: { onCreated: (id: number) => void }) {
  const [source, setSource] = useState('');
  const [destination, setDestination] = useState('');
  const [mode, setMode] = useState('copy');
  const [when, setWhen] = useState('now');
  const [settle, setSettle] = useState(5);
  const [algorithm, setAlgorithm] = useState('xxh128');
  const [conflict, setConflict] = useState('fail');
  const action = useAction();
  async function submit() {
    const created = await api<Transfer>('/api/v1/transfers', {
      method: 'POST',
      body: {
        source_path: source,
        destination_path: destination,
        operation_mode: mode,
        watch_mode_enabled: when !== 'now',
        watch_continuous: when === 'continuous',
        settle_time_seconds: settle,
        checksum_algorithm: algorithm,
        conflict_policy: conflict,
      },
    });
    onCreated(created.id);
  }
  return (
    <form
      class="card create"
      aria-label="New transfer"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(submit);
      }}
    >
      <h2>New transfer</h2>
      <FolderPicker label="Source" name="source_path" value={source} onChange={setSource} />
      <FolderPicker
        label="Destination"
        name="destination_path"
        value={destination}
        onChange={setDestination}
      />
      <div class="row">
        <Select
          label="Operation"
          name="operation_mode"
          value={mode}
          onChange={setMode}
          options={['copy', 'move']}
        />
        <Select
          label="When"
          name="when"
          value={when}
          onChange={setWhen}
          options={['now', 'watch once', 'continuous']}
        />
        <label>
          Settle time (s)
          <input
            name="settle_time_seconds"
            type="number"
            min={0}
            max={3600}
            value={settle}
            onInput={(e) => {
              setSettle(Number(e.currentTarget.value));
            }}
          />
        </label>
        <Select
          label="Algorithm"
          name="checksum_algorithm"
          value={algorithm}
          onChange={setAlgorithm}
          options={algorithms}
        />
        <Select
          label="If the file exists"
          name="conflict_policy"
          value={conflict}
          onChange={setConflict}
          options={['fail', 'skip_if_identical', 'overwrite', 'rename']}
        />
      </div>
      <button type="submit" disabled={action.busy}>
        Create
      </button>
      <ErrorBox error={action.error} />
    </form>
  );
}

function Select(props: {
  label: string;
  name: string;
  value: string;
  options: string[];
  onChange: (v: string) => void;
}) {
  return (
    <label>
      {props.label}{' '}
      <select
        name={props.name}
        value={props.value}
        onChange={(e) => {
          props.onChange(e.currentTarget.value);
        }}
      >
        {props.options.map((o) => (
          <option key={o} value={o === 'watch once' ? 'once' : o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
