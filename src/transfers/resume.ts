/**
 * Resuming a file's copy (copy-file.ts): on a destination that can continue a partial file
 * (SFTP), a large file's temp file is checkpointed while it is written (synced, then the offset
 * recorded by the caller), and a later attempt continues it from the recorded offset when it
 * still holds those bytes of the same source version. The final re-read checks every byte.
 */
import {
  kindAt,
  StorageError,
  type FileInfo,
  type Storage,
  type WriteHandle,
} from '../storage/index.ts';
import type { CopyFileRequest } from './copy-file.ts';

const MiB = 1024 * 1024;

/** A durable prefix of a temp file, and the source version (size, mtime) it was copied from. */
export interface ResumePoint {
  temp: string;
  offset: number;
  size: number;
  mtimeMs: number;
}

/** Files at least this large are checkpointed on destinations that can resume them. */
export const RESUMABLE_MIN_BYTES = 16 * MiB;
/** A checkpoint (sync + one row update) after at least this much data. */
export const CHECKPOINT_MIN_BYTES = 4 * MiB;

/** The temp file opened for writing, at `offset` when an earlier attempt's bytes are kept. */
export interface OpenedTemp {
  handle: WriteHandle;
  offset: number;
  /** Makes the bytes up to `offset` durable and records them; absent when not resumable. */
  checkpoint?: (offset: number) => Promise<void>;
  /** Bytes recorded as durable so far (a later attempt may keep them). */
  durable: number;
}

/**
 * Stopped on purpose (shutdown) or cut off (connection lost) past a checkpoint: the partial file
 * waits for the next attempt. Any other failure (a mismatch above all) removes it.
 */
export function keepPartial(request: CopyFileRequest, opened: OpenedTemp, error: unknown): boolean {
  if (opened.durable === 0) return false;
  if (request.signal?.aborted === true) return true;
  // Not `io`: SFTP reports a full disk as a generic failure, and that partial must go.
  return error instanceof StorageError && error.reason === 'unreachable';
}

/** How many bytes of an earlier attempt's temp file can be kept (0: none). */
async function keptBytes(request: CopyFileRequest, source: FileInfo, temp: string) {
  const point = request.resume;
  if (!point || point.temp !== temp || point.offset <= 0 || point.offset > source.size) return 0;
  // The prefix is of this very source version; the final re-read checks it like every byte.
  if (point.size !== source.size || point.mtimeMs !== source.mtimeMs) return 0;
  const partial = await request.destination.stat(temp);
  return partial?.kind === 'file' && partial.size >= point.offset ? point.offset : 0;
}

/**
 * Opens the temp file: continued from the recorded checkpoint where the destination can, else
 * new (a leftover of an interrupted attempt, maybe read-only or a planted link, goes first).
 */
export async function openTemp(
  request: CopyFileRequest,
  source: FileInfo,
  temp: string,
): Promise<OpenedTemp> {
  const { destination, onCheckpoint } = request;
  let removed = false;
  if (onCheckpoint && destination.resumeWrite && source.size >= RESUMABLE_MIN_BYTES) {
    const offset = await keptBytes(request, source, temp);
    if (offset === 0) {
      await destination.remove(temp);
      removed = true;
    }
    const handle = await destination.resumeWrite(temp, offset);
    if (handle) {
      const point = { temp, size: source.size, mtimeMs: source.mtimeMs };
      const opened: OpenedTemp = {
        handle,
        offset,
        durable: offset,
        async checkpoint(at) {
          await handle.sync();
          await onCheckpoint({ ...point, offset: at });
          opened.durable = at;
        },
      };
      return opened;
    }
  }
  // A path whose backend cannot resume (a local folder behind the router) is written whole.
  return { handle: await writeAfresh(destination, temp, removed), offset: 0, durable: 0 };
}

/**
 * Opens `temp` new, removing a leftover of an interrupted attempt first. A local file is opened
 * with O_NOFOLLOW and truncated, so only a leftover that refuses that (read-only, a planted link)
 * needs the removal, and a fresh name costs no extra call; elsewhere it is removed up front.
 */
async function writeAfresh(destination: Storage, temp: string, removed: boolean) {
  if (removed) return destination.write(temp);
  if (kindAt(destination, temp) !== 'local') {
    await destination.remove(temp);
    return destination.write(temp);
  }
  try {
    return await destination.write(temp);
  } catch (error) {
    if (!(error instanceof StorageError) || error.reason !== 'permission_denied') throw error;
    await destination.remove(temp);
    return destination.write(temp);
  }
}
