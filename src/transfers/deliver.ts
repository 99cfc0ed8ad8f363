/**
 * Delivers recorded files of a transfer: the state machine shared by one-off transfers and
 * watch profiles, run a batch of files at a time (deliver-batch.ts). Every step is written to the
 * file's row before it is acted on (invariant 3), so a retry after a crash resumes from the row:
 *
 *   detected → transferring (checksums recorded once verified) → [rename] → verified (move only:
 *   source about to be deleted) → completed | failed | skipped
 */
import type { Db } from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { MhlSealer } from '../mhl/transfer.ts';
import type { Storage, VolumeGuard } from '../storage/index.ts';
import { deliverBatch } from './deliver-batch.ts';
import type { FileRow } from './file-records.ts';
import { confinedStorages, rootsOf } from './pins.ts';
import type { TransferRow } from './records.ts';

export { pathsOf } from './deliver-steps.ts';

/** What delivering needs; tests pass their own storages (e.g. one that corrupts reads). */
export interface DeliveryDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  source: Storage;
  destination: Storage;
  /** Attempts per file for retryable failures (checksum mismatch, source changed, I/O). */
  attempts: number;
  retryDelayMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Files of one batch copied at once (transfers.concurrency); 1 when not given. */
  concurrency?: number;
  chunkSize?: number;
  /** ASC MHL: extra formats from the copy's read, checked against the source's history. */
  mhl?: MhlSealer;
  /** Checks that the pinned roots are still inside a volume before each batch. */
  volumes?: VolumeGuard;
}

/**
 * Who delivers: `db` is where the writes go (a watch loop or a cluster part passes its
 * lease-fenced one); `fence`, a cluster part's lease token, goes into the temp file's name, so a
 * stale owner woken after a takeover never writes, reads or removes the new owner's temp file.
 */
export interface DeliveryScope {
  db?: Db;
  fence?: number;
}

/** Where a delivered file ends. */
export type FinalStatus = 'completed' | 'skipped' | 'failed';

/** What the caller hears about each file of a delivery. */
export interface DeliveryHooks {
  /** Bytes of `row` copied so far (a small file reports only its end). */
  progress?(row: FileRow, bytes: number): void;
  /** `row` reached its final state, committed (readable through the API); once per file. */
  finished?(row: FileRow, status: FinalStatus): void;
  /** Asked before `row` is started: false leaves it and the rest untouched, for later. */
  proceed?(row: FileRow): Promise<boolean>;
}

export interface Delivery {
  /**
   * Runs `rows` (of `transfer`) to final states, a batch at a time. Aborting, or a root that
   * changed, throws with the rows left resumable. `scope`: who delivers.
   */
  deliver(
    transfer: TransferRow,
    rows: readonly FileRow[],
    hooks: DeliveryHooks,
    signal: AbortSignal,
    scope?: DeliveryScope,
  ): Promise<void>;
}

const MiB = 1024 * 1024;

/**
 * A batch: at most this many files or bytes (a file bigger than that is a batch of its own).
 * Each file's outcome is committed with its batch, so the bound is also how late a row can be
 * and how much a crash can make copy again.
 */
export const batchLimits = { files: 64, bytes: 64 * MiB };

/** Splits rows, in order, into batches within `batchLimits`. */
export function batchesOf(rows: readonly FileRow[]): FileRow[][] {
  const out: FileRow[][] = [];
  let current: FileRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (
      current.length > 0 &&
      (current.length >= batchLimits.files || bytes + row.file_size > batchLimits.bytes)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += row.file_size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Delivery inside the transfer's pinned roots: each batch gets storages confined to them, so a
 * root swapped for a symlink or another folder stops the file (FERRY_ERR_ROOT_CHANGED, thrown
 * to the caller with the row left resumable) before anything outside is read, written or deleted.
 *
 * Two batches overlap: the next one copies while the one before records, renames and completes
 * its files (store round trips and folder fsyncs that would otherwise leave the disk idle). Never
 * more than two, and `deliver` returns only once both ended. The rows of one call name distinct
 * paths (a watch delivers one version of a path at a time), so overlapping batches never race
 * on a name.
 */
export function makeDelivery(deps: DeliveryDeps): Delivery {
  return {
    async deliver(transfer, rows, hooks, signal, scope = {}) {
      const db = scope.db ?? deps.db;
      let finishing: Promise<'done' | 'stopped'> | undefined;
      try {
        for (const batch of batchesOf(rows)) {
          // Aborted between batches: the rest stays for the next run.
          if (signal.aborted) break;
          const roots = await rootsOf(db, transfer, deps.volumes);
          const storages = confinedStorages(roots, deps.source, deps.destination);
          // The next batch starts once this one staged its copies (or ended early).
          const staged = Promise.withResolvers<undefined>();
          const running = deliverBatch(
            {
              ...{ ...deps, ...storages, db, fence: scope.fence, transfer, hooks, signal },
              staged: () => {
                staged.resolve(undefined);
              },
            },
            batch,
          );
          await Promise.race([staged.promise, running.then(noop, noop)]);
          const before = finishing;
          finishing = running;
          if ((await before) === 'stopped') break;
        }
      } finally {
        // Nothing of this delivery runs on after it returns (or throws).
        await finishing?.catch(noop);
      }
      await finishing;
    },
  };
}

const noop = () => undefined;
