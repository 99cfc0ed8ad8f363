/**
 * Batched writes of file rows and their log lines: one statement for a whole batch of files,
 * so delivering many small files costs a few round trips per batch instead of several per file.
 */
import type { Queryable } from '../db/index.ts';
import { fileColumns, type FileRow } from './file-records.ts';

/** Columns a batch may set, and the SQL type each is read back as from JSON. */
const settable = {
  status: 'text',
  source_checksum: 'text',
  destination_checksum: 'text',
  checksum_match: 'boolean',
  delivered_path: 'text',
  bytes_transferred: 'bigint',
  resume_point: 'jsonb',
  error_code: 'text',
  error_message: 'text',
  transfer_completed_at: 'timestamptz',
  file_size: 'bigint',
  source_mtime_ms: 'float8',
} as const;

/** What one file's row gets: only the columns named are changed. */
export type FileFields = Partial<Pick<FileRow, keyof typeof settable>>;

/** One file's changes in a batch. */
export interface FileUpdate {
  id: number;
  fields: FileFields;
}

const assignments = Object.entries(settable)
  .map(([column, type]) => {
    // A JSON null must become SQL NULL (`->` keeps it as the jsonb value null).
    const value =
      type === 'jsonb' ? `NULLIF(u->'${column}', 'null'::jsonb)` : `(u->>'${column}')::${type}`;
    return `${column} = CASE WHEN u ? '${column}' THEN ${value} ELSE f.${column} END`;
  })
  .join(',\n  ');

/** Applies each file's own changes, all in one statement. */
export async function updateFiles(tx: Queryable, updates: readonly FileUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  await tx.query(
    `UPDATE ferry.transfer_files AS f SET
  ${assignments}
     FROM jsonb_array_elements($1::jsonb) AS x(u)
     WHERE f.id = (u->>'id')::bigint`,
    [JSON.stringify(updates.map((u) => ({ ...u.fields, id: u.id })))],
  );
}

/** Marks files `transferring` for a new attempt (the attempt is counted), in one statement. */
export async function startFiles(tx: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `UPDATE ferry.transfer_files SET status = 'transferring', transfer_started_at = now(),
       attempts = attempts + 1 WHERE id = ANY($1::bigint[])`,
    [ids],
  );
}

/** The rows of `ids` as stored, by id. */
export async function getFiles(
  tx: Queryable,
  ids: readonly number[],
): Promise<Map<number, FileRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<FileRow>(
    `SELECT ${fileColumns} FROM ferry.transfer_files WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** One audit-trail line of a transfer. */
export interface LogLine {
  level: 'info' | 'warn' | 'error';
  event: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Appends audit-trail lines in their order, in one statement. */
export async function logLines(
  tx: Queryable,
  transferId: number,
  lines: readonly LogLine[],
): Promise<void> {
  if (lines.length === 0) return;
  await tx.query(
    `INSERT INTO ferry.transfer_logs (transfer_id, level, event, message, details)
     SELECT $1, l->>'level', l->>'event', l->>'message', NULLIF(l->'details', 'null'::jsonb)
     FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(l, n) ORDER BY n`,
    [transferId, JSON.stringify(lines.map((l) => ({ ...l, details: l.details ?? null })))],
  );
}
