/**
 * The events page's figures that no single row holds: per-user counts, processing latency and
 * the latest failures with their errors, over a recent window.
 */
import type { Queryable } from '../db/index.ts';

/** Figures over the window; `userId` undefined means every user's (admins). */
export interface EventStats {
  per_user: {
    user_id: number | null;
    username: string | null;
    accepted: number;
    processed: number;
    failed: number;
  }[];
  latency_ms: { avg: number | null; p50: number | null; p95: number | null; max: number | null };
  failed: {
    id: number;
    user_id: number | null;
    event_name: string;
    error: string | null;
    at: string | null;
  }[];
}

/** Reads the figures of events created since `since`. */
export async function eventStats(
  db: Queryable,
  since: Date,
  userId: number | undefined,
): Promise<EventStats> {
  const own = userId === undefined ? '' : 'AND e.user_id = $2';
  const values: unknown[] = userId === undefined ? [since] : [since, userId];
  const perUser = await db.query<{
    user_id: number | null;
    username: string | null;
    accepted: string;
    processed: string;
    failed: string;
  }>(
    `SELECT e.user_id, u.username, count(*) AS accepted,
            count(*) FILTER (WHERE e.status = 'processed') AS processed,
            count(*) FILTER (WHERE e.status = 'failed') AS failed
     FROM ferry.events e LEFT JOIN ferry.users u ON u.id = e.user_id
     WHERE e.created_at >= $1 ${own}
     GROUP BY e.user_id, u.username ORDER BY count(*) DESC LIMIT 100`,
    values,
  );
  const latency = await db.query<{
    avg: number | null;
    p50: number | null;
    p95: number | null;
    max: number | null;
  }>(
    `SELECT avg(ms)::float8 AS avg,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::float8 AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::float8 AS p95,
            max(ms)::float8 AS max
     FROM (SELECT extract(epoch FROM e.processed_at - e.created_at) * 1000 AS ms
           FROM ferry.events e WHERE e.processed_at IS NOT NULL AND e.created_at >= $1 ${own}) x`,
    values,
  );
  const failed = await db.query<{
    id: string;
    user_id: number | null;
    event_name: string;
    error: string | null;
    at: Date | null;
  }>(
    `SELECT e.id, e.user_id, e.event_name, e.processing_error AS error, e.processed_at AS at
     FROM ferry.events e WHERE e.status = 'failed' AND e.created_at >= $1 ${own}
     ORDER BY e.id DESC LIMIT 50`,
    values,
  );
  const l = latency.rows[0];
  return {
    per_user: perUser.rows.map((r) => ({
      user_id: r.user_id,
      username: r.username,
      accepted: Number(r.accepted),
      processed: Number(r.processed),
      failed: Number(r.failed),
    })),
    latency_ms: {
      avg: l?.avg ?? null,
      p50: l?.p50 ?? null,
      p95: l?.p95 ?? null,
      max: l?.max ?? null,
    },
    failed: failed.rows.map((r) => ({
      id: Number(r.id),
      user_id: r.user_id,
      event_name: r.event_name,
      error: r.error,
      at: r.at ? r.at.toISOString() : null,
    })),
  };
}
