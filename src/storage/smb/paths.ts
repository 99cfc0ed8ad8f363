/**
 * Storage paths on SMB: POSIX-style and relative to the URL's base folder (`a/b/c.txt`; `''`,
 * `.` and `/` are the base folder itself). They are resolved here, before anything reaches
 * smbclient, so `..` cannot leave the base folder and no name can act as a wildcard.
 */
import { StorageError } from '../types.ts';
import { segmentProblem, type SmbUrl } from './url.ts';

/** One resolved storage path. */
export interface SmbPath {
  /** The normalised storage path (`a/b/c.txt`, `''` for the base folder). */
  readonly path: string;
  /** Segments below the base folder. */
  readonly segments: readonly string[];
  /** The path as smbclient names it from the share root (`\base\a\b\c.txt`, `''` for the root). */
  readonly remote: string;
}

/** Resolves `p` below the base folder of `url`; refuses names SMB cannot hold. */
export function resolveSmbPath(url: SmbUrl, p: string): SmbPath {
  const segments: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (segments.length === 0) {
        throw new StorageError('invalid_name', p, `${p}: \`..\` would leave the SMB base folder`);
      }
      segments.pop();
      continue;
    }
    const problem = segmentProblem(part);
    if (problem !== undefined) {
      throw new StorageError('invalid_name', p, `${p}: the name has ${problem}`);
    }
    segments.push(part);
  }
  return fromSegments(url, segments);
}

/** The SmbPath for `segments` below the base folder. */
export function fromSegments(url: SmbUrl, segments: readonly string[]): SmbPath {
  const all = [...url.basePath, ...segments];
  return {
    path: segments.join('/'),
    segments,
    remote: all.length === 0 ? '' : `\\${all.join('\\')}`,
  };
}

/** The parent folder of a path (the base folder's parent is itself). */
export function parentOf(url: SmbUrl, p: SmbPath): SmbPath {
  return fromSegments(url, p.segments.slice(0, -1));
}

/** Joins a storage path and a relative child path. */
export function childPath(parent: string, child: string): string {
  return parent === '' ? child : `${parent}/${child}`;
}

/**
 * An argument for an smbclient command line. smbclient splits on spaces and honours double
 * quotes; SMB names can never contain `"`, so quoting needs no escapes.
 */
export function quoted(remote: string): string {
  return `"${remote}"`;
}
