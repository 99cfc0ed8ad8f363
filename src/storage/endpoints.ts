/**
 * Endpoints: remote servers an admin configured (`endpoints:` in the config), named in
 * transfers the way volumes are: `{source_endpoint: "partner", source_path: "/incoming"}`.
 * Inside Ferry such a path is written `@partner:/incoming`, and one routing Storage sends it to
 * the endpoint's backend (SFTP or SMB) and every other (absolute, volume-checked) path to the
 * local filesystem. Bytes written anywhere and read from an endpoint are paced by the current
 * bandwidth budget (bandwidth.ts); local reads, verifying re-reads included, are not.
 */
import path from 'node:path';
import { FerryError } from '../errors/index.ts';
import { spend } from './bandwidth.ts';
import { kindAt, StorageError, type FileInfo, type Storage, type WriteHandle } from './types.ts';

/** The prefix of an endpoint path: `@name:` followed by an absolute path inside the endpoint. */
const ENDPOINT_PATH = /^@([a-z0-9][a-z0-9_-]{0,62}):(\/.*)?$/;

/** Names an admin may give an endpoint. */
export const endpointNamePattern = '^[a-z0-9][a-z0-9_-]{0,62}$';

/** The internal form of a path inside an endpoint. */
export function endpointPath(name: string, inner: string): string {
  return `@${name}:${inner}`;
}

/** Splits an internal endpoint path, or undefined for a local path. */
export function parseEndpointPath(p: string): { name: string; inner: string } | undefined {
  const match = ENDPOINT_PATH.exec(p);
  if (!match?.[1]) return undefined;
  return { name: match[1], inner: path.posix.normalize(match[2] ?? '/') };
}

/** The endpoint and the path shown to users for a stored path (no endpoint: local). */
export function showPath(p: string): { endpoint: string | null; path: string } {
  const parsed = parseEndpointPath(p);
  return parsed ? { endpoint: parsed.name, path: parsed.inner } : { endpoint: null, path: p };
}

/** Why `inner` (a path a request names inside an endpoint) is refused, or undefined. */
function innerProblem(inner: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(inner)) return 'the path contains a control character or NUL';
  if (/%(2e|2f|5c|00)/i.test(inner)) return 'the path contains a percent-encoded dot, slash or NUL';
  if (inner.includes('\\')) return 'the path contains a backslash';
  if (!inner.startsWith('/')) return 'the path must start with / (the endpoint root)';
  if (inner.split('/').some((s) => s === '..')) return 'the path contains `..`';
  return undefined;
}

/** The configured endpoints, by name, with one router over them and the local filesystem. */
export interface Endpoints {
  readonly names: readonly string[];
  /**
   * The internal path for `inner` inside endpoint `name`; throws FERRY_ERR_ENDPOINT_UNKNOWN or
   * FERRY_ERR_PATH_OUTSIDE_ENDPOINT naming `field`.
   */
  resolve(field: string, name: string, inner: string): string;
  /** Routes endpoint paths to their backend and all others to `local`. */
  readonly storage: Storage;
  close(): Promise<void>;
}

/** Builds the router over `local` and the endpoints' storages (made by the caller). */
export function makeEndpoints(local: Storage, backends: ReadonlyMap<string, Storage>): Endpoints {
  function route(p: string): { storage: Storage; inner: string; remote: boolean; name?: string } {
    const parsed = parseEndpointPath(p);
    if (!parsed) {
      if (p.startsWith('@')) {
        throw new StorageError('invalid_name', p, `${p}: not a path inside a configured endpoint`);
      }
      return { storage: local, inner: p, remote: false };
    }
    const storage = backends.get(parsed.name);
    if (!storage)
      throw new StorageError('not_found', p, `endpoint ${parsed.name} is not configured`);
    // Backends take paths relative to the endpoint root ('' = the root).
    return { storage, inner: parsed.inner.replace(/^\/+/, ''), remote: true, name: parsed.name };
  }
  const outer = (name: string | undefined, inner: string) =>
    name === undefined ? inner : endpointPath(name, `/${inner}`);
  const mapInfo = (name: string | undefined, info: FileInfo): FileInfo =>
    name === undefined ? info : { ...info, path: outer(name, info.path) };

  function paced(handle: WriteHandle): WriteHandle {
    return {
      async write(chunk) {
        await spend(chunk.byteLength);
        await handle.write(chunk);
      },
      commit: () => handle.commit(),
      abort: () => handle.abort(),
      ...(handle.setAttributes && {
        setAttributes: handle.setAttributes.bind(handle),
      }),
    };
  }

  const storage: Storage = {
    kind: local.kind,
    kindAt: (p) => kindAt(route(p).storage, route(p).inner),
    location: [local.location, ...[...backends.values()].map((b) => b.location)].join(', '),
    async stat(p) {
      const r = route(p);
      const info = await r.storage.stat(r.inner);
      return info && mapInfo(r.name, info);
    },
    async list(dir, options) {
      const r = route(dir);
      return (await r.storage.list(r.inner, options)).map((info) => mapInfo(r.name, info));
    },
    async *read(p, options) {
      const r = route(p);
      for await (const chunk of r.storage.read(r.inner, options)) {
        if (r.remote) await spend(chunk.byteLength);
        yield chunk;
      }
    },
    async write(p) {
      const r = route(p);
      return paced(await r.storage.write(r.inner));
    },
    async resumeWrite(p, offset) {
      const r = route(p);
      const handle = await r.storage.resumeWrite?.(r.inner, offset);
      return handle && { ...paced(handle), sync: () => handle.sync() };
    },
    async rename(from, to, options) {
      const a = route(from);
      const b = route(to);
      if (a.storage !== b.storage) {
        throw new StorageError('invalid_name', to, `${from} and ${to} are on different storages`);
      }
      await a.storage.rename(a.inner, b.inner, options);
    },
    async syncFolder(dir) {
      const r = route(dir);
      await r.storage.syncFolder?.(r.inner);
    },
    async remove(p) {
      const r = route(p);
      await r.storage.remove(r.inner);
    },
    async removeEmptyDir(dir) {
      const r = route(dir);
      return r.storage.removeEmptyDir(r.inner);
    },
    async setAttributes(p, attributes) {
      const r = route(p);
      await r.storage.setAttributes?.(r.inner, attributes);
    },
    async freeSpace(dir) {
      const r = route(dir);
      return r.storage.freeSpace?.(r.inner);
    },
    async close() {
      await Promise.all([...backends.values()].map((b) => b.close()));
    },
  };

  return {
    names: [...backends.keys()],
    storage,
    resolve(field, name, inner) {
      if (!backends.has(name)) throw new FerryError('FERRY_ERR_ENDPOINT_UNKNOWN', { field, name });
      const problem = innerProblem(inner);
      if (problem)
        throw new FerryError('FERRY_ERR_PATH_OUTSIDE_ENDPOINT', { field, reason: problem });
      return endpointPath(name, path.posix.normalize(inner));
    },
    close: () => storage.close(),
  };
}
