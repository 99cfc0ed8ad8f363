/**
 * Local paths (including kernel-mounted SMB/NFS shares). Writes are durable on commit (fsync) and
 * a rename syncs the destination folder, so a renamed file survives a power cut (invariant 1).
 */
import { constants, createReadStream } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  statfs,
  utimes,
  chmod,
  link,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import {
  StorageError,
  type FileAttributes,
  type FileInfo,
  type Storage,
  type StorageFailure,
  type WriteHandle,
} from '../types.ts';

const failures: Record<string, StorageFailure> = {
  ENOENT: 'not_found',
  ENOTDIR: 'not_found',
  EEXIST: 'exists',
  ENOTEMPTY: 'exists',
  EACCES: 'permission_denied',
  EPERM: 'permission_denied',
  EROFS: 'permission_denied',
  // O_NOFOLLOW met a symlink: refused on purpose.
  ELOOP: 'permission_denied',
  ENOSPC: 'no_space',
  EDQUOT: 'no_space',
  EHOSTDOWN: 'unreachable',
  ENOTCONN: 'unreachable',
  ESTALE: 'unreachable',
};

/** Maps a Node fs error to a StorageError (other errors pass through unchanged). */
export function storageErrorOf(error: unknown, file: string): unknown {
  if (error instanceof StorageError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return error;
  const reason = failures[code] ?? 'io';
  return new StorageError(reason, file, `${code}: ${(error as Error).message}`, { cause: error });
}

async function guarded<T>(file: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw storageErrorOf(error, file);
  }
}

function infoOf(file: string, s: import('node:fs').Stats): FileInfo {
  return {
    path: file,
    size: s.size,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
    kind: s.isDirectory() ? 'directory' : 'file',
    mode: s.mode & 0o7777,
  };
}

/** `/proc/self/fd/<n>`: a folder held open by this process. */
const openFolderPath = /^\/proc\/self\/fd\/\d+$/;

/**
 * mkdir -p whose new folders are durable: each created folder's entry is fsynced in its parent,
 * so a power cut cannot lose a folder that holds a verified file (whose source a move deleted).
 */
async function makeDirs(dir: string): Promise<void> {
  // An open folder reached by its descriptor (a pinned root's, roots.ts) exists: nothing to make.
  if (openFolderPath.test(dir)) return;
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await syncDir(path.dirname(d));
    if (d === first || path.dirname(d) === d) break;
  }
}

/** Syncs a folder so a rename or unlink inside it is durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Renames without replacing: link() fails with EEXIST where rename() would silently replace.
 * Filesystems without hard links (FAT, some network mounts) get a checked rename instead.
 */
async function renameNoReplace(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') {
      throw error;
    }
    const existing = await stat(to).catch(() => undefined);
    if (existing) throw new StorageError('exists', to, `${to} already exists`);
    await rename(from, to);
    return;
  }
  await unlink(from);
}

/**
 * Read buffers kept for the next file (a batch of small files would otherwise allocate two per
 * file twice over, source and re-read, and spend its time collecting them): at most
 * `spareBuffers` of each size up to 1 MiB.
 */
const spares = new Map<number, Buffer[]>();
const spareBuffers = 32;

function takeBuffer(size: number): Buffer {
  return spares.get(size)?.pop() ?? Buffer.allocUnsafe(size);
}

function giveBuffer(buffer: Buffer): void {
  if (buffer.length > 1024 * 1024) return;
  const kept = spares.get(buffer.length) ?? [];
  if (kept.length < spareBuffers) kept.push(buffer);
  spares.set(buffer.length, kept);
}

/**
 * Reads with two reused buffers: while the caller hashes and writes one chunk, the next is
 * already being read. Measured ~1.5x faster than a stream on a 2 GiB verified copy here (no
 * allocation per chunk, reads overlapping the caller's work). Chunks are valid only until the
 * next one is requested. A short read is the end of the file (a regular file reads short only
 * there), so a file smaller than a chunk costs one read, not a second that finds nothing; a file
 * that grows meanwhile is caught by the caller's check of its size afterwards.
 */
async function* readAhead(
  file: string,
  chunkSize: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  // Never through a symlink: a source swapped for a link after the scan is refused, not followed.
  const handle = await guarded(file, () => open(file, constants.O_RDONLY | constants.O_NOFOLLOW));
  const buffers = [takeBuffer(chunkSize), takeBuffer(chunkSize)];
  let position = 0;
  const readInto = (buffer: Buffer) => handle.read(buffer, 0, chunkSize, position);
  let current = 0;
  let pending: Promise<{ bytesRead: number }> | undefined = readInto(buffers[current] as Buffer);
  try {
    while (pending) {
      signal?.throwIfAborted();
      const bytesRead: number = (await pending).bytesRead;
      if (bytesRead === 0) return;
      position += bytesRead;
      const ready = buffers[current] as Buffer;
      current = 1 - current;
      pending = bytesRead < chunkSize ? undefined : readInto(buffers[current] as Buffer);
      yield ready.subarray(0, bytesRead);
    }
  } catch (error) {
    throw storageErrorOf(error, file);
  } finally {
    // A caller that stops early leaves one read in flight; let it end before closing.
    await pending?.catch(() => undefined);
    await handle.close();
    // The caller is done with the last chunk: it asked for the next one, or stopped.
    for (const buffer of buffers) giveBuffer(buffer);
  }
}

/** Sets mode and mtime (atime too) on an open file or, through the same two calls, a path. */
async function applyAttributes(
  target: Pick<FileHandle, 'chmod' | 'utimes'>,
  attributes: FileAttributes,
): Promise<void> {
  if (attributes.mode !== undefined) await target.chmod(attributes.mode);
  if (attributes.mtimeMs !== undefined) {
    const t = attributes.mtimeMs / 1000;
    await target.utimes(t, t);
  }
}

/** Stats a listing keeps in flight at once. */
const statsInFlight = 64;

/** Storage over the local filesystem; paths are absolute. */
export function makeLocalStorage(): Storage {
  async function walk(dir: string, recursive: boolean, out: FileInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      // A folder removed between listing its parent and reading it is simply gone.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && out.length > 0) return;
      throw storageErrorOf(error, dir);
    }
    const files: string[] = [];
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (recursive) await walk(full, true, out);
      } else if (entry.isFile()) files.push(full);
    }
    // A stat is a round trip to libuv's threads: many in flight list a 10,000-file folder in a
    // fraction of the time one at a time takes (a watch lists its source every cycle).
    for (let i = 0; i < files.length; i += statsInFlight) {
      const infos = await Promise.all(files.slice(i, i + statsInFlight).map(statIfPresent));
      for (const info of infos) if (info) out.push(info);
    }
  }

  /** The file's info, or undefined when it vanished since the folder was read. */
  async function statIfPresent(full: string): Promise<FileInfo | undefined> {
    try {
      return infoOf(full, await stat(full));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw storageErrorOf(error, full);
      return undefined;
    }
  }

  return {
    kind: 'local',
    location: 'local',
    async stat(file) {
      try {
        return infoOf(file, await stat(file));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw storageErrorOf(error, file);
      }
    },
    async list(dir, options = {}) {
      const out: FileInfo[] = [];
      await guarded(dir, async () => {
        const s = await stat(dir);
        if (!s.isDirectory()) throw new StorageError('not_found', dir, `${dir} is not a folder`);
      });
      await walk(dir, options.recursive ?? true, out);
      return out;
    },
    async *read(file, options = {}) {
      if (options.transient) {
        yield* readAhead(file, options.chunkSize ?? 1024 * 1024, options.signal);
        return;
      }
      const stream = createReadStream(file, {
        highWaterMark: options.chunkSize ?? 1024 * 1024,
        signal: options.signal,
      });
      try {
        for await (const chunk of stream) yield chunk as Buffer;
      } catch (error) {
        throw storageErrorOf(error, file);
      }
    },
    async write(file) {
      const handle = await guarded(file, async () => {
        await makeDirs(path.dirname(file));
        // O_NOFOLLOW: a symlink planted under this name is refused, never written through.
        return open(
          file,
          constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
        );
      });
      let closed = false;
      const result: WriteHandle = {
        async write(chunk) {
          let offset = 0;
          await guarded(file, async () => {
            while (offset < chunk.byteLength) {
              const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
              offset += bytesWritten;
            }
          });
        },
        async commit() {
          await guarded(file, async () => {
            await handle.sync();
            closed = true;
            await handle.close();
          });
        },
        async setAttributes(attributes) {
          await guarded(file, () => applyAttributes(handle, attributes));
        },
        async abort() {
          if (!closed) {
            closed = true;
            await handle.close().catch(() => undefined);
          }
          await rm(file, { force: true });
        },
      };
      return result;
    },
    async rename(from, to, options = {}) {
      await guarded(to, async () => {
        await makeDirs(path.dirname(to));
        if (options.overwrite) {
          await rename(from, to);
        } else {
          await renameNoReplace(from, to);
        }
        if (options.deferSync) return;
        await syncDir(path.dirname(to));
        if (path.dirname(from) !== path.dirname(to)) await syncDir(path.dirname(from));
      });
    },
    async syncFolder(dir) {
      await guarded(dir, () => syncDir(dir));
    },
    async remove(file) {
      await guarded(file, () => rm(file, { force: true }));
    },
    async removeEmptyDir(dir) {
      try {
        await rmdir(dir);
        return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return false;
        throw storageErrorOf(error, dir);
      }
    },
    async setAttributes(file, attributes) {
      const byPath = {
        chmod: (mode: number) => chmod(file, mode),
        utimes: (atime: number, mtime: number) => utimes(file, atime, mtime),
      };
      await guarded(file, () => applyAttributes(byPath, attributes));
    },
    async freeSpace(dir) {
      try {
        const s = await statfs(dir);
        return s.bavail * s.bsize;
      } catch {
        return undefined;
      }
    },
    async close() {
      /* nothing held */
    },
  };
}
