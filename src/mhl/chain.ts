/** Appends a generation to a folder's history: the numbered `.mhl` file, then the chain file. */
import path from 'node:path';
import type { Storage } from '../storage/index.ts';
import { c4Id } from './c4.ts';
import type { History } from './history.ts';
import { writeText } from './io.ts';
import { chainFileName, historyFolder, type ChainEntry, type Generation } from './model.ts';
import { chainXml, generationXml } from './xml-write.ts';

/** `NNNN_<folder>_<yyyy-mm-dd_hhmmss>Z.mhl`, the specification's generation file name. */
export function generationFileName(sequence: number, folder: string, date: Date): string {
  const iso = date.toISOString();
  const stamp = `${iso.slice(0, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  return `${String(sequence).padStart(4, '0')}_${folder}_${stamp}Z.mhl`;
}

/** The next sequence number after everything the history holds. */
export function nextSequence(history: History | undefined): number {
  const numbers = [
    ...(history?.chain ?? []).map((c) => c.sequence),
    ...(history?.generations ?? []).map((g) => g.sequence),
  ];
  return numbers.length === 0 ? 1 : Math.max(...numbers) + 1;
}

/** What was written. */
export interface WrittenGeneration {
  sequence: number;
  fileName: string;
  c4: string;
}

/**
 * Writes `generation` as the next one in `root/ascmhl` and rewrites the chain with it appended.
 * The generation lands first (never overwriting), so a crash leaves at worst an unchained file.
 */
export async function appendGeneration(
  storage: Storage,
  root: string,
  history: History | undefined,
  generation: Generation,
  date: Date,
): Promise<WrittenGeneration> {
  const sequence = nextSequence(history);
  const fileName = generationFileName(sequence, path.posix.basename(root), date);
  const xml = generationXml(generation);
  const dir = path.posix.join(root, historyFolder);
  await writeText(storage, path.posix.join(dir, fileName), xml, { overwrite: false });
  const c4 = c4Id(Buffer.from(xml, 'utf8'));
  const chain: ChainEntry[] = [
    ...(history?.generations ?? []).map((g) => ({
      sequence: g.sequence,
      path: g.fileName,
      c4: g.c4,
    })),
    { sequence, path: fileName, c4 },
  ];
  await writeText(storage, path.posix.join(dir, chainFileName), chainXml(chain), {
    overwrite: true,
  });
  return { sequence, fileName, c4 };
}
