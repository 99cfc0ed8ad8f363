/** The files of a sealed folder and their digests: what a generation describes. */
import path from 'node:path';
import type { FileInfo, Storage } from '../storage/index.ts';
import { makeMhlHasher, orderFormats, type MhlFormat } from './formats.ts';
import { historyFolder } from './model.ts';

/** Ferry's own in-flight temp files and the history never count as content. */
function ignored(relative: string): boolean {
  const segments = relative.split('/');
  const base = segments.at(-1) ?? relative;
  if (segments[0] === historyFolder) return true;
  if (base === '.DS_Store') return true;
  return /^\..*\.ferry-.*\.part$/.test(base) || base.endsWith('.ferry-mhl.part');
}

/** A file of the folder with its path relative to the root (POSIX separators). */
export interface FolderFile {
  relative: string;
  info: FileInfo;
}

/** Every file under `root` a generation covers, sorted by relative path. */
export async function folderFiles(storage: Storage, root: string): Promise<FolderFile[]> {
  const files = await storage.list(root, { recursive: true });
  return files
    .map((info) => ({ relative: path.posix.relative(root, info.path), info }))
    .filter((f) => !ignored(f.relative))
    .sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}

/** Reads a file once and returns its digest in each format. */
export async function hashFileFormats(
  storage: Storage,
  file: string,
  formats: Iterable<MhlFormat>,
  signal?: AbortSignal,
): Promise<Map<MhlFormat, string>> {
  const list = orderFormats(formats);
  const hashers = list.map((f) => makeMhlHasher(f));
  for await (const chunk of storage.read(file, { chunkSize: 1024 * 1024, signal, transient: true }))
    for (const hasher of hashers) hasher.update(chunk);
  return new Map(list.map((f, i) => [f, hashers[i]?.digest() ?? '']));
}
