/** The per-file rows of a transfer (folder transfers and watch profiles): one function each. */
import type { Queryable } from '../db/index.ts';
import type { ResumePoint } from './copy-file.ts';

export type FileStatus =
  'detected' | 'transferring' | 'verified' | 'completed' | 'skipped' | 'failed';

/** One file of a transfer. */
export interface FileRow {
  id: number;
  transfer_id: number;
  relative_path: string;
  file_size: number;
  source_mtime_ms: number;
  status: FileStatus;
  algorithm: string;
  source_checksum: string | null;
  destination_checksum: string | null;
  checksum_match: boolean | null;
  /** Where the file was renamed to, recorded before the rename (the `rename` policy's name). */
  delivered_path: string | null;
  bytes_transferred: number;
  /** Where the temp file at a resumable destination was last checkpointed (copy-file.ts). */
  resume_point: ResumePoint | null;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  detected_at: Date;
  transfer_started_at: Date | null;
  transfer_completed_at: Date | null;
}

/** The columns of a FileRow, typed as it expects. */
export const fileColumns = `id::int AS id, transfer_id, relative_path, file_size::float8 AS file_size, source_mtime_ms,
  status, algorithm, source_checksum, destination_checksum, checksum_match,
  delivered_path, bytes_transferred::float8 AS bytes_transferred, resume_point, attempts, error_code, error_message, detected_at,
  transfer_started_at, transfer_completed_at`;

/** How {@link claimFiles} treats paths the transfer already has rows for (watch profiles). */
export interface ClaimOptions {
  /** Claim only paths with no recorded version at all (`on_new_version: ignore`). */
  newPathsOnly?: boolean;
  /**
   * End older open versions of each claimed path as `skipped` (superseded): one row per path in
   * flight. A `verified` row is left to finish (its copy is delivered; the move's delete keeps a
   * source that changed).
   */
  supersede?: boolean;
}

/**
 * Claims files for a transfer: a (path, size, mtime) version already recorded is not claimed
 * again. Returns only the rows this call created. One statement for the whole listing, whatever
 * its length (the filter, the insert and the supersede are CTEs of it): a scan of 10,000 files
 * is one round trip, not one per file.
 */
export async function claimFiles(
  tx: Queryable,
  transferId: number,
  algorithm: string,
  files: readonly { relative: string; size: number; mtimeMs: number }[],
  options: ClaimOptions = {},
): Promise<FileRow[]> {
  if (files.length === 0) return [];
  // Data-modifying CTEs share one snapshot: the UPDATE sees the older rows, not the new ones.
  const { rows } = await tx.query<FileRow>(
    `WITH listed AS (
       SELECT f->>'relative' AS relative_path, (f->>'size')::bigint AS file_size,
         (f->>'mtimeMs')::float8 AS source_mtime_ms
       FROM jsonb_array_elements($3::jsonb) AS x(f)
     ), fresh AS (
       SELECT l.* FROM listed AS l
       WHERE NOT $4::boolean OR NOT EXISTS (SELECT 1 FROM ferry.transfer_files AS k
         WHERE k.transfer_id = $1 AND k.relative_path = l.relative_path)
     ), claimed AS (
       INSERT INTO ferry.transfer_files (transfer_id, relative_path, file_size, source_mtime_ms, status, algorithm)
       SELECT $1, relative_path, file_size, source_mtime_ms, 'detected', $2 FROM fresh
       ON CONFLICT (transfer_id, relative_path, file_size, source_mtime_ms) DO NOTHING
       RETURNING *
     ), superseded AS (
       UPDATE ferry.transfer_files AS old SET status = 'skipped',
         error_message = 'superseded by a newer version', transfer_completed_at = now()
       FROM claimed AS c
       WHERE $5::boolean AND old.transfer_id = $1 AND old.relative_path = c.relative_path
         AND old.id < c.id AND old.status IN ('detected', 'transferring')
     )
     SELECT ${fileColumns} FROM claimed`,
    [
      transferId,
      algorithm,
      JSON.stringify(files),
      options.newPathsOnly ?? false,
      options.supersede ?? false,
    ],
  );
  return rows.sort((a, b) => a.id - b.id);
}

export async function getFile(tx: Queryable, id: number): Promise<FileRow | undefined> {
  const { rows } = await tx.query<FileRow>(
    `SELECT ${fileColumns} FROM ferry.transfer_files WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** Files not finished yet (a restart resumes them), oldest first. */
export async function openFiles(
  tx: Queryable,
  transferId: number,
  limit = 1000,
): Promise<FileRow[]> {
  const { rows } = await tx.query<FileRow>(
    `SELECT ${fileColumns} FROM ferry.transfer_files
     WHERE transfer_id = $1 AND status IN ('detected', 'transferring', 'verified') ORDER BY id LIMIT $2`,
    [transferId, limit],
  );
  return rows;
}

/** The latest completed version of a path, to recognize a file this profile delivered. */
export async function lastDelivered(
  tx: Queryable,
  transferId: number,
  relativePath: string,
): Promise<FileRow | undefined> {
  const { rows } = await tx.query<FileRow>(
    `SELECT ${fileColumns} FROM ferry.transfer_files
     WHERE transfer_id = $1 AND relative_path = $2 AND status = 'completed' ORDER BY id DESC LIMIT 1`,
    [transferId, relativePath],
  );
  return rows[0];
}

export async function updateFile(
  tx: Queryable,
  id: number,
  fields: Partial<Omit<FileRow, 'id' | 'transfer_id' | 'relative_path' | 'detected_at'>> & {
    attemptsPlusOne?: boolean;
  },
): Promise<void> {
  const { attemptsPlusOne, ...rest } = fields;
  const keys = Object.keys(rest) as (keyof typeof rest)[];
  const sets = keys.map((k, i) => `${k} = $${i + 2}`);
  if (attemptsPlusOne) sets.push('attempts = attempts + 1');
  await tx.query(`UPDATE ferry.transfer_files SET ${sets.join(', ')} WHERE id = $1`, [
    id,
    ...keys.map((k) => rest[k]),
  ]);
}

/** Records a checkpoint of the file's temp file: a retry continues from it. */
export async function recordResumePoint(
  tx: Queryable,
  id: number,
  point: ResumePoint,
): Promise<void> {
  await tx.query(`UPDATE ferry.transfer_files SET resume_point = $2::jsonb WHERE id = $1`, [
    id,
    JSON.stringify(point),
  ]);
}

/** Files of a transfer, oldest first, with counts per outcome. */
export async function listFiles(
  tx: Queryable,
  transferId: number,
  page: { limit: number; offset: number },
): Promise<{
  total: number;
  completed: number;
  failed: number;
  lastDetection: Date | null;
  items: FileRow[];
}> {
  const [summary, items] = await Promise.all([
    tx.query<{ total: number; completed: number; failed: number; last: Date | null }>(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'completed')::int AS completed,
         count(*) FILTER (WHERE status = 'failed')::int AS failed, max(detected_at) AS last
       FROM ferry.transfer_files WHERE transfer_id = $1`,
      [transferId],
    ),
    tx.query<FileRow>(
      `SELECT ${fileColumns} FROM ferry.transfer_files WHERE transfer_id = $1 ORDER BY id LIMIT $2 OFFSET $3`,
      [transferId, page.limit, page.offset],
    ),
  ]);
  const s = summary.rows[0];
  return {
    total: s?.total ?? 0,
    completed: s?.completed ?? 0,
    failed: s?.failed ?? 0,
    lastDetection: s?.last ?? null,
    items: items.rows,
  };
}
