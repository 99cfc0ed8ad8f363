/**
 * Runs a one-off transfer (a file or a folder) from its records: validate, claim the files,
 * deliver each, settle the transfer's status. A retry after a crash resumes from the file rows.
 */
import path from 'node:path';
import type { Db } from '../db/index.ts';
import { makeNameFilter, scanSource } from '../intake/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { sealTransfer, type MhlSealer } from '../mhl/transfer.ts';
import type { Storage, VolumeGuard } from '../storage/index.ts';
import { confineStorage, isRootChanged } from '../storage/roots.ts';
import type { Delivery, DeliveryScope } from './deliver.ts';
import { claimFiles, listFiles, openFiles, type FileRow } from './file-records.ts';
import { rootsOf } from './pins.ts';
import { makeProgressMeter } from './progress.ts';
import {
  getTransfer,
  log,
  updateTransfer,
  type TransferRow,
  unfinishedStatuses,
  type TransferStatus,
} from './records.ts';

export interface RunOnceDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  source: Storage;
  delivery: Delivery;
  /** Checks that the pinned roots are still inside a volume. */
  volumes?: VolumeGuard;
  logError: (error: unknown, message: string) => void;
  /** Seals `mhl: true` folder transfers once their files are delivered. */
  mhl?: MhlSealer;
}

const finalStatuses: readonly TransferStatus[] = ['completed', 'failed', 'cancelled'];
const runningStatuses = unfinishedStatuses;

export interface OnceRunner {
  /** `scope`: who delivers (a cluster part passes its lease-fenced db and token). */
  run(id: number, signal: AbortSignal, scope?: DeliveryScope): Promise<TransferStatus | undefined>;
  /** Aborts the run in this process, if it runs here (cancel/delete). */
  abortLocal(id: number): void;
}

export function makeOnceRunner(deps: RunOnceDeps): OnceRunner {
  const { db, bus } = deps;
  const running = new Map<number, AbortController>();

  async function setStatus(
    t: TransferRow,
    status: TransferStatus,
    fields: Partial<TransferRow> = {},
  ): Promise<TransferRow | undefined> {
    const row = await updateTransfer(
      db,
      t.id,
      { ...fields, status },
      { statusIn: runningStatuses },
    );
    if (row)
      bus.emit('transfer:status', {
        transferId: t.id,
        ownerId: t.owner_user_id,
        status,
        error: row.error_message,
      });
    return row;
  }

  /** First attempt: record the files to move (later attempts resume the same rows). */
  async function claim(t: TransferRow): Promise<{ error?: string }> {
    const existing = await listFiles(db, t.id, { limit: 1, offset: 0 });
    if (existing.total > 0) return {};
    const source = await sourceOf(t);
    const info = await source.stat(t.source_path);
    if (!info) return { error: `Source path does not exist: ${t.source_path}` };
    let files: { relative: string; size: number; mtimeMs: number }[];
    if (info.kind === 'file') {
      files = [{ relative: path.basename(t.source_path), size: info.size, mtimeMs: info.mtimeMs }];
    } else {
      const filter = makeNameFilter({
        temp: t.options.temp_patterns,
        include: t.options.include,
        exclude: t.options.exclude,
      });
      const scan = await scanSource(source, t.source_path, filter, {
        recursive: t.options.recursive,
      });
      files = scan.files.map((f) => ({ relative: f.relative, size: f.size, mtimeMs: f.mtimeMs }));
    }
    const total = files.reduce((sum, f) => sum + f.size, 0);
    // Rows and totals together: a crash in between would leave a retry with rows but no totals.
    await db.transaction(async (tx) => {
      await claimFiles(tx, t.id, t.options.checksum_algorithm, files);
      await updateTransfer(tx, t.id, { file_count: files.length, file_size: total });
      await log(tx, t.id, 'info', 'transfer.claimed', `${files.length} files, ${total} bytes`);
    });
    return {};
  }

  /** The source storage, confined to the transfer's pinned source folder. */
  async function sourceOf(t: TransferRow): Promise<Storage> {
    return confineStorage(deps.source, [(await rootsOf(db, t, deps.volumes)).source]);
  }

  /** A folder move removes only verified files, then the folders left empty. */
  async function pruneSource(t: TransferRow, rows: readonly FileRow[]): Promise<void> {
    const source = await sourceOf(t);
    const dirs = new Set<string>();
    for (const row of rows) {
      let dir = path.dirname(path.join(t.source_path, row.relative_path));
      while (dir.startsWith(t.source_path) && dir !== t.source_path) {
        dirs.add(dir);
        dir = path.dirname(dir);
      }
    }
    for (const dir of [...dirs].sort((a, b) => b.length - a.length))
      await source.removeEmptyDir(dir);
  }

  async function runClaimed(
    t: TransferRow,
    controller: AbortController,
    options: DeliveryScope,
  ): Promise<TransferStatus | undefined> {
    let current = await setStatus(t, 'copying');
    if (!current) return undefined;
    const opened = await openFiles(db, t.id, 1_000_000);
    const summary = await listFiles(db, t.id, { limit: 0, offset: 0 });
    const pendingBytes = opened.reduce((sum, f) => sum + f.file_size, 0);
    const meter = makeProgressMeter({
      transferId: t.id,
      ownerId: t.owner_user_id,
      totalBytes: current.file_size ?? pendingBytes,
      bus,
      persist: async (bytes, percent) =>
        (await updateTransfer(
          db,
          t.id,
          { bytes_transferred: bytes, progress_percent: percent },
          { statusIn: runningStatuses },
        )) !== undefined,
      onStop: () => {
        controller.abort(new Error('transfer cancelled'));
      },
      onError: (error) => {
        deps.logError(error, 'progress update failed');
      },
    });
    meter.fileDone((current.file_size ?? pendingBytes) - pendingBytes);
    const failures: string[] = [];
    // A batch at a time (deliver-batch.ts), `transfers.concurrency` files of it copied at once;
    // the progress in flight is approximate then.
    await deps.delivery.deliver(
      current,
      opened,
      {
        progress(row, bytes) {
          meter.file(row.relative_path, bytes);
          if (bytes === row.file_size && opened.length === 1)
            void setStatus(t, 'verifying').catch((error: unknown) => {
              deps.logError(error, 'status update failed');
            });
        },
        finished(row, status) {
          meter.fileDone(row.file_size);
          if (status === 'failed') failures.push(row.relative_path);
        },
      },
      controller.signal,
      options,
    );
    if (controller.signal.aborted) return undefined;
    if (t.operation_mode === 'move' && t.file_name === null) await pruneSource(t, opened);
    const sealProblem =
      t.options.mhl && t.file_name === null && deps.mhl
        ? await sealTransfer(db, deps.mhl, current, controller.signal)
        : undefined;
    const failedBefore = summary.failed;
    const failedCount = failures.length + failedBefore;
    if (failedCount > 0 || sealProblem !== undefined) {
      const first = (await listFiles(db, t.id, { limit: 1000, offset: 0 })).items.find(
        (f) => f.status === 'failed',
      );
      const message =
        failedCount === 0 && sealProblem !== undefined
          ? sealProblem
          : failedCount === 1 && first
            ? (first.error_message ?? 'failed')
            : `${failedCount} files failed; first: ${first?.relative_path ?? ''}: ${first?.error_message ?? ''}`;
      current = await setStatus(t, 'failed', {
        error_message: message,
        completed_at: new Date(),
        bytes_transferred: meter.bytes,
        progress_percent: meter.percent,
      });
      return current ? 'failed' : undefined;
    }
    current = await setStatus(t, 'completed', {
      completed_at: new Date(),
      bytes_transferred: meter.bytes,
      progress_percent: 100,
    });
    if (current)
      await log(db, t.id, 'info', 'transfer.completed', 'all files verified at the destination');
    return current ? 'completed' : undefined;
  }

  async function run(
    id: number,
    signal: AbortSignal,
    options: DeliveryScope = {},
  ): Promise<TransferStatus | undefined> {
    const t = await getTransfer(db, id);
    if (!t || finalStatuses.includes(t.status) || t.watch_mode_enabled) return t?.status;
    const controller = new AbortController();
    const onAbort = () => {
      controller.abort(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    running.set(id, controller);
    try {
      const validating = await setStatus(t, 'validating', {
        started_at: t.started_at ?? new Date(),
      });
      if (!validating) return undefined;
      const claimed = await claim(validating);
      if (claimed.error) {
        await setStatus(t, 'failed', { error_message: claimed.error, completed_at: new Date() });
        await log(db, id, 'error', 'transfer.failed', claimed.error);
        return 'failed';
      }
      const fresh = await getTransfer(db, id);
      return fresh ? await runClaimed(fresh, controller, options) : undefined;
    } catch (error) {
      if (!isRootChanged(error)) throw error;
      // A swapped folder is not retried: nothing outside the pinned roots is touched.
      await setStatus(t, 'failed', { error_message: error.message, completed_at: new Date() });
      await log(db, id, 'error', 'transfer.root_changed', error.message);
      return 'failed';
    } finally {
      signal.removeEventListener('abort', onAbort);
      running.delete(id);
    }
  }

  return {
    run,
    abortLocal(id) {
      running.get(id)?.abort(new Error('transfer cancelled'));
    },
  };
}
