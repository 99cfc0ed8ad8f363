/** Files per transfer by outcome, for list rows of watch profiles (whose row counts no files). */
import type { Queryable } from '../db/index.ts';

/** Counts per transfer id; `ownerId` undefined means any owner (admins). */
export interface FileCounts {
  detected: number;
  completed: number;
  failed: number;
  bytes: number;
}

/** Counts for the given transfers the viewer may see; unknown or foreign ids are left out. */
export async function fileCounts(
  db: Queryable,
  ids: readonly number[],
  ownerId: number | undefined,
): Promise<Record<string, FileCounts>> {
  const own = ownerId === undefined ? '' : 'AND t.owner_user_id = $2';
  const { rows } = await db.query<{
    id: number;
    detected: string;
    completed: string;
    failed: string;
    bytes: string;
  }>(
    `SELECT t.id, count(f.id) AS detected,
            count(f.id) FILTER (WHERE f.status = 'completed') AS completed,
            count(f.id) FILTER (WHERE f.status = 'failed') AS failed,
            coalesce(sum(f.file_size) FILTER (WHERE f.status = 'completed'), 0) AS bytes
     FROM ferry.transfers t LEFT JOIN ferry.transfer_files f ON f.transfer_id = t.id
     WHERE t.id = ANY($1::int[]) ${own} GROUP BY t.id`,
    ownerId === undefined ? [ids] : [ids, ownerId],
  );
  const out: Record<string, FileCounts> = {};
  for (const r of rows) {
    out[String(r.id)] = {
      detected: Number(r.detected),
      completed: Number(r.completed),
      failed: Number(r.failed),
      bytes: Number(r.bytes),
    };
  }
  return out;
}
