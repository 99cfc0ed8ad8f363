/**
 * A local pipeline's source and archive folders are pinned (storage/roots.ts) on their first
 * run and checked on every later one: the run reaches its files only through them, so a folder
 * swapped for a symlink or another folder stops the run before anything is read or moved.
 * Changing the configured path pins the new folder; so does a folder made again at the same real
 * path (see `current`).
 */
import type { Queryable } from '../db/index.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import {
  checkRoots,
  confineStorage,
  isRootChanged,
  pinRoot,
  type RootPin,
} from '../storage/roots.ts';
import type { PipelineSettings } from './settings.ts';

/** The pin of one folder of a pipeline, made on first use and kept while the config names it. */
async function pinned(
  db: Queryable,
  pipeline: string,
  role: 'source' | 'archive',
  configured: string,
): Promise<RootPin> {
  const { rows } = await db.query<{ pin: RootPin; configured: string }>(
    `SELECT pin, configured FROM ferry.pipeline_roots WHERE pipeline = $1 AND role = $2`,
    [pipeline, role],
  );
  const stored = rows[0];
  if (stored && stored.configured === configured) return stored.pin;
  const pin = await pinRoot(configured);
  await db.query(
    `INSERT INTO ferry.pipeline_roots (pipeline, role, configured, pin) VALUES ($1, $2, $3, $4)
     ON CONFLICT (pipeline, role) DO UPDATE SET configured = EXCLUDED.configured, pin = EXCLUDED.pin,
       pinned_at = now()`,
    [pipeline, role, configured, JSON.stringify(pin)],
  );
  return pin;
}

/**
 * The run's storage confined to the pipeline's pinned folders (local sources only: an SMB
 * server resolves its own paths). Throws FERRY_ERR_ROOT_CHANGED when a folder was swapped.
 */
export async function confinePipeline(
  db: Queryable,
  settings: PipelineSettings,
  storage: Storage,
): Promise<Storage> {
  if (settings.source.kind !== 'local' || storage.kind !== 'local') return storage;
  const pins = [
    await current(db, settings.name, 'source', settings.source.root),
    await current(db, settings.name, 'archive', settings.archiveRoot),
  ];
  return confineStorage(storage, pins);
}

/**
 * The pin, checked. A folder deleted and made again at the same real path (an inbox cleaned by
 * a script) is pinned anew; one that now resolves elsewhere (a symlink) is refused.
 */
async function current(
  db: Queryable,
  pipeline: string,
  role: 'source' | 'archive',
  configured: string,
): Promise<RootPin> {
  const pin = await pinned(db, pipeline, role, configured);
  try {
    await checkRoots([pin]);
    return pin;
  } catch (error) {
    if (!isRootChanged(error) && !(error instanceof StorageError)) throw error;
    const now = await pinRoot(configured).catch(() => undefined);
    if (!now || now.path !== pin.path) throw error;
    await db.query(
      `UPDATE ferry.pipeline_roots SET pin = $3, pinned_at = now() WHERE pipeline = $1 AND role = $2`,
      [pipeline, role, JSON.stringify(now)],
    );
    return now;
  }
}
