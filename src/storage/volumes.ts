/**
 * Invariant 7: every filesystem path a request names resolves, symlinks included, inside a
 * configured volume. Checked on the text first (traversal, encodings, control characters) and
 * then on the real path, so a symlink inside a volume cannot lead out of it.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../errors/index.ts';

/** A configured allowed root. */
export interface Volume {
  path: string;
  alias?: string;
  description?: string;
}

function refuse(field: string, reason: string): FerryError {
  return new FerryError('FERRY_ERR_PATH_OUTSIDE_VOLUMES', { field, reason });
}

/** Why the text of `p` is refused before touching the filesystem, or undefined. */
export function textProblem(p: string): string | undefined {
  if (p.length === 0) return 'the path is empty';
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'the path contains a control character or NUL';
  if (/%(2e|2f|5c|00)/i.test(p)) return 'the path contains a percent-encoded dot, slash or NUL';
  if (p.includes('\\')) return 'the path contains a backslash';
  if (!path.isAbsolute(p)) return 'the path must be absolute';
  if (p.split('/').some((segment) => segment === '..')) return 'the path contains `..`';
  return undefined;
}

/** The real path of `p`, resolving symlinks of its longest existing prefix. */
async function realPathOf(p: string): Promise<string> {
  const rest: string[] = [];
  let current = path.normalize(p);
  for (;;) {
    try {
      const real = await realpath(current);
      return rest.length > 0 ? path.join(real, ...rest.reverse()) : real;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        // ELOOP, ENAMETOOLONG, EACCES…: a path Ferry cannot resolve is a path it refuses.
        throw new PathUnresolvable(`the path cannot be resolved (${code ?? 'error'})`);
      }
      const parent = path.dirname(current);
      if (parent === current) return path.normalize(p);
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

class PathUnresolvable extends Error {}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** Checks request paths against the configured volumes. */
export interface VolumeGuard {
  readonly volumes: readonly Volume[];
  /**
   * Returns the real (symlink-free) path of `p` when it lies inside a volume; otherwise throws
   * FERRY_ERR_PATH_OUTSIDE_VOLUMES naming `field`.
   */
  resolve(field: string, p: string): Promise<string>;
}

export function makeVolumeGuard(volumes: readonly Volume[]): VolumeGuard {
  let roots: Promise<string[]> | undefined;
  function realRoots(): Promise<string[]> {
    roots ??= Promise.all(volumes.map((v) => realPathOf(path.resolve(v.path))));
    // A failure (a volume not mounted yet) is not remembered: the next request tries again.
    roots.catch(() => {
      roots = undefined;
    });
    return roots;
  }
  return {
    volumes,
    async resolve(field, p) {
      const problem = textProblem(p);
      if (problem) throw refuse(field, problem);
      if (volumes.length === 0) {
        throw refuse(field, 'no volumes are configured (set `volumes` in the config)');
      }
      let real: string;
      try {
        real = await realPathOf(p);
      } catch (error) {
        if (error instanceof PathUnresolvable) throw refuse(field, error.message);
        throw error;
      }
      if (!(await realRoots()).some((root) => inside(root, real))) {
        // Say which rule failed, never where a link leads: that would map the host for a caller.
        const rule =
          real === path.normalize(p)
            ? 'it is outside every volume'
            : 'a symbolic link in it leads outside every volume';
        throw refuse(field, rule);
      }
      return real;
    },
  };
}
