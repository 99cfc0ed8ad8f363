/**
 * ASC MHL for transfers and watch profiles (`mhl: true`). During the copy, the one read of each
 * source file also computes every MHL format, and a source folder with a history has each file
 * checked against it (verified / failed / new); a mismatch throws the same checksum error as any
 * other and is recorded. After the files are delivered, the source's history is carried to the
 * destination and a new generation appended there.
 *
 * Digests wait in memory until the seal. After a crash they are gone, and the seal reads the
 * delivered files at the destination instead (slower, still correct); only a `failed` verdict
 * of a file that never reached the destination is lost with the process.
 */
import path from 'node:path';
import { FerryError } from '../errors/index.ts';
import type { Storage } from '../storage/index.ts';
import type { ChecksumAlgorithm } from '../transfers/hashing.ts';
import type { Queryable } from '../db/index.ts';
import { log, type TransferRow } from '../transfers/records.ts';
import { isWritableMhlFormat, type MhlFormat, type WritableMhlFormat } from './formats.ts';
import { knownFiles, loadHistory, type KnownFile } from './history.ts';
import { readText, writeText } from './io.ts';
import { historyFolder } from './model.ts';
import { judge, sealFolder, type CheckedFile, type SealResult } from './seal.ts';

/** The MHL options of a transfer, as stored with it. */
export interface MhlOptions {
  mhl?: boolean;
  mhl_hashes?: WritableMhlFormat[];
}

/** What the copy of one file read. */
export interface CopiedFile {
  relative: string;
  size: number;
  mtimeMs: number;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/** The transfer side of ASC MHL; one per Ferry process. */
export interface MhlSealer {
  /** Formats the copy of `relative` must compute besides the transfer's algorithm. */
  formatsFor(t: TransferRow, relative: string): Promise<ChecksumAlgorithm[]>;
  /** Checks a copied file against the source history; throws a checksum mismatch on failure. */
  copied(t: TransferRow, file: CopiedFile): Promise<void>;
  /** Carries the history over and appends a generation; undefined when nothing was copied. */
  seal(t: TransferRow, signal?: AbortSignal): Promise<SealResult | undefined>;
}

/** The formats a transfer's generations get: its algorithm (when MHL has it) plus `mhl_hashes`. */
export function transferFormats(t: { options: { checksum_algorithm: string } & MhlOptions }) {
  const listed: MhlFormat[] = [...(t.options.mhl_hashes ?? [])];
  if (isWritableMhlFormat(t.options.checksum_algorithm))
    listed.unshift(t.options.checksum_algorithm);
  // sha256 and blake3 are not MHL formats: a transfer using one alone is sealed with xxh128.
  return listed.length > 0 ? [...new Set(listed)] : (['xxh128'] as MhlFormat[]);
}

interface Pending {
  known: Map<string, KnownFile>;
  computed: Map<string, Map<MhlFormat, string>>;
  failed: Map<string, CheckedFile>;
}

/** Copies the source's history files the destination lacks (the chain only when it has none). */
async function carryHistory(source: Storage, destination: Storage, t: TransferRow): Promise<void> {
  const from = path.posix.join(t.source_path, historyFolder);
  const to = path.posix.join(t.destination_path, historyFolder);
  if (!(await source.stat(from))) return;
  for (const file of await source.list(from, { recursive: false })) {
    const target = path.posix.join(to, path.posix.basename(file.path));
    if (await destination.stat(target)) continue;
    await writeText(destination, target, await readText(source, file.path), { overwrite: false });
  }
}

/** Makes the sealer for a pair of storages. */
export function makeMhlSealer(deps: { source: Storage; destination: Storage }): MhlSealer {
  // Promises, so concurrent files of one watch profile share the one state (and history read).
  const pending = new Map<number, Promise<Pending>>();

  function stateOf(t: TransferRow): Promise<Pending> {
    let state = pending.get(t.id);
    if (!state) {
      state = loadHistory(deps.source, t.source_path).then((history) => ({
        known: knownFiles(history),
        computed: new Map<string, Map<MhlFormat, string>>(),
        failed: new Map<string, CheckedFile>(),
      }));
      // A history that cannot be read fails this file; the next one tries again.
      state.catch(() => pending.delete(t.id));
      pending.set(t.id, state);
    }
    return state;
  }

  return {
    async formatsFor(t, relative) {
      const known = (await stateOf(t)).known.get(relative);
      const formats = new Set<MhlFormat>([...transferFormats(t), ...(known?.hashes.keys() ?? [])]);
      return [...formats].filter((f) => isWritableMhlFormat(f));
    },

    async copied(t, file) {
      const state = await stateOf(t);
      const hashes = new Map<MhlFormat, string>();
      for (const [format, value] of Object.entries(file.checksums))
        if (isWritableMhlFormat(format) && value) hashes.set(format, value);
      const verdict = judge(state.known.get(file.relative), hashes);
      if (verdict.verdict !== 'failed') {
        state.failed.delete(file.relative);
        state.computed.set(file.relative, hashes);
        return;
      }
      state.failed.set(file.relative, { path: file.relative, ...file, hashes, ...verdict });
      const [format, expected] = [...verdict.mismatches][0] ?? ['', ''];
      throw new FerryError('FERRY_ERR_CHECKSUM_MISMATCH', {
        file: file.relative,
        source: expected,
        destination: hashes.get(format as MhlFormat) ?? '',
        algorithm: `${format} (ASC MHL history)`,
      });
    },

    async seal(t, signal) {
      const state = await pending.get(t.id)?.catch(() => undefined);
      pending.delete(t.id);
      const touched = (state?.computed.size ?? 0) + (state?.failed.size ?? 0);
      if (t.watch_mode_enabled && touched === 0) return undefined;
      await carryHistory(deps.source, deps.destination, t);
      return sealFolder(deps.destination, t.destination_path, {
        formats: transferFormats(t),
        process: 'transfer',
        computed: state?.computed,
        failed: [...(state?.failed.values() ?? [])],
        // A watch cycle lists what it delivered; a one-off transfer lists the whole folder.
        only: t.watch_mode_enabled
          ? new Set([...(state?.computed.keys() ?? []), ...(state?.failed.keys() ?? [])])
          : undefined,
        signal,
      });
    },
  };
}

/**
 * Seals a transfer's destination and writes what happened to its history: the generation, files
 * that failed against the source's history, files that history lists but the copy did not find.
 * Returns a failure message for the transfer, or undefined when all is well.
 */
export async function sealTransfer(
  db: Queryable,
  sealer: MhlSealer,
  t: TransferRow,
  signal?: AbortSignal,
): Promise<string | undefined> {
  let result: SealResult | undefined;
  try {
    result = await sealer.seal(t, signal);
  } catch (error) {
    const message = `ASC MHL seal failed: ${error instanceof Error ? error.message : String(error)}`;
    await log(db, t.id, 'error', 'mhl.failed', message);
    return message;
  }
  if (!result) return undefined;
  const count = (v: string) => result.files.filter((f) => f.verdict === v).length;
  await log(
    db,
    t.id,
    'info',
    'mhl.sealed',
    `ascmhl/${result.written.fileName}: ${count('verified')} verified, ${count('failed')} failed, ${count('new')} new`,
    { generation: result.written.fileName, c4: result.written.c4 },
  );
  for (const problem of result.problems) await log(db, t.id, 'warn', 'mhl.history', problem);
  if (result.missing.length === 0) return undefined;
  const message = `${result.missing.length} files listed in the ASC MHL history are missing: ${result.missing.slice(0, 5).join(', ')}`;
  await log(db, t.id, 'error', 'mhl.missing', message, { missing: result.missing });
  return message;
}
