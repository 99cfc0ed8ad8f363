/** The data of an ASC MHL 2.0 history: generations (hash lists) and the chain that lists them. */
import type { MhlFormat } from './formats.ts';

/** What a generation says about a file hash: first seen, checked against history, or not matching. */
export type HashAction = 'original' | 'verified' | 'failed';

/** One digest of a file or folder. Dates are ISO 8601 with offset (`2020-01-16T09:15:00+00:00`). */
export interface HashValue {
  format: MhlFormat;
  value: string;
  action?: HashAction;
  hashDate?: string;
}

/** A `<hash>` element: one file, relative to the history's root folder, POSIX separators. */
export interface FileEntry {
  kind: 'file';
  path: string;
  size: number;
  lastModified?: string;
  hashes: HashValue[];
}

/** A `<directoryhash>` element: a folder's content and structure hashes. */
export interface DirectoryEntry {
  kind: 'directory';
  path: string;
  lastModified?: string;
  content: HashValue[];
  structure: HashValue[];
}

/** `in-place`: sealed where the files are; `transfer`: sealed by the copy that put them there. */
export type ProcessType = 'in-place' | 'transfer' | 'flatten';

/** One generation file (`ascmhl/NNNN_<folder>_<date>Z.mhl`). */
export interface Generation {
  creationDate: string;
  hostname: string;
  tool: { name: string; version: string };
  process: ProcessType;
  root?: { content: HashValue[]; structure: HashValue[] };
  ignore: string[];
  entries: (FileEntry | DirectoryEntry)[];
}

/** One `<hashlist>` line of `ascmhl_chain.xml`. */
export interface ChainEntry {
  sequence: number;
  /** The generation's file name inside `ascmhl/`. */
  path: string;
  c4: string;
}

/** The folder that holds a history, and the names in it. */
export const historyFolder = 'ascmhl';
export const chainFileName = 'ascmhl_chain.xml';

/** What every generation Ferry writes ignores: the history itself and Finder litter. */
export const defaultIgnore: readonly string[] = ['.DS_Store', 'ascmhl', 'ascmhl/'];

/** `2020-01-16T09:15:00+00:00`: the date form the reference tool writes (seconds, UTC). */
export function mhlDate(date: Date): string {
  return `${date.toISOString().slice(0, 19)}+00:00`;
}
