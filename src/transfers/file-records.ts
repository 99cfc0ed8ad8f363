/** The per-file rows of a transfer (folder transfers and watch profiles): one function each. */
import type { Queryable } from '../db/index.ts';

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
  bytes_transferred: number;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  detected_at: Date;
  transfer_started_at: Date | null;
  transfer_completed_at: Date | null;
}

const fileColumns = `id::int AS id, transfer_id, relative_path, file_size::float8 AS file_size, source_mtime_ms,
  status, algorithm, source_checksum, destination_checksum, checksum_match,
  bytes_transferred::float8 AS bytes_transferred, attempts, error_code, error_message, detected_at,
  transfer_started_at, transfer_completed_at`;

/**
 * Claims files for a transfer: a (path, size, mtime) version already recorded is not claimed
 * again. Returns only the rows this call created.
 */
export async function claimFiles(
  tx: Queryable,
  transferId: number,
  algorithm: string,
  files: readonly { relative: string; size: number; mtimeMs: number }[],
): Promise<FileRow[]> {
  if (files.length === 0) return [];
  const { rows } = await tx.query<FileRow>(
    `INSERT INTO ferry.transfer_files (transfer_id, relative_path, file_size, source_mtime_ms, status, algorithm)
     SELECT $1, f->>'relative', (f->>'size')::bigint, (f->>'mtimeMs')::float8, 'detected', $2
     FROM jsonb_array_elements($3::jsonb) AS x(f)
     ON CONFLICT (transfer_id, relative_path, file_size, source_mtime_ms) DO NOTHING
     RETURNING ${fileColumns}`,
    [transferId, algorithm, JSON.stringify(files)],
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

/** Paths with any recorded version (for `on_new_version: ignore`). */
export async function knownPaths(
  tx: Queryable,
  transferId: number,
  paths: readonly string[],
): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const { rows } = await tx.query<{ relative_path: string }>(
    `SELECT DISTINCT relative_path FROM ferry.transfer_files WHERE transfer_id = $1 AND relative_path = ANY($2::text[])`,
    [transferId, paths],
  );
  return new Set(rows.map((r) => r.relative_path));
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
