import path from 'node:path';
import type { Config } from '../config/index.ts';
import { lockDataDir, type DataDirLock } from './lockfile.ts';
import { makePgliteDb, type PgliteDb } from './pglite.ts';
import { makePostgresDb } from './postgres.ts';
import type { Db } from './types.ts';

interface StoreBase {
  /** Human description for start-up output: the data folder or the URL's host and database. */
  readonly location: string;
  close(): Promise<void>;
}

/** An open store and what closing it must undo (the data-dir lock for PGlite). */
export type Store =
  | (StoreBase & { readonly kind: 'pglite'; readonly db: PgliteDb })
  | (StoreBase & {
      readonly kind: 'postgres';
      readonly db: Db;
      readonly url: string;
      /** Pool size; pg-boss gets a pool of the same size (docs/stores.md: connections). */
      readonly poolMax: number;
    });

/** Opens the store the config names: PostgreSQL when database_url is set, else PGlite. */
export async function openStore(
  config: Pick<Config, 'data_dir' | 'database_url' | 'store'>,
  onBackgroundError: (error: Error) => void,
): Promise<Store> {
  if (config.database_url) {
    const db = makePostgresDb({
      url: config.database_url,
      poolMax: config.store.pool_max,
      idleTransactionTimeoutMs: config.store.idle_transaction_timeout_seconds * 1000,
      onBackgroundError,
    });
    const url = new URL(config.database_url);
    return {
      db,
      kind: 'postgres',
      url: config.database_url,
      poolMax: config.store.pool_max,
      location: `${url.host}${url.pathname}`,
      close: () => db.close(),
    };
  }
  const lock: DataDirLock = lockDataDir(config.data_dir);
  try {
    const db = await makePgliteDb(path.join(config.data_dir, 'pglite'));
    return {
      db,
      kind: 'pglite',
      location: config.data_dir,
      async close() {
        try {
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}
