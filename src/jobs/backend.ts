import { PgBoss, fromPglite, type ConstructorOptions } from 'pg-boss';
import type { Config } from '../config/index.ts';
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
export function makeBoss(
  store: Store,
  jobs: Pick<Config['jobs'], 'heartbeat_seconds'>,
  /** Run pg-boss's cron timekeeper: only needed when some job definition has a `cron`. */
  schedule: boolean,
): PgBoss {
  // The monitor is what retries jobs of a crashed node once their heartbeat lapses; checking
  // as often as the heartbeat interval keeps that recovery within about two intervals.
  const monitorSeconds = Math.min(60, jobs.heartbeat_seconds);
  const specific =
    store.kind === 'pglite' ? bossOptionsByStore.pglite(store) : bossOptionsByStore.postgres(store);
  return new PgBoss({
    ...specific,
    schema: 'pgboss',
    useListenNotify: true,
    // Cron schedules (job definitions with `cron`); pg-boss makes one node send each run.
    schedule,
    supervise: true,
    superviseIntervalSeconds: monitorSeconds,
    monitorIntervalSeconds: monitorSeconds,
    migrate: true,
  });
}
