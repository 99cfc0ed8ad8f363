/**
 * Delivers one recorded file of a transfer: the per-file state machine shared by one-off
 * transfers and watch profiles. Every step is written to the file's row before it is acted on
 * (invariant 3), so a retry after a crash resumes from the row:
 *
 *   detected → transferring (checksums recorded once verified) → [rename] → verified (move only:
 *   source about to be deleted) → completed | failed | skipped
 */
import path from 'node:path';
import type { Db } from '../db/index.ts';
import { realpath } from 'node:fs/promises';
import { isFerryError } from '../errors/index.ts';
import type { Bus, FerryEvents } from '../live/bus.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import { asTransferError, copyFile, hashFile, type ConflictPolicy } from './copy-file.ts';
import { getFile, lastDelivered, updateFile, type FileRow } from './file-records.ts';
import type { ChecksumAlgorithm } from './hashing.ts';
import { log, type TransferRow } from './records.ts';

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
  chunkSize?: number;
}

/** Errors worth another attempt: the next one may well succeed. */
const retryable = new Set(['FERRY_ERR_CHECKSUM_MISMATCH', 'FERRY_ERR_SOURCE_CHANGED']);

function isRetryable(error: unknown): boolean {
  if (!isFerryError(error)) return true;
  if (retryable.has(error.code)) return true;
  return error.code === 'FERRY_ERR_STORAGE' && error.params.reason === 'io';
}

/** The real path of `p`'s nearest existing ancestor (or `p` itself). */
async function nearestReal(p: string): Promise<string> {
  for (let current = p; ; current = path.dirname(current)) {
    try {
      return await realpath(current);
    } catch (error) {
      if (path.dirname(current) === current) throw error;
    }
  }
}

/**
 * Invariant 7 at write time: a folder inside the destination that was replaced by a symlink
 * since the transfer was created must not carry the file out of it.
 */
async function refuseEscape(root: string, to: string): Promise<void> {
  const [realRoot, realParent] = await Promise.all([
    nearestReal(root),
    nearestReal(path.dirname(to)),
  ]);
  if (realParent !== realRoot && !realParent.startsWith(`${realRoot}/`)) {
    throw new StorageError(
      'permission_denied',
      to,
      `${to} leaves the destination folder through a symlink (${realParent})`,
    );
  }
}

/** Source and destination paths of one file row. */
export function pathsOf(transfer: TransferRow, row: FileRow): { from: string; to: string } {
  if (transfer.file_name !== null) {
    const name = transfer.options.target_name ?? transfer.file_name;
    return { from: transfer.source_path, to: path.join(transfer.destination_path, name) };
  }
  return {
    from: path.join(transfer.source_path, row.relative_path),
    to: path.join(transfer.destination_path, row.relative_path),
  };
}

/** Called with bytes copied of this file so far. */
export type FileProgress = (bytes: number) => void;

export interface Delivery {
  /** Runs the file to a final state; resolves with it. Aborting leaves the row resumable. */
  deliver(
    transfer: TransferRow,
    row: FileRow,
    progress: FileProgress,
    signal: AbortSignal,
  ): Promise<FileRow['status']>;
}

export function makeDelivery(deps: DeliveryDeps): Delivery {
  const { db } = deps;

  /**
   * Ends a verified file: a move records `verified` before deleting the source (invariant 2);
   * then `completed` and its log line are written together.
   */
  async function finish(
    transfer: TransferRow,
    row: FileRow,
    from: string,
    line: { event: string; message: string; details?: Record<string, unknown> },
  ): Promise<void> {
    if (transfer.operation_mode === 'move') {
      await updateFile(db, row.id, { status: 'verified' });
      await deps.source.remove(from);
    }
    await db.transaction(async (tx) => {
      await updateFile(tx, row.id, {
        status: 'completed',
        bytes_transferred: row.file_size,
        transfer_completed_at: new Date(),
      });
      await log(tx, transfer.id, 'info', line.event, line.message, line.details);
    });
  }

  /** A crash between rename and bookkeeping left a verified file in place: recognize it. */
  async function alreadyInPlace(
    row: FileRow,
    to: string,
    algorithm: ChecksumAlgorithm,
  ): Promise<boolean> {
    if (row.destination_checksum === null) return false;
    const existing = await deps.destination.stat(to);
    if (!existing || existing.size !== row.file_size) return false;
    return (await hashFile(deps.destination, to, algorithm)) === row.destination_checksum;
  }

  /** A new version of a file this profile delivered may replace it; anything else follows the policy. */
  async function conflictFor(
    transfer: TransferRow,
    row: FileRow,
    to: string,
  ): Promise<ConflictPolicy> {
    const policy = transfer.options.conflict_policy;
    if (!transfer.watch_mode_enabled || policy !== 'fail') return policy;
    // The common case, nothing at the destination yet, needs no query.
    if (!(await deps.destination.stat(to))) return policy;
    const previous = await lastDelivered(db, transfer.id, row.relative_path);
    if (!previous?.destination_checksum) return policy;
    const same =
      (await hashFile(deps.destination, to, row.algorithm as ChecksumAlgorithm)) ===
      previous.destination_checksum;
    return same ? 'overwrite' : policy;
  }

  async function attempt(
    transfer: TransferRow,
    row: FileRow,
    progress: FileProgress,
    signal: AbortSignal,
  ): Promise<FileRow['status']> {
    const { from, to } = pathsOf(transfer, row);
    const algorithm = row.algorithm as ChecksumAlgorithm;
    const recovered = {
      event: 'file.recovered',
      message: `${row.relative_path} was already verified in place`,
    };
    if (row.status === 'verified') {
      await finish(transfer, row, from, recovered);
      return 'completed';
    }
    if (row.status === 'transferring' && (await alreadyInPlace(row, to, algorithm))) {
      await finish(transfer, row, from, recovered);
      return 'completed';
    }
    if (deps.destination.kind === 'local') await refuseEscape(transfer.destination_path, to);
    await updateFile(db, row.id, {
      status: 'transferring',
      transfer_started_at: new Date(),
      attemptsPlusOne: true,
    });
    const result = await copyFile({
      source: deps.source,
      from,
      destination: deps.destination,
      to,
      algorithm,
      conflict: await conflictFor(transfer, row, to),
      // Per file row: a retry overwrites (truncates) the same temp name, nothing is left over.
      tempTag: `t${transfer.id}-f${row.id}`,
      onProgress: (bytes) => {
        progress(bytes);
      },
      onVerified: (sums) =>
        updateFile(db, row.id, {
          source_checksum: sums.source,
          destination_checksum: sums.destination,
          checksum_match: true,
        }),
      signal,
      chunkSize: deps.chunkSize,
    });
    if (result.outcome === 'skipped_identical') {
      await db.transaction(async (tx) => {
        await updateFile(tx, row.id, {
          status: 'skipped',
          source_checksum: result.sourceChecksum,
          destination_checksum: result.destinationChecksum,
          checksum_match: true,
          transfer_completed_at: new Date(),
        });
        await log(
          tx,
          transfer.id,
          'info',
          'file.skipped',
          `${row.relative_path}: identical file already at ${to}`,
        );
      });
      return 'skipped';
    }
    await finish(transfer, row, from, {
      event: 'file.completed',
      message: `${row.relative_path} verified at ${result.finalPath}`,
      details: { checksum: result.sourceChecksum, algorithm },
    });
    return 'completed';
  }

  async function fail(transfer: TransferRow, row: FileRow, error: unknown): Promise<'failed'> {
    const code = isFerryError(error) ? error.code : 'FERRY_ERR_STORAGE';
    const message = error instanceof Error ? error.message : String(error);
    const mismatch = isFerryError(error) && error.code === 'FERRY_ERR_CHECKSUM_MISMATCH';
    await updateFile(db, row.id, {
      status: 'failed',
      error_code: code,
      error_message: message,
      transfer_completed_at: new Date(),
      ...(mismatch
        ? {
            source_checksum: String(error.params.source),
            destination_checksum: String(error.params.destination),
            checksum_match: false,
          }
        : {}),
    });
    await log(db, transfer.id, 'error', 'file.failed', `${row.relative_path}: ${message}`, {
      code,
    });
    return 'failed';
  }

  return {
    async deliver(transfer, row, progress, signal) {
      let current = row;
      for (let n = 1; ; n += 1) {
        try {
          return await attempt(transfer, current, progress, signal);
        } catch (raw) {
          if (signal.aborted) throw raw;
          const error = asTransferError(raw);
          if (!isRetryable(error) || n >= deps.attempts) return fail(transfer, current, error);
          const message = error instanceof Error ? error.message : String(error);
          await log(
            db,
            transfer.id,
            'warn',
            'file.retry',
            `${row.relative_path}: attempt ${n} failed: ${message}`,
          );
          await deps.sleep(deps.retryDelayMs * 2 ** (n - 1), signal);
          // From the row as stored: a failure after the rename (moving the source, say) must
          // resume as `verified` / already in place, not copy again over a verified file.
          current = (await getFile(db, row.id)) ?? current;
        }
      }
    },
  };
}
