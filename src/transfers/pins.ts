/**
 * The pinned roots of a transfer: its source folder (the folder holding the file, for a one-file
 * transfer) and its destination folder, pinned when the transfer is created (storage/roots.ts).
 * Watch scans, one-off claims and every file delivery reach the files only through them.
 */
import path from 'node:path';
import type { Queryable } from '../db/index.ts';
import { isFerryError } from '../errors/index.ts';
import type { Storage, VolumeGuard } from '../storage/index.ts';
import {
  checkRoots,
  confineStorage,
  isEndpointPath,
  isEndpointPin,
  pinRoot,
  rootChanged,
  type RootPin,
} from '../storage/roots.ts';
import type { TransferRow } from './records.ts';

/** Both pinned roots of a transfer. */
export interface TransferRoots {
  source: RootPin;
  destination: RootPin;
}

/** The folder a transfer reads from: the source folder, or the folder holding the one file. */
function sourceFolder(t: Pick<TransferRow, 'source_path' | 'file_name'>): string {
  return t.file_name !== null ? path.dirname(t.source_path) : t.source_path;
}

/** Pins the roots of a transfer about to be created (paths already resolved inside volumes). */
export async function pinTransferRoots(
  t: Pick<TransferRow, 'source_path' | 'destination_path' | 'file_name'>,
): Promise<TransferRoots> {
  return {
    source: await pinRoot(sourceFolder(t)),
    destination: await pinRoot(t.destination_path),
  };
}

/**
 * The roots of `t`, checked: each is still the folder pinned, and inside a volume: a pinned path that no volume holds any more
 * (the configuration changed) is refused. Rows older than pinning are pinned now, once.
 */
export async function rootsOf(
  db: Queryable,
  t: TransferRow,
  volumes?: VolumeGuard,
): Promise<TransferRoots> {
  let roots: TransferRoots;
  if (t.source_root && t.destination_root) {
    roots = { source: t.source_root, destination: t.destination_root };
  } else {
    roots = await pinTransferRoots(t);
    await db.query(
      `UPDATE ferry.transfers SET source_root = COALESCE(source_root, $2), destination_root = COALESCE(destination_root, $3) WHERE id = $1`,
      [t.id, JSON.stringify(roots.source), JSON.stringify(roots.destination)],
    );
  }
  // Identity first (the clearer reason), then that no volume change left a root outside.
  await checkRoots([roots.source, roots.destination]);
  if (volumes) {
    for (const pin of [roots.source, roots.destination]) {
      if (isEndpointPin(pin)) continue;
      const resolved = await volumes.resolve('root', pin.path).catch((error: unknown) => {
        if (isFerryError(error)) return undefined;
        throw error;
      });
      if (resolved !== pin.path) throw rootChanged(pin.path, 'it is not inside a volume any more');
    }
  }
  return roots;
}

/**
 * Pins a transfer's roots again (resuming a watch profile is an operator saying the folders are
 * right now): each stored path must still resolve to itself inside a volume, so a symlink put in
 * its place is refused, not followed.
 */
export async function repinRoots(
  db: Queryable,
  t: TransferRow,
  volumes: VolumeGuard,
): Promise<TransferRoots> {
  for (const [field, stored] of [
    ['source_path', t.source_path],
    ['destination_path', t.destination_path],
  ] as const) {
    if (isEndpointPath(stored)) continue;
    if ((await volumes.resolve(field, stored)) !== stored) {
      throw rootChanged(stored, 'it now resolves elsewhere (a symlink?)');
    }
  }
  const roots = await pinTransferRoots(t);
  await db.query(
    `UPDATE ferry.transfers SET source_root = $2, destination_root = $3 WHERE id = $1`,
    [t.id, JSON.stringify(roots.source), JSON.stringify(roots.destination)],
  );
  return roots;
}

/** Source and destination storages that reach only inside the transfer's roots. */
export function confinedStorages(
  roots: TransferRoots,
  source: Storage,
  destination: Storage,
): { source: Storage; destination: Storage } {
  return {
    source: confineStorage(source, [roots.source]),
    destination: confineStorage(destination, [roots.destination]),
  };
}
