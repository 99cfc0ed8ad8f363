import { existsSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { readTemplate } from './pglite-template.ts';
import type { Db, Queryable, QueryResult, Unlisten } from './types.ts';

/** The embedded store plus what only it needs (checkpoints, the raw instance for pg-boss). */
export interface PgliteDb extends Db {
  readonly kind: 'pglite';
  /** The PGlite instance, for pg-boss's adapter. */
  readonly pglite: PGlite;
  /** Flushes data files; PGlite runs with fsync off, so Ferry calls this periodically. */
  checkpoint(): Promise<void>;
}

/**
 * Opens PGlite in `dataDir` (a folder it owns), or in memory when `dataDir` is undefined.
 * Single connection: queries and transactions are serialized by PGlite itself.
 */
export async function makePgliteDb(dataDir: string | undefined): Promise<PgliteDb> {
  const pglite = dataDir === undefined ? await PGlite.create() : await openDataDir(dataDir);
  let closing: Promise<void> | undefined;

  function wrap(target: Pick<PGlite, 'query' | 'exec'>): Queryable {
    return {
      async exec(script: string): Promise<void> {
        await target.exec(script);
      },
      async query<Row>(text: string, values?: unknown[]): Promise<QueryResult<Row>> {
        const result = await target.query<Row>(text, values);
        return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
      },
    };
  }
  const root = wrap(pglite);

  return {
    kind: 'pglite',
    pglite,
    ...root,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pglite.transaction((tx) => fn(wrap(tx)));
    },
    async listen(channel: string, onPayload: (payload: string) => void): Promise<Unlisten> {
      const stop = await pglite.listen(channel, onPayload);
      let stopped = false;
      return async function unlisten() {
        if (stopped || pglite.closed) return;
        stopped = true;
        await stop();
      };
    },
    async notify(channel: string, payload: string): Promise<void> {
      await pglite.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async checkpoint(): Promise<void> {
      if (!pglite.closed) await pglite.query('CHECKPOINT');
    },
    close(): Promise<void> {
      closing ??= (async function closePglite() {
        if (pglite.closed) return;
        await pglite.query('CHECKPOINT').catch(() => undefined);
        await pglite.close();
      })();
      return closing;
    },
  };
}

/** Opens an existing data dir, or makes a new one from the prepared template when there is one. */
async function openDataDir(dataDir: string): Promise<PGlite> {
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  const template = fresh ? readTemplate() : undefined;
  return template ? PGlite.create(dataDir, { loadDataDir: template }) : PGlite.create(dataDir);
}
