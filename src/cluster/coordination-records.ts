/**
 * The store side of job coordination: each open job's `job:{id}` lease (who coordinates it) and
 * the statements its coordinator runs. One function per statement; the rules live in
 * coordinator.ts.
 */
import type { Queryable } from '../db/index.ts';
import { openPartStatuses } from './job-records.ts';

/** The lease name of a job's coordination. */
export const jobLease = (jobId: string) => `job:${jobId}`;

/** A job's coordinator as the job routes show it: the lease's holder, its URL and token. */
export interface JobLeader {
  node_id: string;
  url: string | null;
  fence_token: number;
}

/** Open jobs whose coordination lease is missing, released or expired: candidates to adopt. */
export async function jobsWithoutCoordinator(tx: Queryable): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT j.id FROM ferry.cluster_jobs j LEFT JOIN ferry.leases l ON l.name = 'job:' || j.id
     WHERE j.status IN ('queued', 'running') AND (l.name IS NULL OR l.expires_at <= now())
     ORDER BY j.created_at LIMIT 100`,
  );
  return rows.map((r) => r.id);
}

/**
 * Milliseconds (store clock) until the first coordination lease another node holds on an open
 * job expires: when this node may adopt that job. Undefined when there is none.
 */
export async function nextCoordinationExpiryMs(
  tx: Queryable,
  self: string,
): Promise<number | undefined> {
  const { rows } = await tx.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM min(l.expires_at) - now()) * 1000)::float8 AS ms
     FROM ferry.cluster_jobs j JOIN ferry.leases l ON l.name = 'job:' || j.id
     WHERE j.status IN ('queued', 'running') AND l.holder <> $1 AND l.expires_at > now()`,
    [self],
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, ms);
}

/** Of the jobs a node coordinates: which are final, and which have no open part left. */
export async function coordinatedState(
  tx: Queryable,
  jobIds: readonly string[],
): Promise<{ id: string; final: boolean; parts_done: boolean }[]> {
  if (jobIds.length === 0) return [];
  const { rows } = await tx.query<{ id: string; final: boolean; parts_done: boolean }>(
    `SELECT j.id, j.status NOT IN ('queued', 'running') AS final,
       NOT EXISTS (SELECT 1 FROM ferry.cluster_job_parts p
             WHERE p.job_id = j.id AND p.status IN ${openPartStatuses}) AS parts_done
     FROM ferry.cluster_jobs j WHERE j.id = ANY($1::uuid[])`,
    [jobIds],
  );
  return rows;
}

/** The coordinators of these jobs (the current or last holder of each job's lease). */
export async function jobLeaders(
  tx: Queryable,
  jobIds: readonly string[],
): Promise<Map<string, JobLeader>> {
  const { rows } = await tx.query<{ job_id: string; holder: string; token: string; url: string }>(
    `SELECT substr(l.name, 5) AS job_id, l.holder, l.token, n.advertise_url AS url
     FROM ferry.leases l LEFT JOIN ferry.cluster_nodes n ON n.id = l.holder
     WHERE l.name = ANY($1::text[])`,
    [jobIds.map(jobLease)],
  );
  return new Map(
    rows.map((r) => [
      r.job_id,
      { node_id: r.holder, url: r.url || null, fence_token: Number(r.token) },
    ]),
  );
}
