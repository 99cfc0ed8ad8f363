/**
 * The verified copy of one file (invariants 1 and 2). One read of the source feeds both the hash
 * and the write; the bytes land under a temp name in the destination folder, are fsynced and
 * re-read and hashed there, and only a verified file is renamed to its final name. A move
 * deletes the source only after that, with both checksums already handed to the caller.
 */
import path from 'node:path';
import { FerryError } from '../errors/index.ts';
import { StorageError, type FileInfo, type Storage } from '../storage/index.ts';
import { makeHasher, type ChecksumAlgorithm } from './hashing.ts';

/** What to do when the destination already exists. */
export type ConflictPolicy = 'fail' | 'skip_if_identical' | 'overwrite' | 'rename';

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
  onVerified?: (checksums: { source: string; destination: string }) => Promise<void>;
  signal?: AbortSignal;
  chunkSize?: number;
  progressIntervalMs?: number;
}

/** What one file's copy did. */
export interface CopyFileResult {
  outcome: 'copied' | 'skipped_identical';
  /** The final destination path (differs from `to` with the rename policy). */
  finalPath: string;
  bytes: number;
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

async function checkSpace(request: CopyFileRequest, size: number): Promise<void> {
  const dir = path.posix.dirname(request.to);
  let probe = dir;
  // The destination folder may not exist yet; ask about its nearest existing ancestor.
  while (!(await request.destination.stat(probe)) && path.posix.dirname(probe) !== probe) {
    probe = path.posix.dirname(probe);
  }
  const available = await request.destination.freeSpace?.(probe);
  // Leave a little headroom: filesystems need blocks for metadata too.
  if (available !== undefined && available < size + MiB) {
    throw new FerryError('FERRY_ERR_INSUFFICIENT_SPACE', { path: dir, needed: size, available });
  }
}

/** Streams source → temp, hashing the same chunks; returns the source checksum. */
async function writeTemp(
  request: CopyFileRequest,
  source: FileInfo,
  temp: string,
): Promise<string> {
  const hasher = makeHasher(request.algorithm);
  const handle = await request.destination.write(temp);
  const interval = request.progressIntervalMs ?? 250;
  let bytes = 0;
  // A file copied within one interval reports only its end: small files add no chatter.
  let lastReport = Date.now();
  try {
    for await (const chunk of request.source.read(request.from, {
      chunkSize: request.chunkSize ?? chunkSizeFor(source.size),
      signal: request.signal,
      transient: true,
    })) {
      hasher.update(chunk);
      await handle.write(chunk);
      bytes += chunk.byteLength;
      const now = Date.now();
      if (now - lastReport >= interval) {
        lastReport = now;
        request.onProgress?.(bytes, source.size);
      }
    }
    await handle.commit();
  } catch (error) {
    await handle.abort();
    throw error;
  }
  request.onProgress?.(bytes, source.size);
  return hasher.digest();
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
  try {
    return await copyFileUnmapped(request);
  } catch (error) {
    throw asTransferError(error);
  }
}

async function copyFileUnmapped(request: CopyFileRequest): Promise<CopyFileResult> {
  const source = await request.source.stat(request.from);
  if (!source || source.kind !== 'file') {
    throw new StorageError('not_found', request.from, `${request.from} is not a file`);
  }
  const resolved = await resolveConflict(request, source.size);
  if ('outcome' in resolved) return resolved;
  await checkSpace(request, source.size);
  const temp = tempNameFor(resolved.target, request.tempTag);
  // A leftover of an interrupted attempt (maybe read-only, maybe a planted link) goes first.
  await request.destination.remove(temp);
  let renamed = false;
  try {
    const sourceChecksum = await writeTemp(request, source, temp);
    const after = await request.source.stat(request.from);
    if (!after || after.size !== source.size || after.mtimeMs !== source.mtimeMs) {
      throw new FerryError('FERRY_ERR_SOURCE_CHANGED', { path: request.from });
    }
    const destinationChecksum = await hashFile(request.destination, temp, request.algorithm, {
      chunkSize: request.chunkSize ?? chunkSizeFor(source.size),
      signal: request.signal,
    });
    if (sourceChecksum !== destinationChecksum) {
      throw new FerryError('FERRY_ERR_CHECKSUM_MISMATCH', {
        file: request.to,
        source: sourceChecksum,
        destination: destinationChecksum,
        algorithm: request.algorithm,
      });
    }
    // Permission bits only: setuid/setgid from a dropped file must not survive on Ferry's side.
    const mode = source.mode === undefined ? undefined : source.mode & 0o777;
    await request.destination.setAttributes?.(temp, { mtimeMs: source.mtimeMs, mode });
    await request.onVerified?.({ source: sourceChecksum, destination: destinationChecksum });
    await request.destination.rename(temp, resolved.target, { overwrite: resolved.overwrite });
    renamed = true;
    return {
      outcome: 'copied',
      finalPath: resolved.target,
      bytes: source.size,
      sourceChecksum,
      destinationChecksum,
    };
  } finally {
    if (!renamed) await request.destination.remove(temp).catch(() => undefined);
  }
}
