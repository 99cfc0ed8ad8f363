import { PgBoss, fromPglite, type ConstructorOptions } from 'pg-boss';
import type { Store } from '../db/index.ts';

/**
 * How pg-boss attaches to each store, as data: the embedded store shares Ferry's PGlite
 * instance; PostgreSQL gets pg-boss's own pool on the same URL.
 */
const bossOptionsByStore: {
  [K in Store['kind']]: (store: Extract<Store, { kind: K }>) => ConstructorOptions;
} = {
  pglite: (store) => ({ backend: 'pglite', db: fromPglite(store.db.pglite) }),
  postgres: (store) => ({ connectionString: store.url, max: store.poolMax }),
};

/** Options common to both stores: LISTEN/NOTIFY wake-ups, our own schema, no cron by default. */
export function makeBoss(store: Store): PgBoss {
  const specific =
    store.kind === 'pglite' ? bossOptionsByStore.pglite(store) : bossOptionsByStore.postgres(store);
  return new PgBoss({
    ...specific,
    schema: 'pgboss',
    useListenNotify: true,
    schedule: false,
    supervise: true,
    migrate: true,
  });
}
