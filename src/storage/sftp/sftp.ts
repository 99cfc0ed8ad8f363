/**
 * Storage over SFTP (ssh2): paths are relative to the endpoint's root folder on the server
 * (`''` is the root). Writes are fsynced on commit (and on `sync`, a resume checkpoint) through
 * OpenSSH's fsync@openssh.com extension, and a partial file can be continued at an offset.
 * Reads and writes keep several requests in flight so throughput is not bound by round trips. SFTP v3 reports times in whole seconds and no change time (ctime = mtime).
 */
import path from 'node:path';
import type { FileEntryWithStats, SFTPWrapper, Stats } from 'ssh2';
import { StorageError, type FileInfo, type ResumableWriteHandle, type Storage } from '../types.ts';
import { makeSftpSession, sftpError, type SftpConnectOptions } from './session.ts';
import { formatSftpUrl } from './url.ts';

const MiB = 1024 * 1024;
/** Bytes per SFTP request: OpenSSH's own limit is 256 KiB; smaller requests keep it lively. */
const REQUEST = 64 * 1024;

/** SFTP storage options: where and how to connect. */
export type SftpStorageOptions = SftpConnectOptions;

function infoOf(file: string, attrs: Stats): FileInfo {
  const mtimeMs = attrs.mtime * 1000;
  return {
    path: file,
    size: attrs.size,
    mtimeMs,
    // SFTP v3 has no change time; the write time is the closest it reports.
    ctimeMs: mtimeMs,
    kind: attrs.isDirectory() ? 'directory' : 'file',
    mode: attrs.mode & 0o7777,
  };
}

const isNotFound = (error: unknown) =>
  error instanceof StorageError && error.reason === 'not_found';

/** Creates an SFTP-backed Storage; it connects on first use. */
export function makeSftpStorage(options: SftpStorageOptions): Storage {
  const session = makeSftpSession(options);
  const root = options.url.root;

  /** The server path of a storage path; refuses names that would leave the root. */
  function remote(file: string): string {
    if (file.includes('\0') || file.startsWith('/')) {
      throw new StorageError('invalid_name', file, `${file}: not a path inside the endpoint`);
    }
    if (file.split('/').some((s) => s === '..')) {
      throw new StorageError('invalid_name', file, `${file}: .. would leave the endpoint root`);
    }
    return file === '' ? root : path.posix.join(root, file);
  }
  const join = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

  const stat = (file: string) =>
    session.call<Stats>(file, (sftp, done) => {
      sftp.stat(remote(file), done);
    });
  const readdir = (dir: string) =>
    session.call<FileEntryWithStats[]>(dir, (sftp, done) => {
      sftp.readdir(remote(dir), done);
    });

  async function makeDirs(dir: string): Promise<void> {
    if (dir === '' || dir === '.') return;
    const existing = await stat(dir).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (existing) return;
    await makeDirs(path.posix.dirname(dir) === '.' ? '' : path.posix.dirname(dir));
    await session
      .call<undefined>(dir, (sftp, done) => {
        sftp.mkdir(remote(dir), done);
      })
      .catch(async (error: unknown) => {
        // Another writer made it meanwhile: just as good.
        if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw error;
      });
  }

  async function walk(dir: string, recursive: boolean, out: FileInfo[]): Promise<void> {
    for (const entry of await readdir(dir)) {
      const full = join(dir, entry.filename);
      if (entry.attrs.isDirectory()) {
        if (recursive) await walk(full, true, out);
      } else if (entry.attrs.isFile()) out.push(infoOf(full, entry.attrs));
    }
  }

  /** Reads `length` bytes at `position` with several requests in flight; fewer only at EOF. */
  function readRange(
    sftp: SFTPWrapper,
    handle: Buffer,
    file: string,
    buffer: Buffer,
    position: number,
  ): Promise<number> {
    const parts: Promise<number>[] = [];
    for (let offset = 0; offset < buffer.length; offset += REQUEST) {
      const length = Math.min(REQUEST, buffer.length - offset);
      parts.push(
        new Promise((resolve, reject) => {
          sftp.read(handle, buffer, offset, length, position + offset, (err, bytesRead) => {
            if (err) reject(sftpError(err, file));
            else resolve(bytesRead);
          });
        }),
      );
    }
    return Promise.all(parts).then((counts) => {
      // A short part ends the file: what follows it is not data.
      let total = 0;
      for (let i = 0; i < counts.length; i += 1) {
        total += counts[i] ?? 0;
        if ((counts[i] ?? 0) < Math.min(REQUEST, buffer.length - i * REQUEST)) break;
      }
      return total;
    });
  }

  function writeRange(
    sftp: SFTPWrapper,
    handle: Buffer,
    file: string,
    chunk: Buffer,
    position: number,
  ): Promise<void> {
    const parts: Promise<void>[] = [];
    for (let offset = 0; offset < chunk.length; offset += REQUEST) {
      const length = Math.min(REQUEST, chunk.length - offset);
      parts.push(
        new Promise((resolve, reject) => {
          sftp.write(handle, chunk, offset, length, position + offset, (err) => {
            if (err) reject(sftpError(err, file));
            else resolve();
          });
        }),
      );
    }
    return Promise.all(parts).then(() => undefined);
  }

  const closeHandle = (file: string, handle: Buffer) =>
    session.call<undefined>(file, (sftp, done) => {
      sftp.close(handle, done);
    });

  async function* read(file: string, chunkSize: number, signal?: AbortSignal) {
    const handle = await session.call<Buffer>(file, (sftp, done) => {
      sftp.open(remote(file), 'r', done);
    });
    try {
      const sftp = await session.channel(file);
      let position = 0;
      for (;;) {
        signal?.throwIfAborted();
        // A fresh buffer per chunk: callers may keep chunks (non-transient reads).
        const buffer = Buffer.allocUnsafe(chunkSize);
        const got = await readRange(sftp, handle, file, buffer, position);
        if (got === 0) return;
        position += got;
        yield buffer.subarray(0, got);
        if (got < chunkSize) return;
      }
    } finally {
      await closeHandle(file, handle).catch(() => undefined);
    }
  }

  async function remove(file: string): Promise<void> {
    await session
      .call<undefined>(file, (sftp, done) => {
        sftp.unlink(remote(file), done);
      })
      .catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
  }

  /**
   * Opens `file` for writing at `start`: 0 creates or truncates it; a later offset continues a
   * partial file (resume after a crash), cut to `start` first so nothing stale follows.
   */
  async function openWrite(file: string, start: number): Promise<ResumableWriteHandle> {
    await makeDirs(path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file));
    const handle = await session.call<Buffer>(file, (sftp, done) => {
      sftp.open(remote(file), start === 0 ? 'w' : 'r+', done);
    });
    if (start > 0) {
      await session.call<undefined>(file, (sftp, done) => {
        sftp.fsetstat(handle, { size: start }, done);
      });
    }
    let position = start;
    let closed = false;
    const finish = async () => {
      if (closed) return;
      closed = true;
      await closeHandle(file, handle);
    };
    // fsync@openssh.com: the bytes are on the server's disk before Ferry calls them written.
    const sync = () =>
      session.call<undefined>(file, (sftp, done) => {
        sftp.ext_openssh_fsync(handle, done);
      });
    return {
      async write(chunk) {
        const sftp = await session.channel(file);
        const buffer = Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        await writeRange(sftp, handle, file, buffer, position);
        position += buffer.byteLength;
      },
      sync,
      async commit() {
        await sync();
        await finish();
      },
      async abort() {
        await finish().catch(() => undefined);
        await remove(file);
      },
    };
  }

  const storage: Storage = {
    kind: 'sftp',
    location: formatSftpUrl(options.url),
    async stat(file) {
      try {
        return infoOf(file, await stat(file));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async list(dir, options = {}) {
      const info = await storage.stat(dir);
      if (info?.kind !== 'directory') {
        throw new StorageError('not_found', dir, `${dir || '/'} is not a folder`);
      }
      const out: FileInfo[] = [];
      await walk(dir, options.recursive ?? true, out);
      return out;
    },
    read(file, options = {}) {
      return read(file, options.chunkSize ?? MiB, options.signal);
    },
    write: (file) => openWrite(file, 0),
    resumeWrite: (file, offset) => openWrite(file, offset),
    async rename(from, to, options = {}) {
      await makeDirs(path.posix.dirname(to) === '.' ? '' : path.posix.dirname(to));
      if (options.overwrite) {
        await session.call<undefined>(to, (sftp, done) => {
          sftp.ext_openssh_rename(remote(from), remote(to), done);
        });
        return;
      }
      // Plain SFTP rename never replaces (OpenSSH links, then unlinks); a refusal is `exists`
      // when something is at `to`.
      await session
        .call<undefined>(to, (sftp, done) => {
          sftp.rename(remote(from), remote(to), done);
        })
        .catch(async (error: unknown) => {
          if (isNotFound(error)) throw new StorageError('not_found', from, `${from} is missing`);
          if (await storage.stat(to)) throw new StorageError('exists', to, `${to} already exists`);
          throw error;
        });
    },
    remove,
    async removeEmptyDir(dir) {
      try {
        await session.call<undefined>(dir, (sftp, done) => {
          sftp.rmdir(remote(dir), done);
        });
        return true;
      } catch (error) {
        // Not empty (a generic failure in SFTP v3) or already gone: not removed, not an error.
        if (
          error instanceof StorageError &&
          (error.reason === 'not_found' || error.reason === 'io')
        ) {
          return false;
        }
        throw error;
      }
    },
    async setAttributes(file, attributes) {
      const attrs: { mode?: number; atime?: number; mtime?: number } = {};
      if (attributes.mode !== undefined) attrs.mode = attributes.mode;
      if (attributes.mtimeMs !== undefined) {
        attrs.mtime = Math.round(attributes.mtimeMs / 1000);
        attrs.atime = attrs.mtime;
      }
      await session.call<undefined>(file, (sftp, done) => {
        sftp.setstat(remote(file), attrs, done);
      });
    },
    async freeSpace(dir) {
      try {
        const info = await session.call<{ f_bavail: number | bigint; f_frsize: number | bigint }>(
          dir,
          (sftp, done) => {
            sftp.ext_openssh_statvfs(remote(dir), done);
          },
        );
        const free = Number(info.f_bavail) * Number(info.f_frsize);
        return Number.isFinite(free) ? free : undefined;
      } catch {
        return undefined;
      }
    },
    close: () => session.close(),
  };
  return storage;
}
