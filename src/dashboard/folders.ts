/**
 * The folder picker's listing: the sub-folders of one folder inside a configured volume. The
 * path goes through the volume guard first, so nothing outside the volumes is ever listed.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../errors/index.ts';
import type { VolumeGuard } from '../storage/index.ts';

/** One folder's entries, folders first, each with its absolute path. */
export interface FolderListing {
  path: string;
  parent: string | null;
  total: number;
  items: { name: string; path: string; kind: 'folder' | 'file' }[];
}

/** Lists `p` (which must lie inside a volume); `parent` is null at a volume's root. */
export async function listFolder(
  guard: VolumeGuard,
  p: string,
  page: { limit: number; offset: number },
): Promise<FolderListing> {
  const real = await guard.resolve('path', p);
  let entries;
  try {
    entries = await readdir(real, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new FerryError('FERRY_ERR_BAD_REQUEST', {
      reason: `${p} cannot be listed as a folder (${code})`,
    });
  }
  const all = entries
    .filter((e) => e.isDirectory() || e.isFile())
    .map((e) => ({
      name: e.name,
      path: path.join(p, e.name),
      kind: e.isDirectory() ? ('folder' as const) : ('file' as const),
    }))
    .sort((a, b) =>
      a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'folder' ? -1 : 1,
    );
  const atRoot = guard.volumes.some((v) => path.resolve(v.path) === path.resolve(p));
  return {
    path: p,
    parent: atRoot ? null : path.dirname(p),
    total: all.length,
    items: all.slice(page.offset, page.offset + page.limit),
  };
}
