/**
 * Seals a folder: compares each file's digests with the folder's history (verified / failed /
 * new), computes directory and root hashes, and appends a generation. Used by `ferry mhl create`
 * (which reads every file) and by transfers (which pass the digests their copy already read).
 */
import { hostname } from 'node:os';
import path from 'node:path';
import { version } from '../config/version.ts';
import type { Storage } from '../storage/index.ts';
import { appendGeneration, type WrittenGeneration } from './chain.ts';
import { folderFiles, hashFileFormats, type FolderFile } from './folder.ts';
import { orderFormats, type MhlFormat } from './formats.ts';
import { knownFiles, loadHistory, type KnownFile } from './history.ts';
import {
  defaultIgnore,
  mhlDate,
  type DirectoryEntry,
  type FileEntry,
  type Generation,
  type HashAction,
  type HashValue,
  type ProcessType,
} from './model.ts';
import { folderHashes, type HashedFile } from './tree.ts';

/** How one file compared with the history. */
export type FileVerdict = 'verified' | 'failed' | 'new';

/** A file's digests with its verdict. */
export interface CheckedFile {
  path: string;
  size: number;
  mtimeMs: number;
  hashes: Map<MhlFormat, string>;
  verdict: FileVerdict;
  /** Format → the history's value, for each format that did not match. */
  mismatches: Map<MhlFormat, string>;
  /** Formats the history knew and that matched. */
  matched: Set<MhlFormat>;
}

/** Compares digests with what the history knows about the file. */
export function judge(known: KnownFile | undefined, hashes: ReadonlyMap<MhlFormat, string>) {
  const mismatches = new Map<MhlFormat, string>();
  const matched = new Set<MhlFormat>();
  for (const [format, expected] of known?.hashes ?? []) {
    const actual = hashes.get(format);
    if (actual === undefined) continue;
    if (actual === expected) matched.add(format);
    else mismatches.set(format, expected);
  }
  const verdict: FileVerdict =
    mismatches.size > 0 ? 'failed' : matched.size > 0 ? 'verified' : 'new';
  return { verdict, mismatches, matched };
}

export interface SealOptions {
  /** Formats every file and folder gets (the transfer's algorithm plus `mhl_hashes`). */
  formats: readonly MhlFormat[];
  process: ProcessType;
  now?: Date;
  /** Digests a copy already computed, by relative path: those files are not read again. */
  computed?: ReadonlyMap<string, ReadonlyMap<MhlFormat, string>>;
  /** Files that failed against the history and are not in the folder: recorded as failed. */
  failed?: readonly CheckedFile[];
  /** When set, only these files are listed; others take their digests from the history. */
  only?: ReadonlySet<string>;
  signal?: AbortSignal;
}

export interface SealResult {
  written: WrittenGeneration;
  files: CheckedFile[];
  /** Files the history lists that the folder no longer holds. */
  missing: string[];
  problems: string[];
}

function hashValues(
  hashes: ReadonlyMap<MhlFormat, string>,
  action: (format: MhlFormat) => HashAction | undefined,
  date: string,
): HashValue[] {
  return orderFormats(hashes.keys()).map((format) => ({
    format,
    value: hashes.get(format) ?? '',
    action: action(format),
    hashDate: date,
  }));
}

function fileEntry(file: CheckedFile, date: string): FileEntry {
  // As the reference tool does, a format new to a verified file is recorded as verified too.
  const action = (format: MhlFormat): HashAction => {
    if (file.mismatches.has(format)) return 'failed';
    return file.matched.has(format) || file.verdict === 'verified' ? 'verified' : 'original';
  };
  return {
    kind: 'file',
    path: file.path,
    size: file.size,
    lastModified: mhlDate(new Date(file.mtimeMs)),
    hashes: hashValues(file.hashes, action, date),
  };
}

/** Reads (or takes from the copy) the digests of one file and judges them. */
async function checkFile(
  storage: Storage,
  file: FolderFile,
  known: KnownFile | undefined,
  options: SealOptions,
): Promise<CheckedFile> {
  const wanted = new Set<MhlFormat>([...options.formats, ...(known?.hashes.keys() ?? [])]);
  const given = options.computed?.get(file.relative);
  const complete = given && [...wanted].every((f) => given.has(f));
  const hashes = complete
    ? new Map(given)
    : await hashFileFormats(storage, file.info.path, wanted, options.signal);
  return {
    path: file.relative,
    size: file.info.size,
    mtimeMs: file.info.mtimeMs,
    hashes,
    ...judge(known, hashes),
  };
}

async function directoryEntries(
  storage: Storage,
  root: string,
  hashed: HashedFile[],
  formats: readonly MhlFormat[],
  date: string,
) {
  const tree = folderHashes(hashed, formats);
  const entries: DirectoryEntry[] = [];
  for (const [dir, hashes] of tree) {
    if (dir === '') continue;
    const info = await storage.stat(path.posix.join(root, dir));
    entries.push({
      kind: 'directory',
      path: dir,
      lastModified: info ? mhlDate(new Date(info.mtimeMs)) : undefined,
      content: hashValues(hashes.content, () => undefined, date),
      structure: hashValues(hashes.structure, () => undefined, date),
    });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  const rootHashes = tree.get('');
  return {
    entries,
    root: rootHashes && {
      content: hashValues(rootHashes.content, () => undefined, date),
      structure: hashValues(rootHashes.structure, () => undefined, date),
    },
  };
}

/** Seals `root` with a new generation; see the module comment. */
export async function sealFolder(
  storage: Storage,
  root: string,
  options: SealOptions,
): Promise<SealResult> {
  const now = options.now ?? new Date();
  const date = mhlDate(now);
  const history = await loadHistory(storage, root);
  const known = knownFiles(history);
  const formats = orderFormats(options.formats);
  const present = await folderFiles(storage, root);
  const listed: CheckedFile[] = [];
  const hashed: HashedFile[] = [];
  for (const file of present) {
    const record = known.get(file.relative);
    const fromHistory =
      options.only && !options.only.has(file.relative) && record?.size === file.info.size;
    if (fromHistory && formats.every((f) => record.hashes.has(f))) {
      hashed.push({ path: file.relative, hashes: record.hashes });
      continue;
    }
    const checked = await checkFile(storage, file, record, options);
    listed.push(checked);
    hashed.push({ path: file.relative, hashes: checked.hashes });
  }
  const failed = options.failed ?? [];
  const here = new Set([...present.map((f) => f.relative), ...failed.map((f) => f.path)]);
  const missing = [...known.keys()].filter((p) => !here.has(p)).sort();
  const dirs = await directoryEntries(storage, root, hashed, formats, date);
  const generation: Generation = {
    creationDate: date,
    hostname: hostname(),
    tool: { name: 'ferry', version },
    process: options.process,
    root: dirs.root,
    ignore: [...defaultIgnore],
    entries: [...[...listed, ...failed].map((f) => fileEntry(f, date)), ...dirs.entries],
  };
  const written = await appendGeneration(storage, root, history, generation, now);
  return { written, files: [...listed, ...failed], missing, problems: history?.problems ?? [] };
}
