/**
 * Directory and root hashes as ASC MHL 2.0 defines them, per format:
 * - a folder's content hash hashes its children's content hashes (files: the file's hash,
 *   folders: their content hash), as bytes, concatenated in lexicographic order of the digests;
 * - a folder's structure hash does the same over one digest per child: the hash of the child's
 *   UTF-8 name followed by the bytes of its content hash (files) or structure hash (folders);
 * - an empty folder's hashes are the digest of no bytes; the root folder's pair is the root hash.
 */
import path from 'node:path';
import { digestBytes, hashBytes, type MhlFormat } from './formats.ts';

/** A file's digests by format, at a relative POSIX path. */
export interface HashedFile {
  path: string;
  hashes: ReadonlyMap<MhlFormat, string>;
}

/** A folder's hashes by format; `''` is the root. */
export interface FolderHashes {
  content: Map<MhlFormat, string>;
  structure: Map<MhlFormat, string>;
}

function hashOfList(format: MhlFormat, digests: string[]): string {
  const sorted = [...digests].sort();
  return hashBytes(format, ...sorted.map((d) => digestBytes(format, d)));
}

function parentOf(relative: string): string {
  const dir = path.posix.dirname(relative);
  return dir === '.' ? '' : dir;
}

/** Every folder on the way to each file (and each listed folder), root included. */
function foldersOf(files: readonly HashedFile[], folders: readonly string[]): string[] {
  const all = new Set<string>(['']);
  for (const p of [...files.map((f) => parentOf(f.path)), ...folders]) {
    for (let dir = p; dir !== ''; dir = parentOf(dir)) all.add(dir);
  }
  return [...all];
}

/**
 * The content and structure hashes of every folder, deepest first so each parent sees its
 * children's results. `folders` adds folders that hold no files (their hashes still count).
 */
export function folderHashes(
  files: readonly HashedFile[],
  formats: readonly MhlFormat[],
  folders: readonly string[] = [],
): Map<string, FolderHashes> {
  const depth = (dir: string) => (dir === '' ? 0 : dir.split('/').length);
  const dirs = foldersOf(files, folders).sort((a, b) => depth(b) - depth(a) || (a < b ? -1 : 1));
  const result = new Map<string, FolderHashes>();
  for (const dir of dirs) {
    const childFiles = files.filter((f) => parentOf(f.path) === dir);
    const childDirs = dirs.filter((d) => d !== '' && d !== dir && parentOf(d) === dir);
    const hashes: FolderHashes = { content: new Map(), structure: new Map() };
    for (const format of formats) {
      const content: string[] = [];
      const structure: string[] = [];
      for (const file of childFiles) {
        const digest = file.hashes.get(format);
        if (digest === undefined) throw new Error(`${file.path} has no ${format} hash`);
        content.push(digest);
        const name = Buffer.from(path.posix.basename(file.path), 'utf8');
        structure.push(hashBytes(format, name, digestBytes(format, digest)));
      }
      for (const child of childDirs) {
        const done = result.get(child);
        const childContent = done?.content.get(format);
        const childStructure = done?.structure.get(format);
        if (childContent === undefined || childStructure === undefined) continue;
        content.push(childContent);
        const name = Buffer.from(path.posix.basename(child), 'utf8');
        structure.push(hashBytes(format, name, digestBytes(format, childStructure)));
      }
      hashes.content.set(format, hashOfList(format, content));
      hashes.structure.set(format, hashOfList(format, structure));
    }
    result.set(dir, hashes);
  }
  return result;
}
