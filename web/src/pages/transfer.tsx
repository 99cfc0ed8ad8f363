/** One transfer: its state, actions, per-file history with both checksums, log and reports. */
import { useState } from 'preact/hooks';
import { api, download } from '../api.ts';
import { Card, DataTable, ErrorBox, Pager, Progress, useFilter } from '../components/ui.tsx';
import { bytes, useAction, useApi, when } from '../data.ts';
import { useLiveEvents } from '../live.ts';
import { navigate } from '../router.ts';
import type { Transfer } from './transfers.tsx';

interface FileRow {
  id: number;
  file_path: string;
  file_size: number;
  status: string;
  algorithm: string;
  source_checksum: string | null;
  destination_checksum: string | null;
  checksum_match: boolean | null;
  attempts: number;
  transfer_completed_at: string | null;
  error_message: string | null;
}
interface Files {
  total_files_detected: number;
  total_files_completed: number;
  total_files_failed: number;
  files: FileRow[];
}

const pageSize = 50;

export function TransferPage({ id }: { id: number }) {
  const transfer = useApi<Transfer>(`/api/v1/transfers/${id}`, 300);
  const [offset, setOffset] = useState(0);
  const files = useApi<Files>(
    `/api/v1/transfers/${id}/watch-history?limit=${pageSize}&offset=${offset}`,
    200,
  );
  const logs = useApi<{ items: Record<string, unknown>[] }>(`/api/v1/transfers/${id}/logs`, 1000);
  const [percent, setPercent] = useState<number | undefined>(undefined);
  const action = useAction();
  useLiveEvents((e) => {
    const d = e.data as { transferId?: number; percent?: number };
    if (d.transferId !== id) return;
    if (e.event === 'transfer:progress') setPercent(d.percent);
    if (e.event === 'transfer:status') transfer.reloadSoon();
    // Scan cycles change no row; files and the log change when a file is seen or finishes.
    if (e.event === 'watch:cycle' || e.event === 'transfer:progress') return;
    files.reloadSoon();
    logs.reloadSoon();
  });
  const t = transfer.data;
  const rows = files.data?.files ?? [];
  const { shown, input } = useFilter(rows, (f) => `${f.file_path} ${f.status}`);
  const act = (verb: string) =>
    action.run(async () => {
      await api(`/api/v1/transfers/${id}/${verb}`, { method: 'POST' });
      transfer.reload();
    });
  return (
    <>
      <h1>Transfer #{id}</h1>
      <ErrorBox error={transfer.error} />
      {t ? (
        <Card title="State" id="state">
          <p>
            <code>{t.source_path}</code> → <code>{t.destination_path}</code> ({t.operation_mode},{' '}
            {t.checksum_algorithm}, on conflict {t.conflict_policy}
            {t.watch_mode_enabled
              ? `, ${t.watch_continuous ? 'watching continuously' : 'watch once'}, settle ${t.settle_time_seconds} s`
              : ''}
            )
          </p>
          <p>
            State{' '}
            <span class={`state ${t.status}`} data-status={t.status}>
              {t.status}
            </span>{' '}
            · {t.file_count} files · {bytes(t.bytes_transferred)} · created {when(t.created_at)}
          </p>
          {t.error_message ? <p class="error">{t.error_message}</p> : null}
          <Progress percent={percent ?? t.progress_percent} label="progress" />
          <div class="toolbar">
            {t.watch_mode_enabled && t.status !== 'paused' ? (
              <button type="button" onClick={() => void act('pause-watch')}>
                Pause
              </button>
            ) : null}
            {t.status === 'paused' ? (
              <button type="button" onClick={() => void act('resume-watch')}>
                Resume
              </button>
            ) : null}
            <button type="button" onClick={() => void act('cancel')}>
              Cancel
            </button>
            <button
              type="button"
              class="danger"
              onClick={() =>
                void action.run(async () => {
                  if (!confirm(`Delete transfer ${id}?`)) return;
                  await api(`/api/v1/transfers/${id}`, { method: 'DELETE' });
                  navigate('/ui/transfers');
                })
              }
            >
              Delete
            </button>
            {(['json', 'csv', 'pdf'] as const).map((f) => (
              <button
                key={f}
                type="button"
                onClick={() =>
                  void action.run(() =>
                    download(
                      `/api/v1/transfers/${id}/report?format=${f}`,
                      `ferry-transfer-${id}.${f}`,
                    ),
                  )
                }
              >
                Report ({f.toUpperCase()})
              </button>
            ))}
          </div>
          <ErrorBox error={action.error} />
        </Card>
      ) : null}
      <Card title="Files" id="files">
        <ErrorBox error={files.error} />
        <p>
          {files.data?.total_files_detected ?? 0} detected, {files.data?.total_files_completed ?? 0}{' '}
          completed, {files.data?.total_files_failed ?? 0} failed
        </p>
        {input}
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Files with both checksums</caption>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Size</th>
                <th scope="col">State</th>
                <th scope="col">Source checksum</th>
                <th scope="col">Destination checksum</th>
                <th scope="col">Attempts</th>
                <th scope="col">Done</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((f) => (
                <tr key={f.id} data-file={f.file_path} data-status={f.status}>
                  <td class="path">{f.file_path}</td>
                  <td>{bytes(f.file_size)}</td>
                  <td>
                    <span class={`state ${f.status}`}>{f.status}</span>
                    {f.error_message ? <span class="error"> {f.error_message}</span> : null}
                  </td>
                  <td>
                    <code>{f.source_checksum ?? '–'}</code>
                  </td>
                  <td>
                    <code>{f.destination_checksum ?? '–'}</code>{' '}
                    {f.checksum_match === true ? '✓' : f.checksum_match === false ? '✗' : ''}
                  </td>
                  <td>{f.attempts}</td>
                  <td>{when(f.transfer_completed_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager
          total={files.data?.total_files_detected ?? 0}
          offset={offset}
          limit={pageSize}
          onChange={setOffset}
        />
      </Card>
      <Card title="Log" id="log">
        <ErrorBox error={logs.error} />
        <DataTable
          caption="Transfer log"
          rows={logs.data?.items ?? []}
          columns={['at', 'level', 'event', 'message']}
        />
      </Card>
    </>
  );
}
