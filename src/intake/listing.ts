/**
 * One scan of a source: list every file under the root, compute its path relative to the root,
 * and sort it by the name filter. Shared by watch profiles and pipeline runs.
 */
import type { FileInfo, Storage } from '../storage/index.ts';
import type { NameVerdict } from './names.ts';

/** A listed file with its path relative to the scanned root (POSIX separators). */
export interface SourceFile extends FileInfo {
  readonly relative: string;
}

/** What one scan found. */
export interface Scan {
  /** Files the filter takes, in a stable order (by relative path). */
  files: SourceFile[];
  tempIgnored: number;
  excluded: number;
}

/** Relative path of `file` under `root` for either backend's path style. */
export function relativeTo(root: string, file: string): string {
  const base = root.endsWith('/') || root === '' ? root : `${root}/`;
  return file.startsWith(base) ? file.slice(base.length) : file;
}

/** Lists `root` on `storage` and applies `filter` to every relative path. */
export async function scanSource(
  storage: Storage,
  root: string,
  filter: (relative: string) => NameVerdict,
  options: { recursive?: boolean } = {},
): Promise<Scan> {
  const listed = await storage.list(root, { recursive: options.recursive ?? true });
  const scan: Scan = { files: [], tempIgnored: 0, excluded: 0 };
  for (const file of listed) {
    const relative = relativeTo(root, file.path);
    const verdict = filter(relative);
    if (verdict === 'temp') scan.tempIgnored += 1;
    else if (verdict === 'excluded') scan.excluded += 1;
    else scan.files.push({ ...file, relative });
  }
  scan.files.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
  return scan;
}
