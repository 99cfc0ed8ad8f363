/**
 * The verified copy of one file (invariants 1 and 2). One read of the source feeds both the hash
 * and the write; the bytes land under a temp name in the destination folder, are fsynced and
 * re-read and hashed there, and only a verified file is renamed to its final name. A move
 * deletes the source only after that, with both checksums already handed to the caller.
 */
import path from 'node:path';
import { FerryError } from '../errors/index.ts';
import {
  kindAt,
  StorageError,
  type FileAttributes,
  type FileInfo,
  type Storage,
} from '../storage/index.ts';
import { makeHasher, makeMultiHasher, type ChecksumAlgorithm } from './hashing.ts';
import {
  CHECKPOINT_MIN_BYTES,
  keepPartial,
  openTemp,
  type OpenedTemp,
  type ResumePoint,
} from './resume.ts';

export { RESUMABLE_MIN_BYTES, type ResumePoint } from './resume.ts';

/** What to do when the destination already exists. */
/** What to do when the destination name exists; the one list schemas and the CLI use. */
export const conflictPolicies = ['fail', 'skip_if_identical', 'overwrite', 'rename'] as const;
export type ConflictPolicy = (typeof conflictPolicies)[number];

/** Bytes copied so far; called at most every `progressIntervalMs` and once at the end. */
export type ProgressListener = (bytes: number, total: number) => void;

export interface CopyFileRequest {
  source: Storage;
  from: string;
  destination: Storage;
  to: string;
  algorithm: ChecksumAlgorithm;
  conflict: ConflictPolicy;
  /**
   * Names this copy's temp file; unique per file being delivered, so a retry finds (and removes)
   * the leftover of an interrupted attempt without listing the folder.
   */
  tempTag: string;
  onProgress?: ProgressListener;
  /**
   * Called with both checksums once the temp file verified, before it is renamed: the caller
   * records them first (invariant 3), so a crash between rename and bookkeeping is recoverable.
   */
  onVerified?: (verified: VerifiedCopy) => Promise<void>;
  /**
   * Where an earlier attempt's temp file was checkpointed: a resumable destination continues it
   * from there when it still holds those bytes of the same source version.
   */
  resume?: ResumePoint | null;
  /**
   * Records a checkpoint (the temp's first `offset` bytes are durable at the destination); called
   * for large files on destinations that can resume (SFTP). Without it nothing is resumable.
   */
  onCheckpoint?: (point: ResumePoint) => Promise<void>;
  /** More checksums to compute from the same read (ASC MHL's formats). */
  alsoHash?: readonly ChecksumAlgorithm[];
  /** The caller checked free space already (a batch, once for its files: `ensureSpace`). */
  spaceChecked?: boolean;
  signal?: AbortSignal;
  chunkSize?: number;
  progressIntervalMs?: number;
  /** Least time between checkpoints (default 1 s: one sync and one row update a second). */
  checkpointEveryMs?: number;
}

/** A verified temp file about to be renamed: what the caller records first. */
export interface VerifiedCopy {
  source: string;
  destination: string;
  /** The name it is renamed to (differs from `to` with the rename policy). */
  finalPath: string;
  /** Size and mtime of the source version that was copied. */
  size: number;
  mtimeMs: number;
  /** Every algorithm the source read computed (`algorithm` plus `alsoHash`). */
  all: Partial<Record<ChecksumAlgorithm, string>>;
}

/** What one file's copy did. */
export interface CopyFileResult {
  outcome: 'copied' | 'skipped_identical';
  /** The final destination path (differs from `to` with the rename policy). */
  finalPath: string;
  bytes: number;
  /** Bytes of an earlier attempt's temp file kept (not sent again); 0 when written whole. */
  resumedFrom: number;
  /** Bytes this attempt wrote to the destination. */
  bytesWritten: number;
  /** The copied source version's mtime (absent when nothing was copied). */
  sourceMtimeMs?: number;
  sourceChecksum: string;
  destinationChecksum: string;
}

const MiB = 1024 * 1024;

/** Temp names start with a dot so Ferry's own watch profiles (and most tools) ignore them. */
export function tempNameFor(to: string, tag: string): string {
  return path.posix.join(path.posix.dirname(to), `.${path.posix.basename(to)}.ferry-${tag}.part`);
}

/**
 * Read size for a file: 1 MiB keeps hashing and copying at disk speed (larger chunks measured
 * slower here), and a small file gets a buffer near its own size instead of a 1 MiB allocation.
 */
export function chunkSizeFor(size: number): number {
  return Math.min(MiB, Math.max(64 * 1024, size));
}

/** Hashes a whole file through the storage's reader. */
export async function hashFile(
  storage: Storage,
  file: string,
  algorithm: ChecksumAlgorithm,
  options: { chunkSize?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const hasher = makeHasher(algorithm);
  for await (const chunk of storage.read(file, {
    chunkSize: options.chunkSize ?? MiB,
    signal: options.signal,
    transient: true,
  })) {
    hasher.update(chunk);
  }
  return hasher.digest();
}

/** Maps a storage failure to the registered error the transfer records. */
export function asTransferError(error: unknown): unknown {
  if (!(error instanceof StorageError)) return error;
  return new FerryError(
    'FERRY_ERR_STORAGE',
    { reason: error.reason, path: error.path, message: error.message },
    { cause: error },
  );
}

/** `name (1).ext`, `name (2).ext`… — the first free one. */
async function freeName(storage: Storage, to: string): Promise<string> {
  const ext = path.posix.extname(to);
  const stem = to.slice(0, to.length - ext.length);
  for (let n = 1; n < 10_000; n += 1) {
    const candidate = `${stem} (${n})${ext}`;
    if (!(await storage.stat(candidate))) return candidate;
  }
  throw new FerryError('FERRY_ERR_DESTINATION_EXISTS', { path: to });
}

/**
 * Throws FERRY_ERR_INSUFFICIENT_SPACE unless the volume holding `dir` (or its nearest existing
 * ancestor: the folder may not exist yet) has `bytes` plus 1 MiB free, where the backend can tell.
 */
export async function ensureSpace(destination: Storage, dir: string, bytes: number): Promise<void> {
  let probe = dir;
  while (!(await destination.stat(probe)) && path.posix.dirname(probe) !== probe) {
    probe = path.posix.dirname(probe);
  }
  const available = await destination.freeSpace?.(probe);
  // Leave a little headroom: filesystems need blocks for metadata too.
  if (available !== undefined && available < bytes + MiB) {
    throw new FerryError('FERRY_ERR_INSUFFICIENT_SPACE', { path: dir, needed: bytes, available });
  }
}

/** What {@link writeTemp} did: the source checksums, bytes written, and the overlapped re-read. */
interface WrittenTemp {
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  bytes: number;
  /** The re-read's digest (or failure) when it ran alongside the commit. */
  reread?: PromiseSettledResult<string>;
}

/**
 * Streams source → temp, hashing the same chunks; returns the source checksums. The source is
 * read from its start even when the temp keeps a prefix: the checksum covers every byte, and
 * only the bytes past `opened.offset` are written.
 *
 * Read, hash and write overlap: the reader has the next chunk in flight (`transient` reads are
 * double-buffered), and each chunk's write runs on libuv's threads while this thread hashes the
 * same bytes. `alongsideCommit` (the verifying re-read, where written bytes are readable before
 * the commit) runs while the commit syncs; the file counts as written once both ended. The
 * source's mode and mtime go onto the open file before its commit where the backend can.
 */
async function writeTemp(
  request: CopyFileRequest,
  source: FileInfo,
  opened: OpenedTemp,
  alongsideCommit?: () => Promise<string>,
): Promise<WrittenTemp> {
  const hasher = makeMultiHasher([request.algorithm, ...(request.alsoHash ?? [])]);
  const { handle, offset } = opened;
  const interval = request.progressIntervalMs ?? 250;
  let bytes = 0;
  let written = 0;
  // A file copied within one interval reports only its end: small files add no chatter.
  let lastReport = Date.now();
  let lastCheckpoint = { at: Date.now(), bytes: offset };
  let reread: PromiseSettledResult<string> | undefined;
  try {
    for await (const chunk of request.source.read(request.from, {
      chunkSize: request.chunkSize ?? chunkSizeFor(source.size),
      signal: request.signal,
      transient: true,
    })) {
      const end = bytes + chunk.byteLength;
      let writing: Promise<void> | undefined;
      if (end > offset) {
        const fresh = bytes >= offset ? chunk : chunk.subarray(offset - bytes);
        writing = handle.write(fresh);
        written += fresh.byteLength;
      }
      // Both only read the chunk; it stays valid until the next one is asked for, after this.
      hasher.update(chunk);
      await writing;
      bytes = end;
      const now = Date.now();
      if (now - lastReport >= interval) {
        lastReport = now;
        request.onProgress?.(bytes, source.size);
      }
      if (
        opened.checkpoint &&
        now - lastCheckpoint.at >= (request.checkpointEveryMs ?? 1000) &&
        bytes - lastCheckpoint.bytes >= CHECKPOINT_MIN_BYTES
      ) {
        await opened.checkpoint(bytes);
        lastCheckpoint = { at: Date.now(), bytes };
      }
    }
    if (handle.setAttributes) await handle.setAttributes(attributesOf(source));
    reread = await commitTemp(handle, alongsideCommit);
  } catch (error) {
    // Closed with what it has (commit syncs and closes); the next attempt cuts it to `durable`.
    if (keepPartial(request, opened, error)) await handle.commit().catch(() => undefined);
    else await handle.abort();
    throw error;
  }
  request.onProgress?.(bytes, source.size);
  return { checksums: hasher.digest(), bytes: written, ...(reread ? { reread } : {}) };
}

/**
 * What a copy carries over: the mtime and the permission bits only (setuid/setgid from a dropped
 * file must not survive on Ferry's side).
 */
function attributesOf(source: FileInfo): FileAttributes {
  return {
    mtimeMs: source.mtimeMs,
    ...(source.mode === undefined ? {} : { mode: source.mode & 0o777 }),
  };
}

/** Commits the temp; `alongside` runs during the commit, its outcome returned. */
async function commitTemp(
  handle: OpenedTemp['handle'],
  alongside?: () => Promise<string>,
): Promise<PromiseSettledResult<string> | undefined> {
  if (!alongside) {
    await handle.commit();
    return undefined;
  }
  const [committed, result] = await Promise.allSettled([handle.commit(), alongside()]);
  if (committed.status === 'rejected') throw committed.reason;
  return result;
}

/** The value of a settled promise, or its failure thrown. */
function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** Applies the conflict policy; returns where to write, or a skip result. */
async function resolveConflict(
  request: CopyFileRequest,
  size: number,
): Promise<{ target: string; overwrite: boolean } | CopyFileResult> {
  const existing = await request.destination.stat(request.to);
  if (!existing) return { target: request.to, overwrite: false };
  switch (request.conflict) {
    case 'fail':
      throw new FerryError('FERRY_ERR_DESTINATION_EXISTS', { path: request.to });
    case 'overwrite':
      return { target: request.to, overwrite: true };
    case 'rename':
      return { target: await freeName(request.destination, request.to), overwrite: false };
    case 'skip_if_identical': {
      if (existing.size === size) {
        const [a, b] = await Promise.all([
          hashFile(request.source, request.from, request.algorithm, request),
          hashFile(request.destination, request.to, request.algorithm, request),
        ]);
        if (a === b) {
          return {
            outcome: 'skipped_identical',
            finalPath: request.to,
            bytes: 0,
            resumedFrom: 0,
            bytesWritten: 0,
            sourceChecksum: a,
            destinationChecksum: b,
          };
        }
      }
      throw new FerryError('FERRY_ERR_DESTINATION_EXISTS', { path: request.to });
    }
  }
}

/**
 * Copies one file with verification. Throws FERRY_ERR_CHECKSUM_MISMATCH (temp removed),
 * FERRY_ERR_DESTINATION_EXISTS, FERRY_ERR_INSUFFICIENT_SPACE or FERRY_ERR_STORAGE.
 */
export async function copyFile(request: CopyFileRequest): Promise<CopyFileResult> {
  const staged = await stageCopy(request);
  if (!('temp' in staged)) return staged;
  try {
    await request.onVerified?.(staged.verified);
  } catch (error) {
    await discardStaged(request.destination, staged);
    throw asTransferError(error);
  }
  await placeStaged(request.destination, staged);
  return staged.result;
}

/**
 * A verified copy still under its temp name (written, fsynced, re-read and matched): what a
 * batch records before renaming (`placeStaged`) many at once.
 */
export interface StagedCopy {
  temp: string;
  overwrite: boolean;
  verified: VerifiedCopy;
  /** What `copyFile` returns once it is renamed. */
  result: CopyFileResult;
}

/**
 * Everything of `copyFile` but the rename: the verified temp file, or the skip result. The
 * caller records `verified` and then places or discards it. Errors are mapped as `copyFile`'s.
 */
export async function stageCopy(request: CopyFileRequest): Promise<StagedCopy | CopyFileResult> {
  try {
    return await stageUnmapped(request);
  } catch (error) {
    throw asTransferError(error);
  }
}

/**
 * Renames a staged copy to its final name (`deferSync`: the caller syncs the folder once for a
 * batch); the temp file is removed when that fails.
 */
export async function placeStaged(
  destination: Storage,
  staged: StagedCopy,
  options: { deferSync?: boolean } = {},
): Promise<void> {
  try {
    await destination.rename(staged.temp, staged.verified.finalPath, {
      overwrite: staged.overwrite,
      deferSync: options.deferSync,
    });
  } catch (error) {
    await discardStaged(destination, staged);
    throw asTransferError(error);
  }
}

/** Removes a staged copy's temp file (never throws). */
export async function discardStaged(destination: Storage, staged: StagedCopy): Promise<void> {
  await destination.remove(staged.temp).catch(() => undefined);
}

async function stageUnmapped(request: CopyFileRequest): Promise<StagedCopy | CopyFileResult> {
  const source = await request.source.stat(request.from);
  if (!source || source.kind !== 'file') {
    throw new StorageError('not_found', request.from, `${request.from} is not a file`);
  }
  const resolved = await resolveConflict(request, source.size);
  if ('outcome' in resolved) return resolved;
  if (!request.spaceChecked)
    await ensureSpace(request.destination, path.posix.dirname(request.to), source.size);
  const temp = tempNameFor(resolved.target, request.tempTag);
  const opened = await openTemp(request, source, temp);
  const reread = () =>
    hashFile(request.destination, temp, request.algorithm, {
      chunkSize: request.chunkSize ?? chunkSizeFor(source.size),
      signal: request.signal,
    });
  // On a local disk the written bytes are readable (page cache) before the fsync ends, so the
  // re-read overlaps it; a remote temp (SFTP, SMB) is re-read only once it is committed.
  const overlapped = kindAt(request.destination, temp) === 'local' && !opened.checkpoint;
  let keep = false;
  try {
    const written = await writeTemp(request, source, opened, overlapped ? reread : undefined).catch(
      (error: unknown) => {
        keep = keepPartial(request, opened, error);
        throw error;
      },
    );
    const sourceChecksums = written.checksums;
    const sourceChecksum = sourceChecksums[request.algorithm] ?? '';
    const after = await request.source.stat(request.from);
    if (!after || after.size !== source.size || after.mtimeMs !== source.mtimeMs) {
      throw new FerryError('FERRY_ERR_SOURCE_CHANGED', { path: request.from });
    }
    const destinationChecksum = written.reread ? settled(written.reread) : await reread();
    if (sourceChecksum !== destinationChecksum) {
      throw new FerryError('FERRY_ERR_CHECKSUM_MISMATCH', {
        file: request.to,
        source: sourceChecksum,
        destination: destinationChecksum,
        algorithm: request.algorithm,
      });
    }
    // Where the open temp could not take them (writeTemp), by path once it is committed.
    if (!opened.handle.setAttributes)
      await request.destination.setAttributes?.(temp, attributesOf(source));
    keep = true;
    return {
      temp,
      overwrite: resolved.overwrite,
      verified: {
        source: sourceChecksum,
        destination: destinationChecksum,
        all: sourceChecksums,
        finalPath: resolved.target,
        size: source.size,
        mtimeMs: source.mtimeMs,
      },
      result: {
        outcome: 'copied',
        finalPath: resolved.target,
        bytes: source.size,
        resumedFrom: opened.offset,
        bytesWritten: written.bytes,
        sourceMtimeMs: source.mtimeMs,
        sourceChecksum,
        destinationChecksum,
      },
    };
  } finally {
    // Staged (the caller places or discards it) or kept for the next attempt.
    if (!keep) await request.destination.remove(temp).catch(() => undefined);
  }
}
