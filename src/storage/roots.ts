/**
 * Pinned roots (invariant 7 after creation): a watch profile, a one-off transfer and a pipeline
 * each work inside folders whose real path and identity (device, inode) were recorded when they
 * were set up. Every operation opens the root afresh with O_NOFOLLOW | O_DIRECTORY, compares its
 * identity with the pin, then reaches the file through that open folder
 * (`/proc/self/fd/<fd>/…`, the closest Node comes to `openat`), walking each folder on the way
 * with O_NOFOLLOW. A root swapped for a symlink or another folder is refused before anything is
 * read, written or deleted; the window that remains is described in docs/transfers.md.
 */
import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../errors/index.ts';
import { storageErrorOf } from './local/local.ts';
import { kindAt, StorageError, type FileInfo, type Storage, type WriteHandle } from './types.ts';

/** A root as recorded: its real path and the identity of the folder found there. */
export interface RootPin {
  readonly path: string;
  /** Device and inode as decimal strings (bigints in JSON). */
  readonly dev: string;
  readonly ino: string;
  /**
   * The path callers use for this folder when it differs from the real one (a pipeline's
   * configured folder reached through an administrator's symlink): an alias, never re-resolved.
   */
  readonly configured?: string;
}

/** The error that stops a profile, transfer or run whose root changed. */
export function rootChanged(root: string, reason: string): FerryError {
  return new FerryError('FERRY_ERR_ROOT_CHANGED', { root, reason });
}

/** True for the error `rootChanged` makes. */
export function isRootChanged(error: unknown): error is FerryError {
  return error instanceof FerryError && error.code === 'FERRY_ERR_ROOT_CHANGED';
}

/**
 * Pins the folder at `folder` (for transfers, a path already resolved inside a volume), or, when
 * it does not exist yet (a destination created on first write), its nearest existing ancestor.
 * The pin holds the real path; a configured path reached through a symlink is kept as its alias.
 */
export async function pinRoot(folder: string): Promise<RootPin> {
  // An endpoint's folder (`@name:/…`) is not on this disk: its backend keeps every path inside
  // the endpoint root, so there is nothing local to pin (docs/security.md).
  if (isEndpointPath(folder)) return { path: folder, dev: endpointPin, ino: endpointPin };
  for (let current = path.normalize(folder); ; current = path.dirname(current)) {
    try {
      const real = await realpath(current);
      const s = await lstat(real, { bigint: true });
      if (!s.isDirectory()) throw rootChanged(current, 'it is not a folder');
      const pin = { path: real, dev: String(s.dev), ino: String(s.ino) };
      return real === current ? pin : { ...pin, configured: current };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path.dirname(current) === current) {
        throw error;
      }
    }
  }
}

/** Marks the pin of an endpoint folder (no device or inode on this machine). */
const endpointPin = 'endpoint';

/** A path on a remote endpoint (`@name:/…`), not on this disk: it is never absolute. */
export const isEndpointPath = (p: string): boolean => !path.isAbsolute(p);

/** Whether a pin stands for an endpoint folder, which its backend confines instead. */
export const isEndpointPin = (pin: RootPin): boolean => pin.dev === endpointPin;

/** `/proc/self/fd` reaches an open folder by its descriptor; without it, paths are used. */
const procFd = existsSync('/proc/self/fd');
const through = (handle: FileHandle, fallback: string) =>
  procFd ? `/proc/self/fd/${handle.fd}` : fallback;
const dirFlags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Opens the pinned folder and proves it is still the one pinned; the caller closes it. */
export async function openRoot(pin: RootPin): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(pin.path, dirFlags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw rootChanged(pin.path, 'it is now a symlink');
    // Gone is not dangerous (nothing can be reached through it): a scan failure, retried.
    if (code === 'ENOENT') throw new StorageError('not_found', pin.path, `${pin.path} is gone`);
    // With O_DIRECTORY a symlink may answer ENOTDIR rather than ELOOP: say which it is.
    if (code === 'ENOTDIR') {
      const link = await lstat(pin.path).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      throw rootChanged(pin.path, link ? 'it is now a symlink' : 'it is no longer a folder');
    }
    throw storageErrorOf(error, pin.path);
  }
  const s = await handle.stat({ bigint: true });
  if (String(s.dev) !== pin.dev || String(s.ino) !== pin.ino) {
    await handle.close();
    throw rootChanged(pin.path, 'it is now another folder');
  }
  return handle;
}

/** Throws FERRY_ERR_ROOT_CHANGED unless every pin still names its folder. */
export async function checkRoots(pins: readonly RootPin[]): Promise<void> {
  for (const pin of pins) if (!isEndpointPin(pin)) await (await openRoot(pin)).close();
}

/** The path callers name the pinned folder by. */
const baseOf = (pin: RootPin) => pin.configured ?? pin.path;

/** Where one logical path is reached, and the descriptors to close afterwards. */
interface Reach {
  mapped: string;
  handles: FileHandle[];
  /** Descriptor path → logical folder, to put logical paths back into results and errors. */
  names: [string, string][];
}

async function closeAll(handles: readonly FileHandle[]): Promise<void> {
  await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
}

/**
 * Opens `pin` and each folder of `parts` but the last with O_NOFOLLOW (every one, the last
 * included, when `folder`: the path is itself a folder to list); `create` makes missing folders
 * (each made durable in its parent). A symlinked folder on the way is refused.
 */
async function reach(
  pin: RootPin,
  parts: readonly string[],
  create: boolean,
  folder = false,
): Promise<Reach> {
  const root = await openRoot(pin);
  const out: Reach = { mapped: '', handles: [root], names: [] };
  let dir = root;
  let logical = baseOf(pin);
  try {
    out.names.push([through(root, pin.path), logical]);
    for (const part of folder ? parts : parts.slice(0, -1)) {
      const next = `${through(dir, logical)}/${part}`;
      logical = path.join(logical, part);
      if (create) {
        const made = await mkdir(next).then(
          () => true,
          (error: unknown) => {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
            return false;
          },
        );
        if (made) await dir.sync();
      }
      dir = await open(next, dirFlags);
      out.handles.push(dir);
      out.names.push([through(dir, logical), logical]);
    }
  } catch (error) {
    await closeAll(out.handles);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      throw new StorageError(
        'permission_denied',
        logical,
        `${logical} is not a folder inside ${pin.path} (a symlink is never followed)`,
      );
    }
    throw storageErrorOf(error, logical);
  }
  const last = folder ? undefined : parts.at(-1);
  out.mapped = last === undefined ? through(dir, logical) : `${through(dir, logical)}/${last}`;
  return out;
}

/** Puts logical paths back into a message or path that names descriptors. */
function unmap(text: string, names: readonly [string, string][]): string {
  let out = text;
  // Longest first: `/proc/self/fd/12` must not eat the start of `/proc/self/fd/123`.
  for (const [fd, logical] of [...names].sort((a, b) => b[0].length - a[0].length))
    out = out.split(fd).join(logical);
  return out;
}

function remapError(error: unknown, names: readonly [string, string][]): unknown {
  if (!(error instanceof StorageError)) return error;
  return new StorageError(error.reason, unmap(error.path, names), unmap(error.message, names), {
    cause: error,
  });
}

/**
 * A local storage confined to `pins`: every path must lie under one of them (the longest
 * match wins), and every call reaches it through the freshly verified root. Other storages
 * (SMB) are returned as they are: their server resolves paths, not this host.
 */
export function confineStorage(inner: Storage, pins: readonly RootPin[]): Storage {
  if (inner.kind !== 'local') return inner;
  const ordered = pins
    .filter((pin) => !isEndpointPin(pin))
    .sort((a, b) => baseOf(b).length - baseOf(a).length);

  function split(p: string): { pin: RootPin; parts: string[] } {
    const normal = path.normalize(p);
    const pin = ordered.find((r) => normal === baseOf(r) || normal.startsWith(`${baseOf(r)}/`));
    if (!pin) throw new StorageError('permission_denied', p, `${p} is outside the pinned folders`);
    const parts = normal.slice(baseOf(pin).length).split('/').filter(Boolean);
    if (parts.some((s) => s === '..' || s === '.')) {
      throw new StorageError('permission_denied', p, `${p} contains . or ..`);
    }
    return { pin, parts };
  }

  /** Runs `fn` on the reached path; descriptors are closed after, errors say logical paths. */
  async function at<T>(
    p: string,
    create: boolean,
    fn: (mapped: string, r: Reach) => Promise<T>,
    folder = false,
  ): Promise<T> {
    if (isEndpointPath(p)) return fn(p, { mapped: p, handles: [], names: [] });
    const { pin, parts } = split(p);
    const r = await reach(pin, parts, create, folder);
    try {
      return await fn(r.mapped, r);
    } catch (error) {
      throw remapError(error, r.names);
    } finally {
      await closeAll(r.handles);
    }
  }

  const missing = (error: unknown) => error instanceof StorageError && error.reason === 'not_found';
  const relabel = (info: FileInfo, names: readonly [string, string][]): FileInfo => ({
    ...info,
    path: unmap(info.path, names),
  });

  return {
    kind: inner.kind,
    // Pinned roots are local; an endpoint path is its backend's.
    kindAt: (p) => (isEndpointPath(p) ? kindAt(inner, p) : inner.kind),
    location: inner.location,
    async stat(p) {
      try {
        return await at(p, false, async (m, r) => {
          const info = await inner.stat(m);
          return info && relabel(info, r.names);
        });
      } catch (error) {
        if (missing(error)) return undefined;
        throw error;
      }
    },
    // The listed folder itself is opened with O_NOFOLLOW too: a folder swapped for a symlink
    // lists nothing from where it points, not even names.
    list: (dir, options) =>
      at(
        dir,
        false,
        async (m, r) => (await inner.list(m, options)).map((info) => relabel(info, r.names)),
        true,
      ),
    async *read(p, options) {
      if (isEndpointPath(p)) {
        yield* inner.read(p, options);
        return;
      }
      const { pin, parts } = split(p);
      const r = await reach(pin, parts, false);
      try {
        yield* inner.read(r.mapped, options);
      } catch (error) {
        throw remapError(error, r.names);
      } finally {
        await closeAll(r.handles);
      }
    },
    async write(p) {
      if (isEndpointPath(p)) return inner.write(p);
      const { pin, parts } = split(p);
      const r = await reach(pin, parts, true);
      let handle: WriteHandle;
      try {
        handle = await inner.write(r.mapped);
      } catch (error) {
        await closeAll(r.handles);
        throw remapError(error, r.names);
      }
      // The folder stays open until the file is committed or aborted (abort removes by name).
      const settle = async (step: () => Promise<void>, closing: boolean) => {
        try {
          await step();
        } catch (error) {
          throw remapError(error, r.names);
        } finally {
          if (closing) await closeAll(r.handles);
        }
      };
      return {
        write: (chunk) => settle(() => handle.write(chunk), false),
        commit: () => settle(() => handle.commit(), true),
        abort: () => settle(() => handle.abort(), true),
      };
    },
    // Pinned local folders are written whole; an endpoint path may resume where its backend can.
    resumeWrite: async (p, offset) =>
      isEndpointPath(p) ? inner.resumeWrite?.(p, offset) : undefined,
    rename: (from, to, options) =>
      at(from, false, (mFrom, rFrom) =>
        at(to, true, async (mTo) => {
          try {
            await inner.rename(mFrom, mTo, options);
          } catch (error) {
            throw remapError(error, rFrom.names);
          }
        }),
      ),
    ...(inner.syncFolder && {
      syncFolder: (dir: string) =>
        at(dir, false, (m) => inner.syncFolder?.(m) ?? Promise.resolve(), true),
    }),
    async remove(p) {
      try {
        await at(p, false, (m) => inner.remove(m));
      } catch (error) {
        if (!missing(error)) throw error;
      }
    },
    async removeEmptyDir(dir) {
      try {
        return await at(dir, false, (m) => inner.removeEmptyDir(m));
      } catch (error) {
        if (missing(error)) return false;
        throw error;
      }
    },
    ...(inner.setAttributes && {
      setAttributes: (p: string, attributes: { mtimeMs?: number; mode?: number }) =>
        at(p, false, (m) => inner.setAttributes?.(m, attributes) ?? Promise.resolve()),
    }),
    ...(inner.freeSpace && {
      freeSpace: (dir: string) =>
        at(dir, false, (m) => inner.freeSpace?.(m) ?? Promise.resolve(undefined)),
    }),
    close: () => inner.close(),
  };
}
