/**
 * Stored history for the charts: per-bucket counts read from the tables the work is recorded in
 * (events, transfer files), so a chart shows the past on load and needs no sampler of its own.
 */
import type { Queryable } from '../db/index.ts';

/** A window of time cut into equal buckets. */
export interface HistoryWindow {
  /** Bucket starts are multiples of this (seconds since the epoch). */
  bucketSeconds: number;
  from: Date;
  to: Date;
}

/** Column-wise series (uPlot's shape): `t` are bucket starts in seconds, the rest counts. */
export type Series = Record<string, number[]>;

/** Most buckets one answer holds (a chart is a few hundred pixels wide). */
export const maxBuckets = 2000;

/** The number of buckets a window spans. */
export function bucketCount(w: HistoryWindow): number {
  const first = Math.floor(w.from.getTime() / 1000 / w.bucketSeconds);
  const last = Math.floor(w.to.getTime() / 1000 / w.bucketSeconds);
  return last - first + 1;
}

interface Row {
  t: string;
  k: string;
  n: string;
}

/** Fills sparse `(t, kind, n)` rows into dense columns, one per kind, zero where nothing happened. */
function densify(rows: Row[], w: HistoryWindow, kinds: readonly string[]): Series {
  const b = w.bucketSeconds;
  const first = Math.floor(w.from.getTime() / 1000 / b) * b;
  const count = bucketCount(w);
  const out: Series = { t: Array.from({ length: count }, (_, i) => first + i * b) };
  for (const k of kinds) out[k] = new Array<number>(count).fill(0);
  for (const r of rows) {
    const i = (Number(r.t) - first) / b;
    const column = out[r.k];
    if (column && i >= 0 && i < count) column[i] = Number(r.n);
  }
  return out;
}

const bucket = (column: string) => `(floor(extract(epoch FROM ${column}) / $1) * $1)::bigint`;

/** Events accepted, processed and failed per bucket; `userId` limits to one user's. */
export async function eventHistory(
  db: Queryable,
  w: HistoryWindow,
  userId: number | undefined,
): Promise<Series> {
  const own = userId === undefined ? '' : 'AND user_id = $4';
  const values: unknown[] = [w.bucketSeconds, w.from, w.to];
  if (userId !== undefined) values.push(userId);
  // A failed event may have no processed_at; it failed no earlier than it arrived.
  const done = 'coalesce(processed_at, created_at)';
  const { rows } = await db.query<Row>(
    `SELECT ${bucket('created_at')} AS t, 'accepted' AS k, count(*) AS n FROM ferry.events
       WHERE created_at BETWEEN $2 AND $3 ${own} GROUP BY 1
     UNION ALL
     SELECT ${bucket(done)}, status, count(*) FROM ferry.events
       WHERE status IN ('processed', 'failed') AND ${done} BETWEEN $2 AND $3 ${own}
       GROUP BY 1, 2`,
    values,
  );
  return densify(rows, w, ['accepted', 'processed', 'failed']);
}

/** Bytes and files delivered, and files failed, per bucket; `userId` limits to one owner's. */
export async function transferHistory(
  db: Queryable,
  w: HistoryWindow,
  userId: number | undefined,
): Promise<Series> {
  const own = userId === undefined ? '' : 'AND t.owner_user_id = $4';
  const values: unknown[] = [w.bucketSeconds, w.from, w.to];
  if (userId !== undefined) values.push(userId);
  const done = 'coalesce(f.transfer_completed_at, f.detected_at)';
  const { rows } = await db.query<Row>(
    `SELECT ${bucket(done)} AS t, 'bytes' AS k, sum(f.file_size) AS n
       FROM ferry.transfer_files f JOIN ferry.transfers t ON t.id = f.transfer_id
       WHERE f.status = 'completed' AND ${done} BETWEEN $2 AND $3 ${own} GROUP BY 1
     UNION ALL
     SELECT ${bucket(done)}, CASE WHEN f.status = 'failed' THEN 'failed' ELSE 'files' END, count(*)
       FROM ferry.transfer_files f JOIN ferry.transfers t ON t.id = f.transfer_id
       WHERE f.status IN ('completed', 'failed') AND ${done} BETWEEN $2 AND $3 ${own}
       GROUP BY 1, 2`,
    values,
  );
  return densify(rows, w, ['bytes', 'files', 'failed']);
}
