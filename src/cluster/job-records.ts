/**
 * The store side of cluster jobs: one function per statement over `cluster_jobs` and
 * `cluster_job_parts`. The rules (who may run a part, when a job is final) live in the callers.
 */
import type { Queryable } from '../db/index.ts';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type PartStatus = JobStatus | 'orphaned';

export const finalJobStatuses: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
export const openPartStatuses = `('queued', 'running', 'orphaned')`;

export interface JobRow {
  id: string;
  kind: string;
  spec: Record<string, unknown>;
  zone_specs: Record<string, Record<string, unknown>>;
  priority: string;
  timeout_seconds: number | null;
  principal: string;
  owner_user_id: number | null;
  idempotency_key: string | null;
  labels: Record<string, string>;
  status: JobStatus;
  fence_token: number;
  accepted_by: string;
  result: unknown;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

export interface PartRow {
  job_id: string;
  zone: string;
  spec: Record<string, unknown>;
  status: PartStatus;
  owner_node: string | null;
  owner_url: string | null;
  fence_token: number;
  result: unknown;
  orphaned_at: Date | null;
  updated_at: Date;
}

const jobColumns = `id, kind, spec, zone_specs, priority, timeout_seconds, principal, owner_user_id,
  idempotency_key, labels, status, fence_token::int AS fence_token, accepted_by, result, created_at,
  updated_at, completed_at`;
export const partColumns = `job_id, zone, spec, status, owner_node, owner_url, fence_token::int AS fence_token,
  result, orphaned_at, updated_at`;

export type NewJob = Pick<
  JobRow,
  | 'id'
  | 'kind'
  | 'spec'
  | 'zone_specs'
  | 'priority'
  | 'timeout_seconds'
  | 'principal'
  | 'owner_user_id'
  | 'idempotency_key'
  | 'labels'
  | 'accepted_by'
>;

/**
 * Inserts a job and its parts; with an idempotency key already used by the same principal,
 * inserts nothing and returns the first job (`created: false`).
 */
export async function insertJob(
  tx: Queryable,
  job: NewJob,
  parts: readonly { zone: string; spec: Record<string, unknown> }[],
): Promise<{ job: JobRow; created: boolean }> {
  const { rows } = await tx.query<JobRow>(
    `INSERT INTO ferry.cluster_jobs (id, kind, spec, zone_specs, priority, timeout_seconds, principal,
       owner_user_id, idempotency_key, labels, status, accepted_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $11)
     ON CONFLICT (principal, idempotency_key) DO NOTHING RETURNING ${jobColumns}`,
    [
      job.id,
      job.kind,
      JSON.stringify(job.spec),
      JSON.stringify(job.zone_specs),
      job.priority,
      job.timeout_seconds,
      job.principal,
      job.owner_user_id,
      job.idempotency_key,
      JSON.stringify(job.labels),
      job.accepted_by,
    ],
  );
  const created = rows[0];
  if (!created) {
    const existing = await jobByKey(tx, job.principal, job.idempotency_key ?? '');
    return { job: existing as JobRow, created: false };
  }
  await tx.query(
    `INSERT INTO ferry.cluster_job_parts (job_id, zone, spec, status)
     SELECT $1, p->>'zone', p->'spec', 'queued' FROM jsonb_array_elements($2::jsonb) AS x(p)`,
    [job.id, JSON.stringify(parts)],
  );
  return { job: created, created: true };
}

/** The job a principal submitted with an idempotency key, if any. */
export async function jobByKey(
  tx: Queryable,
  principal: string,
  key: string,
): Promise<JobRow | undefined> {
  const { rows } = await tx.query<JobRow>(
    `SELECT ${jobColumns} FROM ferry.cluster_jobs WHERE principal = $1 AND idempotency_key = $2`,
    [principal, key],
  );
  return rows[0];
}

export async function getJob(tx: Queryable, id: string): Promise<JobRow | undefined> {
  const { rows } = await tx.query<JobRow>(
    `SELECT ${jobColumns} FROM ferry.cluster_jobs WHERE id = $1`,
    [id],
  );
  return rows[0];
}

export async function getParts(tx: Queryable, jobIds: readonly string[]): Promise<PartRow[]> {
  const { rows } = await tx.query<PartRow>(
    `SELECT ${partColumns} FROM ferry.cluster_job_parts WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, zone`,
    [jobIds],
  );
  return rows;
}

export async function getPart(
  tx: Queryable,
  jobId: string,
  zone: string,
): Promise<PartRow | undefined> {
  const { rows } = await tx.query<PartRow>(
    `SELECT ${partColumns} FROM ferry.cluster_job_parts WHERE job_id = $1 AND zone = $2`,
    [jobId, zone],
  );
  return rows[0];
}

/** A page of jobs, newest first. `ownerUserId` restricts to one user's jobs (undefined: all). */
export async function listJobs(
  tx: Queryable,
  filter: {
    status?: string;
    zone?: string;
    label?: string;
    ownerUserId: number | undefined;
    limit: number;
    offset: number;
  },
): Promise<{ total: number; items: JobRow[] }> {
  const [labelKey, labelValue] = filter.label?.split('=', 2) ?? [];
  const where = `($1::text IS NULL OR status = $1)
    AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM ferry.cluster_job_parts p WHERE p.job_id = id AND p.zone = $2))
    AND ($3::text IS NULL OR labels ? $3) AND ($4::text IS NULL OR labels->>$3 = $4)
    AND ($5::int IS NULL OR owner_user_id = $5)`;
  const values = [
    filter.status ?? null,
    filter.zone ?? null,
    labelKey ?? null,
    labelValue ?? null,
    filter.ownerUserId ?? null,
  ];
  const { rows: count } = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ferry.cluster_jobs WHERE ${where}`,
    values,
  );
  const { rows } = await tx.query<JobRow>(
    `SELECT ${jobColumns} FROM ferry.cluster_jobs WHERE ${where}
     ORDER BY created_at DESC, id LIMIT $6 OFFSET $7`,
    [...values, filter.limit, filter.offset],
  );
  return { total: count[0]?.n ?? 0, items: rows };
}

/** Open parts of a zone whose job is still open: candidates for this node to own. */
export async function openPartsOfZone(tx: Queryable, zone: string): Promise<PartRow[]> {
  const { rows } = await tx.query<PartRow>(
    `SELECT p.job_id, p.zone, p.spec, p.status, p.owner_node, p.owner_url,
       p.fence_token::int AS fence_token, p.result, p.orphaned_at, p.updated_at
     FROM ferry.cluster_job_parts p JOIN ferry.cluster_jobs j ON j.id = p.job_id
     WHERE p.zone = $1 AND p.status IN ${openPartStatuses} AND j.status IN ('queued', 'running')
     ORDER BY j.created_at LIMIT 100`,
    [zone],
  );
  return rows;
}

/**
 * Milliseconds, on the store's clock, until the first lease another node holds on an open part
 * of `zone` expires: when this node may take that part over. Undefined when there is none.
 */
export async function nextPartLeaseExpiryMs(
  tx: Queryable,
  zone: string,
  self: string,
): Promise<number | undefined> {
  const { rows } = await tx.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM min(l.expires_at) - now()) * 1000)::float8 AS ms
     FROM ferry.cluster_job_parts p JOIN ferry.cluster_jobs j ON j.id = p.job_id
     JOIN ferry.leases l ON l.name = 'job:' || p.job_id || ':' || p.zone
     WHERE p.zone = $1 AND p.status IN ${openPartStatuses} AND j.status IN ('queued', 'running')
       AND l.holder <> $2 AND l.expires_at > now()`,
    [zone, self],
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, ms);
}

/**
 * Locks a job's row. Every change to a job and its parts takes this lock first, so a cancel
 * racing a part's completion waits instead of deadlocking (job → parts, always in that order).
 */
export async function lockJob(tx: Queryable, jobId: string): Promise<JobRow | undefined> {
  const { rows } = await tx.query<JobRow>(
    `SELECT ${jobColumns} FROM ferry.cluster_jobs WHERE id = $1 FOR UPDATE`,
    [jobId],
  );
  return rows[0];
}

/**
 * Records a new owner of a part (call it fenced, under the part's lease): the part runs, the
 * job's token increases. Undefined when the part or job is no longer open.
 */
export async function takePart(
  tx: Queryable,
  part: { jobId: string; zone: string; node: string; url: string; token: number },
): Promise<{ part: PartRow; job: JobRow } | undefined> {
  await lockJob(tx, part.jobId);
  const { rows } = await tx.query<PartRow>(
    `UPDATE ferry.cluster_job_parts SET status = 'running', owner_node = $3, owner_url = $4,
       fence_token = $5, orphaned_at = NULL, updated_at = now()
     WHERE job_id = $1 AND zone = $2 AND status IN ${openPartStatuses} RETURNING ${partColumns}`,
    [part.jobId, part.zone, part.node, part.url, part.token],
  );
  const taken = rows[0];
  if (!taken) return undefined;
  const { rows: jobs } = await tx.query<JobRow>(
    `UPDATE ferry.cluster_jobs SET status = 'running', fence_token = fence_token + 1, updated_at = now()
     WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${jobColumns}`,
    [part.jobId],
  );
  const job = jobs[0];
  return job ? { part: taken, job } : undefined;
}

/**
 * Settles a part (fenced by its owner). False when it was no longer running (cancelled). The
 * job is settled by its coordinator (`settleJob`).
 */
export async function settlePart(
  tx: Queryable,
  jobId: string,
  zone: string,
  status: 'completed' | 'failed',
  result: unknown,
): Promise<boolean> {
  await lockJob(tx, jobId);
  const { rowCount } = await tx.query(
    `UPDATE ferry.cluster_job_parts SET status = $3, result = $4, updated_at = now()
     WHERE job_id = $1 AND zone = $2 AND status = 'running'`,
    [jobId, zone, status, JSON.stringify(result)],
  );
  return rowCount > 0;
}

/**
 * Finishes the job if no part is open (call it fenced, under the job's coordination lease):
 * completed when all completed, failed otherwise. Exactly one caller sees the job returned,
 * because the job row is locked and updated only while open.
 */
export async function settleJob(tx: Queryable, jobId: string): Promise<JobRow | undefined> {
  await lockJob(tx, jobId);
  const { rows } = await tx.query<JobRow>(
    `UPDATE ferry.cluster_jobs j SET
       status = CASE WHEN bool_and_ok THEN 'completed' ELSE 'failed' END,
       result = agg, completed_at = now(), updated_at = now()
     FROM (SELECT bool_and(status = 'completed') AS bool_and_ok,
             jsonb_object_agg(zone, jsonb_build_object('status', status, 'result', result)) AS agg,
             bool_or(status IN ${openPartStatuses}) AS any_open
           FROM ferry.cluster_job_parts WHERE job_id = $1) p
     WHERE j.id = $1 AND j.status IN ('queued', 'running') AND NOT p.any_open
     RETURNING j.id, j.kind, j.spec, j.zone_specs, j.priority, j.timeout_seconds, j.principal,
       j.owner_user_id, j.idempotency_key, j.labels, j.status, j.fence_token::int AS fence_token,
       j.accepted_by, j.result, j.created_at, j.updated_at, j.completed_at`,
    [jobId],
  );
  return rows[0];
}

/** Cancels an open job and its open parts; the outcome says what the job already was. */
export async function cancelJob(
  tx: Queryable,
  jobId: string,
): Promise<{ outcome: 'cancelled' | 'already_cancelled' | 'already_completed'; job: JobRow }> {
  const job = (await lockJob(tx, jobId)) as JobRow;
  if (job.status === 'cancelled') return { outcome: 'already_cancelled', job };
  if (finalJobStatuses.includes(job.status)) return { outcome: 'already_completed', job };
  await tx.query(
    `UPDATE ferry.cluster_job_parts SET status = 'cancelled', updated_at = now()
     WHERE job_id = $1 AND status IN ${openPartStatuses}`,
    [jobId],
  );
  const { rows: updated } = await tx.query<JobRow>(
    `UPDATE ferry.cluster_jobs SET status = 'cancelled', completed_at = now(), updated_at = now()
     WHERE id = $1 RETURNING ${jobColumns}`,
    [jobId],
  );
  return { outcome: 'cancelled', job: updated[0] as JobRow };
}

/**
 * Marks `orphaned` the running or queued parts whose zone has had no healthy node for
 * `graceMs` (judged by the part's last change and its lease's expiry). Returns them.
 */
export async function markOrphans(
  tx: Queryable,
  healthyMs: number,
  graceMs: number,
): Promise<PartRow[]> {
  const { rows } = await tx.query<PartRow>(
    `UPDATE ferry.cluster_job_parts p SET status = 'orphaned', orphaned_at = now(), updated_at = now()
     WHERE p.status IN ('queued', 'running')
       AND NOT EXISTS (SELECT 1 FROM ferry.cluster_nodes n WHERE n.zone = p.zone AND NOT n.draining
             AND clock_timestamp() - n.heartbeat_at <= make_interval(secs => $1::float8 / 1000))
       AND p.updated_at < now() - make_interval(secs => $2::float8 / 1000)
       AND NOT EXISTS (SELECT 1 FROM ferry.leases l WHERE l.name = 'job:' || p.job_id || ':' || p.zone
             AND l.expires_at > now() - make_interval(secs => $2::float8 / 1000))
     RETURNING ${partColumns}`,
    [healthyMs, graceMs],
  );
  return rows;
}
