/**
 * The transfers domain: create, inspect and steer transfers and watch profiles. Knows nothing
 * about HTTP; the route module maps requests onto these functions and results onto responses.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Db } from '../db/index.ts';
import { FerryError, invalidFields, type FieldProblem } from '../errors/index.ts';
import { defaultTempPatterns, globToRegExp } from '../intake/index.ts';
import { defineJob, type Jobs } from '../jobs/index.ts';
import type { Bus, FerryEvents } from '../live/bus.ts';
import type { Storage, VolumeGuard } from '../storage/index.ts';
import type { ConflictPolicy } from './copy-file.ts';
import { listFiles, type FileRow } from './file-records.ts';
import type { ChecksumAlgorithm } from './hashing.ts';
import type { OnceRunner } from './run-once.ts';
import {
  deleteTransfer,
  getTransfer,
  insertTransfer,
  listLogs,
  listTransfers,
  log,
  unfinishedOneOffIds,
  updateTransfer,
  type LogRow,
  type TransferRow,
  type TransferStatus,
} from './records.ts';
import type { WatchSupervisor } from './watch-supervisor.ts';

/** Who is asking: admins see every transfer, users their own. */
export interface Viewer {
  userId: number | undefined;
  admin: boolean;
}

/** A transfer request after schema validation (Ketter fields plus Ferry's options). */
export interface CreateTransfer {
  source_path: string;
  destination_path: string;
  watch_mode_enabled?: boolean;
  settle_time_seconds?: number;
  watch_continuous?: boolean;
  operation_mode?: 'copy' | 'move';
  checksum_algorithm?: ChecksumAlgorithm;
  conflict_policy?: ConflictPolicy;
  include?: string[];
  exclude?: string[];
  temp_patterns?: string[];
  recursive?: boolean;
  poll_interval_seconds?: number;
  on_new_version?: 'transfer' | 'ignore';
  target_name?: string;
}

export interface TransfersDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  volumes: VolumeGuard;
  source: Storage;
  runner: OnceRunner;
  supervisor: WatchSupervisor;
  defaults: { algorithm: ChecksumAlgorithm; pollIntervalSeconds: number; retryLimit: number };
}

/** 422 for a glob that cannot compile, before it can fail a scan later. */
function refuseBadGlobs(input: CreateTransfer): void {
  const problems: FieldProblem[] = [];
  for (const field of ['include', 'exclude', 'temp_patterns'] as const) {
    (input[field] ?? []).forEach((glob, index) => {
      try {
        globToRegExp(glob);
      } catch {
        problems.push({ field: `body/${field}/${index}`, message: `is not a valid glob: ${glob}` });
      }
    });
  }
  if (problems.length > 0) throw invalidFields(problems);
}

const busy: readonly TransferStatus[] = ['validating', 'copying', 'verifying'];
const cancellable: readonly TransferStatus[] = ['pending', ...busy, 'active', 'paused', 'error'];

export function makeTransfers(deps: TransfersDeps) {
  const { db, bus } = deps;
  let jobs: Jobs | undefined;

  const runJob = defineJob<{ id: number }>({
    name: 'transfers.run',
    policy: {
      queuePolicy: 'exclusive',
      batchSize: 1,
      concurrency: 2,
      expireSeconds: 6 * 3600,
      retryLimit: deps.defaults.retryLimit,
    },
    async handler(job) {
      const status = await deps.runner.run(job.data.id, job.signal);
      const row = await getTransfer(db, job.data.id);
      // Interrupted (shutdown, lost connection): fail the job so it is retried and resumes.
      if (row && ['pending', ...busy].includes(row.status))
        throw new Error(`transfer ${row.id} interrupted; it will resume`);
      return { status };
    },
  });

  async function visible(id: number, viewer: Viewer): Promise<TransferRow> {
    const row = await getTransfer(db, id);
    if (!row) throw new FerryError('FERRY_ERR_TRANSFER_NOT_FOUND', { id });
    if (!viewer.admin && row.owner_user_id !== (viewer.userId ?? null)) {
      throw new FerryError('FERRY_ERR_TRANSFER_FORBIDDEN', { id });
    }
    return row;
  }

  async function changed(
    row: TransferRow | undefined,
    event: string,
    message: string,
  ): Promise<TransferRow> {
    if (!row)
      throw new FerryError('FERRY_ERR_TRANSFER_STATE', {
        action: event,
        reason: 'the transfer changed meanwhile; try again',
      });
    await log(db, row.id, 'info', event, message);
    bus.emit('transfer:status', {
      transferId: row.id,
      ownerId: row.owner_user_id,
      status: row.status,
      error: row.error_message,
    });
    if (row.watch_mode_enabled) await deps.supervisor.announce(row.id);
    return row;
  }

  async function create(input: CreateTransfer, ownerUserId: number | null): Promise<TransferRow> {
    const source = await deps.volumes.resolve('source_path', input.source_path);
    const destination = await deps.volumes.resolve('destination_path', input.destination_path);
    if (input.target_name === '.' || input.target_name === '..') {
      throw new FerryError('FERRY_ERR_PATH_OUTSIDE_VOLUMES', {
        field: 'target_name',
        reason: 'the name is `.` or `..`',
      });
    }
    const info = await deps.source.stat(source).catch((error: unknown) => {
      throw new FerryError('FERRY_ERR_BAD_REQUEST', {
        reason: `source_path cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      });
    });
    if (!info) throw new FerryError('FERRY_ERR_SOURCE_NOT_FOUND', { path: input.source_path });
    refuseBadGlobs(input);
    if (
      info.kind === 'file' &&
      path.join(destination, input.target_name ?? path.basename(source)) === source
    ) {
      // Copying a file onto itself would, with overwrite or move, destroy the only copy.
      throw new FerryError('FERRY_ERR_BAD_REQUEST', {
        reason: 'the destination is the source file itself',
      });
    }
    const watch = input.watch_mode_enabled ?? false;
    if (watch && info.kind !== 'directory') {
      throw new FerryError('FERRY_ERR_BAD_REQUEST', {
        reason: 'watch_mode_enabled needs source_path to be a folder',
      });
    }
    if (
      info.kind === 'directory' &&
      (destination === source || destination.startsWith(`${source}/`))
    ) {
      throw new FerryError('FERRY_ERR_BAD_REQUEST', {
        reason: 'destination_path must not be inside source_path',
      });
    }
    const row = await insertTransfer(db, {
      owner_user_id: ownerUserId,
      source_path: source,
      destination_path: destination,
      status: watch ? 'active' : 'pending',
      operation_mode: input.operation_mode ?? 'copy',
      watch_mode_enabled: watch,
      watch_continuous: watch && (input.watch_continuous ?? false),
      watch_job_id: watch ? randomUUID() : null,
      settle_time_seconds: input.settle_time_seconds ?? 30,
      file_name: info.kind === 'file' ? path.basename(source) : null,
      file_size: info.kind === 'file' ? info.size : null,
      options: {
        checksum_algorithm: input.checksum_algorithm ?? deps.defaults.algorithm,
        conflict_policy: input.conflict_policy ?? 'fail',
        include: input.include ?? [],
        exclude: input.exclude ?? [],
        temp_patterns: input.temp_patterns ?? (watch ? [...defaultTempPatterns] : []),
        recursive: input.recursive ?? true,
        poll_interval_seconds: input.poll_interval_seconds ?? deps.defaults.pollIntervalSeconds,
        on_new_version: input.on_new_version ?? 'transfer',
        ...(input.target_name === undefined ? {} : { target_name: input.target_name }),
      },
    });
    await log(
      db,
      row.id,
      'info',
      'transfer.created',
      `${row.operation_mode} ${source} → ${destination}${watch ? ' (watch)' : ''}`,
    );
    if (watch) await deps.supervisor.announce(row.id);
    else if (jobs) await jobs.send(runJob, { id: row.id }, { singletonKey: `transfer:${row.id}` });
    return row;
  }

  return {
    definitions: [runJob],
    /**
     * Sends a job for every unfinished one-off transfer. The singleton key makes this a no-op
     * where one is queued or running; it rescues a transfer whose job was never sent (a crash
     * between insert and send) or whose retries ran out.
     */
    async resumeUnfinished(): Promise<number> {
      if (!jobs) return 0;
      let sent = 0;
      for (const id of await unfinishedOneOffIds(db)) {
        if (await jobs.send(runJob, { id }, { singletonKey: `transfer:${id}` })) sent += 1;
      }
      return sent;
    },
    volumes: deps.volumes,
    attach(queue: Jobs) {
      jobs = queue;
    },
    create,
    get: visible,
    async list(filter: { status?: string; limit: number; offset: number }, viewer: Viewer) {
      return listTransfers(db, {
        ...filter,
        ...(viewer.admin ? {} : { ownerUserId: viewer.userId ?? -1 }),
      });
    },
    async remove(id: number, viewer: Viewer): Promise<void> {
      const row = await visible(id, viewer);
      if (busy.includes(row.status))
        throw new FerryError('FERRY_ERR_TRANSFER_BUSY', { id, status: row.status });
      if (!(await deleteTransfer(db, id, busy))) {
        const now = await visible(id, viewer);
        throw new FerryError('FERRY_ERR_TRANSFER_BUSY', { id, status: now.status });
      }
      if (row.watch_mode_enabled) await deps.supervisor.announce(id);
    },
    async cancel(id: number, viewer: Viewer): Promise<TransferRow> {
      const row = await visible(id, viewer);
      if (!cancellable.includes(row.status)) {
        throw new FerryError('FERRY_ERR_TRANSFER_STATE', {
          action: 'cancel',
          reason: `transfer ${id} is already ${row.status}`,
        });
      }
      const updated = await updateTransfer(
        db,
        id,
        { status: 'cancelled', completed_at: new Date(), watch_job_id: null },
        { statusIn: cancellable },
      );
      deps.runner.abortLocal(id);
      return changed(updated, 'transfer.cancelled', 'cancelled by request');
    },
    async pause(id: number, viewer: Viewer): Promise<TransferRow> {
      const row = await visible(id, viewer);
      if (!row.watch_mode_enabled || row.status !== 'active') {
        throw new FerryError('FERRY_ERR_TRANSFER_STATE', {
          action: 'pause-watch',
          reason: row.watch_mode_enabled
            ? `watch is ${row.status}, not active`
            : 'not a watch profile',
        });
      }
      const updated = await updateTransfer(
        db,
        id,
        { status: 'paused', watch_continuous: false, watch_job_id: null },
        { statusIn: ['active'] },
      );
      return changed(updated, 'watch.paused', 'watch paused; in-flight files finish');
    },
    async resume(id: number, viewer: Viewer): Promise<TransferRow> {
      const row = await visible(id, viewer);
      if (!row.watch_mode_enabled || (row.status !== 'paused' && row.status !== 'error')) {
        throw new FerryError('FERRY_ERR_TRANSFER_STATE', {
          action: 'resume-watch',
          reason: row.watch_mode_enabled
            ? `watch is ${row.status}, not paused`
            : 'not a watch profile',
        });
      }
      const updated = await updateTransfer(
        db,
        id,
        {
          status: 'active',
          watch_continuous: true,
          watch_job_id: randomUUID(),
          failure_streak: 0,
          error_message: null,
        },
        { statusIn: ['paused', 'error'] },
      );
      return changed(updated, 'watch.resumed', 'watch resumed');
    },
    async files(id: number, viewer: Viewer, page: { limit: number; offset: number }) {
      const row = await visible(id, viewer);
      return { transfer: row, ...(await listFiles(db, id, page)) };
    },
    async logs(id: number, viewer: Viewer): Promise<{ transfer: TransferRow; items: LogRow[] }> {
      const row = await visible(id, viewer);
      return { transfer: row, items: await listLogs(db, id) };
    },
  };
}

export type Transfers = ReturnType<typeof makeTransfers>;
export type { FileRow };
