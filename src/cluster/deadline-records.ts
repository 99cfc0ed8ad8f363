/**
 * The store side of job deadlines (`timeout_seconds`, counted from the submission on the store's
 * clock): how long a job has left, and the leader's sweep of parts that never got to run.
 */
import type { Queryable } from '../db/index.ts';
import {
  finalJobStatuses,
  lockJob,
  partColumns,
  type JobRow,
  type PartRow,
} from './job-records.ts';

/**
 * Milliseconds a job has left before its `timeout_seconds` (counted from its submission, on the
 * store's clock, so a takeover does not restart it); undefined when it has no timeout.
 */
export async function jobTimeLeftMs(tx: Queryable, jobId: string): Promise<number | undefined> {
  const { rows } = await tx.query<{ left_ms: number | null }>(
    `SELECT (extract(epoch FROM created_at + make_interval(secs => timeout_seconds) - now()) * 1000)::float8
       AS left_ms FROM ferry.cluster_jobs WHERE id = $1`,
    [jobId],
  );
  const left = rows[0]?.left_ms;
  return left === null || left === undefined ? undefined : Math.max(0, left);
}

/**
 * Open jobs past their deadline (submission + `timeout_seconds`, on the store's clock) that still
 * have a part waiting for a node (`queued` or `orphaned`): no owner's timer will stop those.
 */
export async function jobsPastDeadline(tx: Queryable): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT j.id FROM ferry.cluster_jobs j
     WHERE j.status IN ('queued', 'running') AND j.timeout_seconds IS NOT NULL
       AND j.created_at + make_interval(secs => j.timeout_seconds) <= now()
       AND EXISTS (SELECT 1 FROM ferry.cluster_job_parts p
             WHERE p.job_id = j.id AND p.status IN ('queued', 'orphaned'))
     ORDER BY j.created_at LIMIT 100`,
  );
  return rows.map((r) => r.id);
}

/**
 * Fails the parts of an open job still waiting for a node, each with `result(job, part)`; the
 * job's coordinator settles the job. Nothing when the job was settled meanwhile.
 */
export async function failWaitingParts(
  tx: Queryable,
  jobId: string,
  result: (job: JobRow, part: PartRow) => unknown,
): Promise<{ job: JobRow | undefined; failed: PartRow[] }> {
  const job = await lockJob(tx, jobId);
  if (!job || finalJobStatuses.includes(job.status)) return { job, failed: [] };
  const { rows: waiting } = await tx.query<PartRow>(
    `SELECT ${partColumns} FROM ferry.cluster_job_parts
     WHERE job_id = $1 AND status IN ('queued', 'orphaned') ORDER BY zone`,
    [jobId],
  );
  for (const part of waiting) {
    await tx.query(
      `UPDATE ferry.cluster_job_parts SET status = 'failed', result = $3, updated_at = now()
       WHERE job_id = $1 AND zone = $2`,
      [jobId, part.zone, JSON.stringify(result(job, part))],
    );
  }
  return { job, failed: waiting };
}
