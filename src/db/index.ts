export type { Db, Queryable, QueryResult, StoreKind, Unlisten } from './types.ts';
export { makePgliteDb, type PgliteDb } from './pglite.ts';
export { makePostgresDb, type PostgresOptions } from './postgres.ts';
export { migrate, readMigrations, type Migration } from './migrate.ts';
export { lockDataDir, type DataDirLock } from './lockfile.ts';
export {
  acquireLease,
  renewLease,
  renewLeases,
  releaseLease,
  fenced,
  keepLease,
  keepLeases,
  fencedDb,
  isLeaseLost,
  type KeepLeaseOptions,
  type LeaseKeeper,
  type Lease,
} from './leases.ts';
export { openStore, type Store } from './open.ts';
export { hardMaxDepth, inspectJson, isUnstorable, type JsonShape } from './json-walk.ts';
export { Text } from './storable-text.ts';
