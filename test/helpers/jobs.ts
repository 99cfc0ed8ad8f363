/** Cluster jobs made straight in the store, for tests that need one in a given state. */
import { insertJob, type JobRow } from '../../src/cluster/job-records.ts';
import type { Queryable } from '../../src/db/index.ts';

/**
 * A transfer job with one part in `zone`, owned by `ownerUserId` (null: an admin's), with an
 * optional `timeout_seconds`.
 */
export async function insertTestJob(
  db: Queryable,
  options: { id: string; zone: string; ownerUserId: number | null; timeoutSeconds?: number },
): Promise<JobRow> {
  const { job } = await insertJob(
    db,
    {
      id: options.id,
      kind: 'transfer',
      spec: {},
      zone_specs: {},
      priority: 'normal',
      timeout_seconds: options.timeoutSeconds ?? null,
      principal: 'test',
      owner_user_id: options.ownerUserId,
      idempotency_key: null,
      labels: {},
      accepted_by: 'test',
    },
    [{ zone: options.zone, spec: {} }],
  );
  return job;
}

/**
 * A transfer job whose one part is in zone `mars`, where no node runs: it never finishes, so
 * waiting on it holds a request in flight, and its part is orphaned after the grace time.
 */
export async function insertStrandedJob(db: Queryable, id: string): Promise<void> {
  await insertTestJob(db, { id, zone: 'mars', ownerUserId: null });
}
