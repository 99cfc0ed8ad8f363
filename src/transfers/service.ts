/**
 * The transfers domain: create, inspect and steer transfers and watch profiles. Knows nothing
 * about HTTP; the route module maps requests onto these functions and results onto responses.
 */
import type { MhlOptions } from '../mhl/transfer.ts';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fencedDb, type Db, type Lease } from '../db/index.ts';
import { listOwner, mayAccess, type Scope } from '../auth/ownership.ts';
import { FerryError, invalidFields, type FieldProblem } from '../errors/index.ts';
import { defaultTempPatterns, globToRegExp } from '../intake/index.ts';
import { defineJob, type Jobs } from '../jobs/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { Endpoints, Storage, VolumeGuard } from '../storage/index.ts';
import type { ConflictPolicy } from './copy-file.ts';
import { listFiles, type FileRow } from './file-records.ts';
import type { ChecksumAlgorithm } from './hashing.ts';
import { pinTransferRoots, repinRoots } from './pins.ts';
import type { OnceRunner } from './run-once.ts';
import {
  deleteTransfer,
  getTransfer,
  insertTransfer,
  listLogs,
  transferOfPart,
  listTransfers,
  log,
  unfinishedOneOffIds,
  updateTransfer,
  type LogRow,
  type TransferRow,
  runningStatuses,
  type TransferStatus,
} from './records.ts';
import type { WatchSupervisor } from './watch-supervisor.ts';

/** Who is asking, as the one ownership rule sees it (`auth/ownership.ts`). */
export type Viewer = Scope;

/** A transfer request after schema validation (Ketter fields plus Ferry's options). */
export interface CreateTransfer extends MhlOptions {
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
  /** Names a configured endpoint; source_path is then a path inside it. */
  source_endpoint?: string;
  destination_endpoint?: string;
  max_bytes_per_second?: number;
}

export interface TransfersDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  volumes: VolumeGuard;
  endpoints: Endpoints;
  /** What GET /endpoints shows (names, never URLs or secrets). */
  endpointInfo: readonly { name: string; kind: string; description: string | null }[];
  source: Storage;
  runner: OnceRunner;
  supervisor: WatchSupervisor;
  defaults: { algorithm: ChecksumAlgorithm; pollIntervalSeconds: number; retryLimit: number };
  /** How long a delete waits for a watch profile's files in flight (`transfers.delete_wait_seconds`). */
  deleteWaitMs: number;
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

const busy: readonly TransferStatus[] = runningStatuses;
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
    if (!mayAccess(viewer, row.owner_user_id)) {
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

  /** A path inside a volume, or inside the named endpoint (never a raw host or credentials). */
  async function resolvePath(
    side: 'source' | 'destination',
    endpoint: string | undefined,
    p: string,
  ): Promise<string> {
    const field = `${side}_path`;
    if (endpoint === undefined) return deps.volumes.resolve(field, p);
    return deps.endpoints.resolve(field, endpoint, p);
  }

  /**
   * Creates a transfer. With `clusterPart` (a cluster job's part) it is not queued: the part's
   * owner runs it through `runHere`, and a second call for the same part returns the first row.
   */
  async function create(
    input: CreateTransfer,
    ownerUserId: number | null,
    options: { clusterPart?: string } = {},
  ): Promise<TransferRow> {
    if (options.clusterPart !== undefined) {
      const existing = await transferOfPart(db, options.clusterPart);
      const row = existing === undefined ? undefined : await getTransfer(db, existing);
      if (row) return row;
    }
    const source = await resolvePath('source', input.source_endpoint, input.source_path);
    const destination = await resolvePath(
      'destination',
      input.destination_endpoint,
      input.destination_path,
    );
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
    const fileName = info.kind === 'file' ? path.basename(source) : null;
    // Pinned now: later scans, writes and deletes refuse a folder swapped for another or a link.
    const roots = await pinTransferRoots({
      source_path: source,
      destination_path: destination,
      file_name: fileName,
    });
    const row = await insertTransfer(db, {
      owner_user_id: ownerUserId,
      source_root: roots.source,
      destination_root: roots.destination,
      source_path: source,
      destination_path: destination,
      status: watch ? 'active' : 'pending',
      operation_mode: input.operation_mode ?? 'copy',
      watch_mode_enabled: watch,
      watch_continuous: watch && (input.watch_continuous ?? false),
      watch_job_id: watch ? randomUUID() : null,
      settle_time_seconds: input.settle_time_seconds ?? 30,
      file_name: fileName,
      file_size: info.kind === 'file' ? info.size : null,
      ...(options.clusterPart === undefined ? {} : { cluster_part: options.clusterPart }),
      options: {
        checksum_algorithm: input.checksum_algorithm ?? deps.defaults.algorithm,
        conflict_policy: input.conflict_policy ?? 'fail',
        include: input.include ?? [],
        // A history is carried over and extended at the seal, never copied as plain files.
        exclude: [...(input.exclude ?? []), ...(input.mhl ? ['ascmhl/**'] : [])],
        temp_patterns: input.temp_patterns ?? (watch ? [...defaultTempPatterns] : []),
        recursive: input.recursive ?? true,
        poll_interval_seconds: input.poll_interval_seconds ?? deps.defaults.pollIntervalSeconds,
        on_new_version: input.on_new_version ?? 'transfer',
        ...(input.target_name === undefined ? {} : { target_name: input.target_name }),
        ...(input.mhl ? { mhl: true, mhl_hashes: input.mhl_hashes ?? [] } : {}),
        ...(input.max_bytes_per_second === undefined
          ? {}
          : { max_bytes_per_second: input.max_bytes_per_second }),
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
    else if (options.clusterPart !== undefined) return row;
    else if (jobs) await jobs.send(runJob, { id: row.id }, { singletonKey: `transfer:${row.id}` });
    return row;
  }

  /**
   * Before a watch profile is deleted its loop stops (status `cancelled`, announced) and every
   * file in flight finishes and is recorded; refused with 409 when that takes longer than the
   * wait (the profile stays `cancelled`, so a later DELETE finds nothing in flight).
   */
  async function stopWatch(row: TransferRow): Promise<void> {
    const stopped = await updateTransfer(
      db,
      row.id,
      { status: 'cancelled', completed_at: new Date(), watch_job_id: null },
      { statusIn: ['active', 'paused', 'error'] },
    );
    if (stopped) await changed(stopped, 'watch.stopping', 'deleting: files in flight finish first');
    if (!(await deps.supervisor.released(row.id, deps.deleteWaitMs))) {
      throw new FerryError('FERRY_ERR_WATCH_STOPPING', { id: row.id });
    }
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
    endpoints: deps.endpointInfo,
    /** Runs a one-off transfer in this process (a cluster job part's owner does). */
    /**
     * Runs a cluster part's transfer on this node. Its deliveries write through `lease`: an owner
     * that lost the part (frozen past its lease, say) cannot rename a file into place or record
     * one behind the new owner's back.
     */
    runHere(id: number, signal: AbortSignal, lease?: Lease) {
      return deps.runner.run(
        id,
        signal,
        lease ? { db: fencedDb(db, lease), fence: lease.token } : {},
      );
    },
    /** Every file's record, for a job part's per-item results. */
    fileRecords(id: number, page: { limit: number; offset: number }) {
      return listFiles(db, id, page);
    },
    /** A transfer by id without an ownership check (the cluster part owner reads its own). */
    record(id: number) {
      return getTransfer(db, id);
    },
    attach(queue: Jobs) {
      jobs = queue;
    },
    create,
    get: visible,
    async list(filter: { status?: string; limit: number; offset: number }, viewer: Viewer) {
      return listTransfers(db, {
        ...filter,
        ownerUserId: listOwner(viewer),
      });
    },
    async remove(id: number, viewer: Viewer): Promise<void> {
      const row = await visible(id, viewer);
      if (row.watch_mode_enabled) await stopWatch(row);
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
      await repinRoots(db, row, deps.volumes);
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
