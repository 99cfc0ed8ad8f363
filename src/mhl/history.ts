/**
 * Reads a folder's ASC MHL history: the chain file, every generation it lists (each checked
 * against its C4 id), and the latest known hashes of each file.
 */
import path from 'node:path';
import type { Storage } from '../storage/index.ts';
import { c4Id } from './c4.ts';
import type { MhlFormat } from './formats.ts';
import { readText } from './io.ts';
import {
  chainFileName,
  historyFolder,
  type ChainEntry,
  type FileEntry,
  type Generation,
} from './model.ts';
import { parseChain, parseGeneration } from './xml-read.ts';

/** One generation as found on disk. */
export interface LoadedGeneration {
  sequence: number;
  fileName: string;
  c4: string;
  generation: Generation;
}

/** A folder's history; `problems` lists what does not hold (a C4 mismatch, a missing file). */
export interface History {
  generations: LoadedGeneration[];
  chain: ChainEntry[];
  problems: string[];
}

/** The hashes a history knows for one file: the latest non-failed value of each format. */
export interface KnownFile {
  size: number;
  hashes: Map<MhlFormat, string>;
}

/** The generation files in `ascmhl/` when there is no chain file: by their sequence prefix. */
async function unchainedGenerations(storage: Storage, dir: string): Promise<ChainEntry[]> {
  const files = await storage.list(dir, { recursive: false });
  return files
    .map((f) => path.posix.basename(f.path))
    .filter((name) => /^\d+_.*\.mhl$/.test(name))
    .sort()
    .map((name) => ({ sequence: Number(name.split('_')[0]), path: name, c4: '' }));
}

/** The history in `root/ascmhl`, or undefined when the folder has none. */
export async function loadHistory(storage: Storage, root: string): Promise<History | undefined> {
  const dir = path.posix.join(root, historyFolder);
  const info = await storage.stat(dir);
  if (!info || info.kind !== 'directory') return undefined;
  const problems: string[] = [];
  const chainPath = path.posix.join(dir, chainFileName);
  let chain: ChainEntry[];
  if (await storage.stat(chainPath)) {
    chain = parseChain(await readText(storage, chainPath));
  } else {
    chain = await unchainedGenerations(storage, dir);
    if (chain.length > 0) problems.push(`${historyFolder}/${chainFileName} is missing`);
  }
  const generations: LoadedGeneration[] = [];
  for (const entry of [...chain].sort((a, b) => a.sequence - b.sequence)) {
    const file = path.posix.join(dir, entry.path);
    if (!(await storage.stat(file))) {
      problems.push(`generation ${entry.path} listed in the chain is missing`);
      continue;
    }
    const xml = await readText(storage, file);
    const c4 = c4Id(Buffer.from(xml, 'utf8'));
    if (entry.c4 !== '' && entry.c4 !== c4) {
      problems.push(`generation ${entry.path} does not match its C4 id in the chain`);
    }
    generations.push({
      sequence: entry.sequence,
      fileName: entry.path,
      c4,
      generation: parseGeneration(xml),
    });
  }
  return { generations, chain, problems };
}

/** Latest known hashes per relative path; later generations win, failed values never count. */
export function knownFiles(history: History | undefined): Map<string, KnownFile> {
  const known = new Map<string, KnownFile>();
  for (const { generation } of history?.generations ?? []) {
    for (const entry of generation.entries) {
      if (entry.kind !== 'file') continue;
      const file = known.get(entry.path) ?? { size: entry.size, hashes: new Map() };
      for (const value of entry.hashes) {
        if (value.action !== 'failed') file.hashes.set(value.format, value.value);
      }
      file.size = entry.size;
      known.set(entry.path, file);
    }
  }
  return known;
}

/** The files a generation lists, by path. */
export function filesOf(generation: Generation): Map<string, FileEntry> {
  const files = new Map<string, FileEntry>();
  for (const entry of generation.entries) if (entry.kind === 'file') files.set(entry.path, entry);
  return files;
}
