/**
 * Pinned roots (invariant 7 after creation): a watch profile, a one-off transfer and a pipeline
 * each work inside folders whose real path and identity (device, inode) were recorded when they
 * were set up. Every operation checks that the root's path still names the pinned folder (an
 * `lstat` compared with the pin: not a symlink, same device and inode), then reaches the file
 * through an open descriptor of that very folder (`/proc/self/fd/<fd>/…`, the closest Node comes
 * to `openat`), each folder on the way opened with O_NOFOLLOW. Descriptors are kept open while
 * operations use them (and briefly after), so a batch of files costs one `lstat` per folder per
 * operation rather than an open, fstat and close of each. A root swapped for a symlink or another
 * folder is refused before anything is read, written or deleted; the window that remains is
 * described in docs/transfers.md.
 */
import { constants, existsSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { lstat, mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../errors/index.ts';
import { storageErrorOf } from './local/local.ts';
import {
  kindAt,
  StorageError,
  type FileAttributes,
  type FileInfo,
  type Storage,
  type WriteHandle,
} from './types.ts';

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

/**
 * Checks not started yet, by pinned path: operations that ask in the same turn of the event loop
 * share one `lstat`, issued after all of them asked (so it still proves the path as it is after
 * each one began). A batch of files asks many times per turn.
 */
const queuedChecks = new Map<string, Promise<void>>();

/** {@link checkRoot}, shared by the operations that ask for it in the same turn. */
function checkRootSoon(pin: RootPin): Promise<void> {
  const key = `${pin.path}\0${pin.dev}\0${pin.ino}`;
  let queued = queuedChecks.get(key);
  if (!queued) {
    queued = new Promise<void>((resolve) => {
      setImmediate(resolve);
    }).then(() => {
      // From here on, a new operation asks for a check of its own.
      queuedChecks.delete(key);
      return checkRoot(pin);
    });
    queuedChecks.set(key, queued);
  }
  return queued;
}

/**
 * Proves the pinned folder's path still names it without opening it (one `lstat`: a symlink is
 * not followed, the device and inode must be the pin's); the same refusals as `openRoot`.
 */
async function checkRoot(pin: RootPin): Promise<void> {
  let s: BigIntStats;
  try {
    s = await lstat(pin.path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StorageError('not_found', pin.path, `${pin.path} is gone`);
    if (code === 'ENOTDIR') throw rootChanged(pin.path, 'it is no longer a folder');
    throw storageErrorOf(error, pin.path);
  }
  if (s.isSymbolicLink()) throw rootChanged(pin.path, 'it is now a symlink');
  if (!s.isDirectory()) throw rootChanged(pin.path, 'it is no longer a folder');
  if (String(s.dev) !== pin.dev || String(s.ino) !== pin.ino) {
    throw rootChanged(pin.path, 'it is now another folder');
  }
}

/** Throws FERRY_ERR_ROOT_CHANGED unless every pin still names its folder. */
export async function checkRoots(pins: readonly RootPin[]): Promise<void> {
  for (const pin of pins) if (!isEndpointPin(pin)) await (await openRoot(pin)).close();
}

/** The path callers name the pinned folder by. */
const baseOf = (pin: RootPin) => pin.configured ?? pin.path;

/** Where one logical path is reached, and the folders to let go of afterwards. */
interface Reach {
  mapped: string;
  /** Ends this operation's use of the folders it went through (never throws). */
  release: () => void;
  /** Descriptor path → logical folder, to put logical paths back into results and errors. */
  names: [string, string][];
}

/** How long an open folder nobody uses stays open for the next operation (milliseconds). */
const lingerMs = 200;

/** One open, verified folder, shared by the operations inside it. */
interface OpenFolder {
  ready: Promise<FileHandle>;
  /** Its identity, known once open (a subfolder's is checked against its name before reuse). */
  dev?: bigint;
  ino?: bigint;
  users: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Replaced by a newer open of the same name: closed once its last user is done. */
  stale: boolean;
}

/**
 * The folders a confined storage keeps open, by logical path. An entry is reused only after its
 * name was checked again (`lstat`) for this operation: the root against its pin, a subfolder
 * against the identity of the descriptor kept (another folder there now is opened afresh with
 * O_NOFOLLOW; a symlink there is refused as before).
 */
class OpenFolders {
  private readonly open = new Map<string, OpenFolder>();

  /** The entry for `key`, opened by `opener` unless one is open; counted as used until released. */
  acquire(key: string, opener: () => Promise<FileHandle>, fresh = false): OpenFolder {
    let entry = this.open.get(key);
    if (entry && fresh) {
      entry.stale = true;
      this.open.delete(key);
      if (entry.users === 0) this.schedule(key, entry, 0);
      entry = undefined;
    }
    if (!entry) {
      const made: OpenFolder = {
        ready: Promise.resolve(undefined as never),
        users: 0,
        stale: false,
      };
      made.ready = opener().then(async (handle) => {
        try {
          const s = await handle.stat({ bigint: true });
          made.dev = s.dev;
          made.ino = s.ino;
          return handle;
        } catch (error) {
          await handle.close().catch(() => undefined);
          throw error;
        }
      });
      made.ready.catch(() => {
        if (this.open.get(key) === made) this.open.delete(key);
      });
      this.open.set(key, made);
      entry = made;
    }
    entry.users += 1;
    clearTimeout(entry.timer);
    return entry;
  }

  /** The entry kept for `key`, if any (not counted as used). */
  peek(key: string): OpenFolder | undefined {
    return this.open.get(key);
  }

  release(key: string, entry: OpenFolder): void {
    entry.users -= 1;
    if (entry.users === 0) this.schedule(key, entry, entry.stale ? 0 : lingerMs);
  }

  private schedule(key: string, entry: OpenFolder, ms: number): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (entry.users > 0) return;
      if (this.open.get(key) === entry) this.open.delete(key);
      entry.ready.then(
        (h) => h.close().catch(() => undefined),
        () => undefined,
      );
    }, ms);
    entry.timer.unref();
  }
}

/** Whether `name` (reached through an open folder) still names the folder `entry` holds. */
async function stillNames(name: string, entry: OpenFolder): Promise<boolean> {
  if (
    !(await entry.ready.then(
      () => true,
      () => false,
    ))
  )
    return false;
  const s = await lstat(name, { bigint: true }).catch(() => undefined);
  return s?.isDirectory() === true && s.dev === entry.dev && s.ino === entry.ino;
}

/**
 * Checks `pin` and reaches each folder of `parts` but the last with O_NOFOLLOW (every one, the
 * last included, when `folder`: the path is itself a folder to list); `create` makes missing
 * folders (each made durable in its parent). A symlinked folder on the way is refused.
 */
async function reach(
  folders: OpenFolders,
  pin: RootPin,
  parts: readonly string[],
  create: boolean,
  folder = false,
): Promise<Reach> {
  const used: [string, OpenFolder][] = [];
  const release = () => {
    for (const [key, entry] of used) folders.release(key, entry);
    used.length = 0;
  };
  const out: Reach = { mapped: '', release, names: [] };
  // The root's path must name the pinned folder now; the descriptor kept is of that folder.
  await checkRootSoon(pin);
  const rootKey = `${pin.path}\0`;
  const rootEntry = folders.acquire(rootKey, () => openRoot(pin));
  used.push([rootKey, rootEntry]);
  let dir: FileHandle;
  try {
    dir = await rootEntry.ready;
  } catch (error) {
    release();
    throw error;
  }
  let logical = baseOf(pin);
  out.names.push([through(dir, pin.path), logical]);
  try {
    for (const part of folder ? parts : parts.slice(0, -1)) {
      const next = `${through(dir, logical)}/${part}`;
      const parent = dir;
      logical = path.join(logical, part);
      const key = `${pin.path}\0${logical}`;
      const kept = folders.peek(key);
      const reuse = kept !== undefined && (await stillNames(next, kept));
      const entry = folders.acquire(
        key,
        async () => {
          if (create) {
            const made = await mkdir(next).then(
              () => true,
              (error: unknown) => {
                if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
                return false;
              },
            );
            if (made) await parent.sync();
          }
          return open(next, dirFlags);
        },
        !reuse,
      );
      used.push([key, entry]);
      dir = await entry.ready;
      out.names.push([through(dir, logical), logical]);
    }
    const last = folder ? undefined : parts.at(-1);
    out.mapped = last === undefined ? through(dir, logical) : `${through(dir, logical)}/${last}`;
    return out;
  } catch (error) {
    release();
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
 * match wins), and every call reaches it through the root verified for that call. Other storages
 * (SMB) are returned as they are: their server resolves paths, not this host.
 */
export function confineStorage(inner: Storage, pins: readonly RootPin[]): Storage {
  if (inner.kind !== 'local') return inner;
  const ordered = pins
    .filter((pin) => !isEndpointPin(pin))
    .sort((a, b) => baseOf(b).length - baseOf(a).length);
  const folders = new OpenFolders();

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

  /** Runs `fn` on the reached path; its folders are let go after, errors say logical paths. */
  async function at<T>(
    p: string,
    create: boolean,
    fn: (mapped: string, r: Reach) => Promise<T>,
    folder = false,
  ): Promise<T> {
    if (isEndpointPath(p)) return fn(p, { mapped: p, release: () => undefined, names: [] });
    const { pin, parts } = split(p);
    const r = await reach(folders, pin, parts, create, folder);
    try {
      return await fn(r.mapped, r);
    } catch (error) {
      throw remapError(error, r.names);
    } finally {
      r.release();
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
      const r = await reach(folders, pin, parts, false);
      try {
        yield* inner.read(r.mapped, options);
      } catch (error) {
        throw remapError(error, r.names);
      } finally {
        r.release();
      }
    },
    async write(p) {
      if (isEndpointPath(p)) return inner.write(p);
      const { pin, parts } = split(p);
      const r = await reach(folders, pin, parts, true);
      let handle: WriteHandle;
      try {
        handle = await inner.write(r.mapped);
      } catch (error) {
        r.release();
        throw remapError(error, r.names);
      }
      // The folder stays open until the file is committed or aborted (abort removes by name).
      const settle = async (step: () => Promise<void>, closing: boolean) => {
        try {
          await step();
        } catch (error) {
          throw remapError(error, r.names);
        } finally {
          if (closing) r.release();
        }
      };
      return {
        write: (chunk) => settle(() => handle.write(chunk), false),
        commit: () => settle(() => handle.commit(), true),
        abort: () => settle(() => handle.abort(), true),
        ...(handle.setAttributes && {
          setAttributes: (attributes: FileAttributes) =>
            settle(() => handle.setAttributes?.(attributes) ?? Promise.resolve(), false),
        }),
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
      setAttributes: (p: string, attributes: FileAttributes) =>
        at(p, false, (m) => inner.setAttributes?.(m, attributes) ?? Promise.resolve()),
    }),
    ...(inner.freeSpace && {
      freeSpace: (dir: string) =>
        at(dir, false, (m) => inner.freeSpace?.(m) ?? Promise.resolve(undefined)),
    }),
    close: () => inner.close(),
  };
}
