/**
 * The per-file steps of a batch delivery (deliver-batch.ts): recognizing a file already
 * delivered, choosing the conflict policy and temp name, and staging the verified copy.
 */
import path from 'node:path';
import type { Db } from '../db/index.ts';
import { FerryError } from '../errors/index.ts';
import {
  discardStaged,
  ensureSpace,
  hashFile,
  stageCopy,
  tempNameFor,
  type ConflictPolicy,
  type StagedCopy,
} from './copy-file.ts';
import type { DeliveryDeps, DeliveryHooks, FinalStatus } from './deliver.ts';
import { lastDelivered, recordResumePoint, type FileRow } from './file-records.ts';
import type { FileFields, LogLine } from './file-outcomes.ts';
import type { ChecksumAlgorithm } from './hashing.ts';
import type { TransferRow } from './records.ts';

/** One batch's setting: the transfer, the confined storages, where writes go, the caller's hooks. */
export interface BatchContext extends DeliveryDeps {
  db: Db;
  transfer: TransferRow;
  fence?: number | undefined;
  hooks: DeliveryHooks;
  signal: AbortSignal;
  /** Called once the batch's copies are staged, as it goes on to record and rename them. */
  staged?: () => void;
}

/** One file in a batch: its row as stored when this attempt began. */
export interface Item {
  row: FileRow;
  attempt: number;
  from: string;
  to: string;
}

/** A file verified at its final name, to be finished (moved sources deleted, then completed). */
export interface Ready {
  item: Item;
  /** The row as delivered (size and mtime of the version copied). */
  row: FileRow;
  line: LogLine;
  /** Where a file placed by this attempt was renamed to (its folder is synced once per batch). */
  finalPath?: string;
}

/** A file ending without a delivery to finish (skipped, superseded, failed). */
export interface Final {
  item: Item;
  status: FinalStatus;
  fields: FileFields;
  line: LogLine;
}

/** A verified copy under its temp name, with what its row records before the rename. */
export interface Staged {
  item: Item;
  staged: StagedCopy;
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

export function recovered(item: Item): Ready {
  const message = `${item.row.relative_path} was already verified in place`;
  return { item, row: item.row, line: { level: 'info', event: 'file.recovered', message } };
}

/** A crash between rename and bookkeeping left a verified file in place: recognize it. */
async function alreadyInPlace(ctx: BatchContext, item: Item): Promise<boolean> {
  const { row } = item;
  if (row.destination_checksum === null) return false;
  const at = row.delivered_path ?? item.to;
  const existing = await ctx.destination.stat(at);
  if (!existing || existing.size !== row.file_size) return false;
  const sum = await hashFile(ctx.destination, at, row.algorithm as ChecksumAlgorithm);
  return sum === row.destination_checksum;
}

/**
 * What a file needs: finishing (verified, or already in place after a crash), nothing more (a
 * watch profile's file changed since its row claimed it: the newer version has its own row), or
 * a copy.
 */
export async function classify(ctx: BatchContext, item: Item): Promise<Ready | Final | 'copy'> {
  const { row } = item;
  if (
    row.status === 'verified' ||
    (row.status === 'transferring' && (await alreadyInPlace(ctx, item)))
  ) {
    await removeTemps(ctx, item);
    return recovered(item);
  }
  if (!ctx.transfer.watch_mode_enabled) return 'copy';
  const source = await ctx.source.stat(item.from);
  if (source && (source.size !== row.file_size || source.mtimeMs !== row.source_mtime_ms)) {
    const message = `${row.relative_path}: superseded by a newer version`;
    return {
      item,
      status: 'skipped',
      fields: {
        status: 'skipped',
        error_message: 'superseded by a newer version',
        transfer_completed_at: new Date(),
      },
      line: { level: 'info', event: 'file.superseded', message },
    };
  }
  return 'copy';
}

/** A new version of a file this profile delivered may replace it; anything else follows the policy. */
async function conflictFor(ctx: BatchContext, item: Item): Promise<ConflictPolicy> {
  const { transfer } = ctx;
  const policy = transfer.options.conflict_policy;
  if (!transfer.watch_mode_enabled || policy !== 'fail') return policy;
  // The common case, nothing at the destination yet, needs no query.
  if (!(await ctx.destination.stat(item.to))) return policy;
  const previous = await lastDelivered(ctx.db, transfer.id, item.row.relative_path);
  if (!previous?.destination_checksum) return policy;
  const same =
    (await hashFile(ctx.destination, item.to, item.row.algorithm as ChecksumAlgorithm)) ===
    previous.destination_checksum;
  return same ? 'overwrite' : policy;
}

/**
 * This row's temp tag for this owner, and the tags earlier owners may have left: under a fence,
 * the last few tokens and the untagged name.
 */
function tagsOf(ctx: BatchContext, item: Item): { own: string; earlier: string[] } {
  const tag = `t${String(ctx.transfer.id)}-f${String(item.row.id)}`;
  const { fence } = ctx;
  if (fence === undefined) return { own: tag, earlier: [] };
  const earlier = [tag];
  for (let g = Math.max(1, fence - 3); g < fence; g++) earlier.push(`${tag}-g${String(g)}`);
  return { own: `${tag}-g${String(fence)}`, earlier };
}

/**
 * Removes what a crash may have left under this row's temp names beside a file already in place
 * (a rename that is a link and an unlink, killed in between, leaves both names).
 */
async function removeTemps(ctx: BatchContext, item: Item): Promise<void> {
  const at = item.row.delivered_path ?? item.to;
  const { own, earlier } = tagsOf(ctx, item);
  await Promise.all([own, ...earlier].map((t) => ctx.destination.remove(tempNameFor(at, t))));
}

/**
 * This attempt's temp tag. Earlier owners' leftovers are removed first, as a plain retry
 * removes (truncates) its own.
 */
async function tempTagFor(ctx: BatchContext, item: Item): Promise<string> {
  const { own, earlier } = tagsOf(ctx, item);
  for (const old of earlier) await ctx.destination.remove(tempNameFor(item.to, old));
  return own;
}

/**
 * Checks free space once per destination folder for the files of a batch going there; the
 * files whose folder has room for them all (the others are checked one by one as they copy).
 */
export async function checkSpace(ctx: BatchContext, items: readonly Item[]): Promise<Set<Item>> {
  const folders = new Map<string, Item[]>();
  for (const item of items) {
    const dir = path.posix.dirname(item.to);
    folders.set(dir, [...(folders.get(dir) ?? []), item]);
  }
  const checked = new Set<Item>();
  await Promise.all(
    [...folders].map(async ([dir, inside]) => {
      const bytes = inside.reduce((sum, i) => sum + i.row.file_size, 0);
      const room = await ensureSpace(ctx.destination, dir, bytes).then(
        () => true,
        () => false,
      );
      if (room) for (const i of inside) checked.add(i);
    }),
  );
  return checked;
}

/**
 * Copies one file to its temp name, fsynced, re-read and verified (not renamed yet); or ends it
 * `skipped` when the identical file is already there. `spaceChecked`: `checkSpace` found room.
 */
export async function stage(
  ctx: BatchContext,
  item: Item,
  spaceChecked = false,
): Promise<Staged | Final> {
  const { transfer } = ctx;
  const { row } = item;
  const algorithm = row.algorithm as ChecksumAlgorithm;
  const mhl = transfer.options.mhl && transfer.file_name === null ? ctx.mhl : undefined;
  const result = await stageCopy({
    source: ctx.source,
    from: item.from,
    destination: ctx.destination,
    to: item.to,
    algorithm,
    conflict: await conflictFor(ctx, item),
    // Per file row: a retry continues (resumable destination) or truncates the same temp name;
    // a cluster part's new owner writes its own (the fence token is in the name).
    tempTag: await tempTagFor(ctx, item),
    resume: row.resume_point,
    onCheckpoint: (point) => recordResumePoint(ctx.db, row.id, point),
    onProgress: (bytes) => {
      ctx.hooks.progress?.(row, bytes);
    },
    alsoHash: await mhl?.formatsFor(transfer, row.relative_path),
    signal: ctx.signal,
    chunkSize: ctx.chunkSize,
    spaceChecked,
  });
  if (!('temp' in result)) {
    return {
      item,
      status: 'skipped',
      fields: {
        status: 'skipped',
        source_checksum: result.sourceChecksum,
        destination_checksum: result.destinationChecksum,
        checksum_match: true,
        transfer_completed_at: new Date(),
      },
      line: {
        level: 'info',
        event: 'file.skipped',
        message: `${row.relative_path}: identical file already at ${item.to}`,
      },
    };
  }
  const sums = result.verified;
  try {
    // A watch row is one version; a newer one copied meanwhile belongs to its own row.
    const changed = sums.size !== row.file_size || sums.mtimeMs !== row.source_mtime_ms;
    if (transfer.watch_mode_enabled && changed)
      throw new FerryError('FERRY_ERR_SOURCE_CHANGED', { path: item.from });
    const file = { size: sums.size, mtimeMs: sums.mtimeMs, checksums: sums.all };
    await mhl?.copied(transfer, { relative: row.relative_path, ...file });
  } catch (error) {
    await discardStaged(ctx.destination, result);
    throw error;
  }
  return { item, staged: result };
}

/** What a staged file's row records before its rename (a crash after it is recoverable). */
export function verifiedFields(staged: StagedCopy): FileFields {
  const sums = staged.verified;
  return {
    source_checksum: sums.source,
    destination_checksum: sums.destination,
    checksum_match: true,
    delivered_path: sums.finalPath,
    // What is recorded is what was delivered (a one-off's file may have changed since).
    file_size: sums.size,
    source_mtime_ms: sums.mtimeMs,
  };
}

/** A placed (renamed) file, ready to finish, with its completion line. */
export function placed({ item, staged }: Staged): Ready {
  const { result } = staged;
  // A resumed copy says how much it kept and how much it sent, so the saving is visible.
  const resumed =
    result.resumedFrom > 0
      ? { resumed_from: result.resumedFrom, bytes_written: result.bytesWritten }
      : {};
  return {
    item,
    row: {
      ...item.row,
      file_size: result.bytes,
      source_mtime_ms: result.sourceMtimeMs ?? item.row.source_mtime_ms,
    },
    finalPath: result.finalPath,
    line: {
      level: 'info',
      event: 'file.completed',
      message: `${item.row.relative_path} verified at ${result.finalPath}`,
      details: { checksum: result.sourceChecksum, algorithm: item.row.algorithm, ...resumed },
    },
  };
}
