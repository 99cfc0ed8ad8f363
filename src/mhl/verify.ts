/** Checks a folder against its history without writing anything (`ferry mhl verify`). */
import type { Storage } from '../storage/index.ts';
import type { MhlFormat } from './formats.ts';
import { folderFiles, hashFileFormats } from './folder.ts';
import { knownFiles, loadHistory } from './history.ts';
import { judge, type CheckedFile } from './seal.ts';

export interface VerifyResult {
  /** False when the folder has no `ascmhl/` history at all. */
  hasHistory: boolean;
  files: CheckedFile[];
  missing: string[];
  problems: string[];
}

/** Reads every file the history knows in each of its recorded formats and compares. */
export async function verifyFolder(
  storage: Storage,
  root: string,
  signal?: AbortSignal,
): Promise<VerifyResult> {
  const history = await loadHistory(storage, root);
  const known = knownFiles(history);
  const files: CheckedFile[] = [];
  const present = await folderFiles(storage, root);
  for (const file of present) {
    const record = known.get(file.relative);
    const hashes = record
      ? await hashFileFormats(storage, file.info.path, record.hashes.keys(), signal)
      : new Map<MhlFormat, string>();
    files.push({
      path: file.relative,
      size: file.info.size,
      mtimeMs: file.info.mtimeMs,
      hashes,
      ...judge(record, hashes),
    });
  }
  const here = new Set(present.map((f) => f.relative));
  return {
    hasHistory: history !== undefined,
    files,
    missing: [...known.keys()].filter((p) => !here.has(p)).sort(),
    problems: history?.problems ?? [],
  };
}
