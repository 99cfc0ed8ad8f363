/** The transfer tables: one function per operation. */
import type { Queryable } from '../db/index.ts';
import type { RootPin } from '../storage/roots.ts';
import type { ChecksumAlgorithm } from './hashing.ts';
import type { ConflictPolicy } from './copy-file.ts';
import type { MhlOptions } from '../mhl/transfer.ts';
import { transferStatuses, type TransferStatus } from '../client/statuses.ts';

export { transferStatuses, type TransferStatus };

/** A one-off transfer that is being worked on (a job holds it). */
export const runningStatuses = ['validating', 'copying', 'verifying'] as const;

/** A one-off transfer not finished yet: waiting for its job, or running. */
export const unfinishedStatuses: readonly TransferStatus[] = ['pending', ...runningStatuses];

/** Ferry's own per-transfer options (beyond the Ketter fields). */
export interface TransferOptions extends MhlOptions {
  checksum_algorithm: ChecksumAlgorithm;
  conflict_policy: ConflictPolicy;
  include: string[];
  exclude: string[];
  temp_patterns: string[];
  recursive: boolean;
  poll_interval_seconds: number;
  /** Watch profiles: what to do when a completed file reappears with new content. */
  on_new_version: 'transfer' | 'ignore';
  /** One-file transfers: the destination file name when it differs from the source's (`ferry cp a b`). */
  target_name?: string;
  /** Cap on this transfer's (or profile's) bytes to destinations and from endpoints. */
  max_bytes_per_second?: number;
}

/** A transfer row as the API shows it. */
export interface TransferRow {
  id: number;
  owner_user_id: number | null;
  source_path: string;
  destination_path: string;
  status: TransferStatus;
  operation_mode: 'copy' | 'move';
  watch_mode_enabled: boolean;
  watch_continuous: boolean;
  watch_job_id: string | null;
  watch_cycle_count: number;
  settle_time_seconds: number;
  options: TransferOptions;
  file_name: string | null;
  file_size: number | null;
  file_count: number;
  bytes_transferred: number;
  progress_percent: number;
  error_message: string | null;
  failure_streak: number;
  /** The pinned source and destination folders (null only on rows older than pinning). */
  source_root: RootPin | null;
  destination_root: RootPin | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

const transferColumns = `id, owner_user_id, source_path, destination_path, status, operation_mode,
  watch_mode_enabled, watch_continuous, watch_job_id, watch_cycle_count, settle_time_seconds, options,
  file_name, file_size::float8 AS file_size, file_count, bytes_transferred::float8 AS bytes_transferred,
  progress_percent, error_message, failure_streak, source_root, destination_root, created_at, started_at,
  completed_at`;

export type NewTransfer = Pick<
  TransferRow,
  | 'owner_user_id'
  | 'source_path'
  | 'destination_path'
  | 'status'
  | 'operation_mode'
  | 'watch_mode_enabled'
  | 'watch_continuous'
  | 'watch_job_id'
  | 'settle_time_seconds'
  | 'options'
  | 'file_name'
  | 'file_size'
  | 'source_root'
  | 'destination_root'
>;

export async function insertTransfer(
  tx: Queryable,
  t: NewTransfer & { cluster_part?: string },
): Promise<TransferRow> {
  const { rows } = await tx.query<TransferRow>(
    `INSERT INTO ferry.transfers (owner_user_id, source_path, destination_path, status, operation_mode,
       watch_mode_enabled, watch_continuous, watch_job_id, settle_time_seconds, options, file_name, file_size,
       source_root, destination_root, started_at, cluster_part)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $4 = 'active' THEN now() END, $15)
     RETURNING ${transferColumns}`,
    [
      t.owner_user_id,
      t.source_path,
      t.destination_path,
      t.status,
      t.operation_mode,
      t.watch_mode_enabled,
      t.watch_continuous,
      t.watch_job_id,
      t.settle_time_seconds,
      JSON.stringify(t.options),
      t.file_name,
      t.file_size,
      JSON.stringify(t.source_root),
      JSON.stringify(t.destination_root),
      t.cluster_part ?? null,
    ],
  );
  return rows[0] as TransferRow;
}

/** The transfer a cluster job part made (`{job id}:{zone}`), if it made one already. */
export async function transferOfPart(tx: Queryable, part: string): Promise<number | undefined> {
  const { rows } = await tx.query<{ id: number }>(
    `SELECT id FROM ferry.transfers WHERE cluster_part = $1`,
    [part],
  );
  return rows[0]?.id;
}

export async function getTransfer(tx: Queryable, id: number): Promise<TransferRow | undefined> {
  const { rows } = await tx.query<TransferRow>(
    `SELECT ${transferColumns} FROM ferry.transfers WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** Transfers newest first, optionally by status and owner. */
export async function listTransfers(
  tx: Queryable,
  filter: { status?: string; ownerUserId?: number | undefined; limit: number; offset: number },
): Promise<{ total: number; items: TransferRow[] }> {
  const where = `($1::text IS NULL OR status = $1) AND ($2::int IS NULL OR owner_user_id = $2)`;
  const params = [filter.status ?? null, filter.ownerUserId ?? null];
  const [count, page] = await Promise.all([
    tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ferry.transfers WHERE ${where}`,
      params,
    ),
    tx.query<TransferRow>(
      `SELECT ${transferColumns} FROM ferry.transfers WHERE ${where} ORDER BY id DESC LIMIT $3 OFFSET $4`,
      [...params, filter.limit, filter.offset],
    ),
  ]);
  return { total: count.rows[0]?.n ?? 0, items: page.rows };
}

/** One-off transfers not finished yet (each should have a queued or running job). */
export async function unfinishedOneOffIds(tx: Queryable): Promise<number[]> {
  const { rows } = await tx.query<{ id: number }>(
    `SELECT id FROM ferry.transfers WHERE NOT watch_mode_enabled AND cluster_part IS NULL
       AND status IN (${unfinishedStatuses.map((s) => `'${s}'`).join(', ')}) ORDER BY id`,
  );
  return rows.map((r) => r.id);
}

/** Watch profiles some node should be scanning. */
export async function activeWatchIds(tx: Queryable): Promise<number[]> {
  const { rows } = await tx.query<{ id: number }>(
    `SELECT id FROM ferry.transfers WHERE watch_mode_enabled AND status = 'active' ORDER BY id`,
  );
  return rows.map((r) => r.id);
}

/** Sets columns of a transfer; `expect` guards against a concurrent status change. */
export async function updateTransfer(
  tx: Queryable,
  id: number,
  fields: Partial<
    Omit<TransferRow, 'id' | 'options' | 'created_at' | 'source_root' | 'destination_root'>
  >,
  expect?: { statusIn: readonly TransferStatus[] },
): Promise<TransferRow | undefined> {
  const keys = Object.keys(fields) as (keyof typeof fields)[];
  const sets = keys.map((k, i) => `${k} = $${i + 2}`);
  sets.push('updated_at = now()');
  const params: unknown[] = [id, ...keys.map((k) => fields[k])];
  let guard = '';
  if (expect) {
    params.push(expect.statusIn);
    guard = ` AND status = ANY($${params.length}::text[])`;
  }
  const { rows } = await tx.query<TransferRow>(
    `UPDATE ferry.transfers SET ${sets.join(', ')} WHERE id = $1${guard} RETURNING ${transferColumns}`,
    params,
  );
  return rows[0];
}

/**
 * Adds one to a counter in SQL (not read-modify-write: several workers count at once); returns
 * the new value.
 */
export async function increment(
  tx: Queryable,
  id: number,
  counter: 'watch_cycle_count' | 'failure_streak',
): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `UPDATE ferry.transfers SET ${counter} = ${counter} + 1, updated_at = now()
     WHERE id = $1 RETURNING ${counter} AS n`,
    [id],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Deletes a transfer unless its status is one of `unless` — checked in the same statement, so a
 * job that starts copying meanwhile wins. True when it was deleted.
 */
export async function deleteTransfer(
  tx: Queryable,
  id: number,
  unless: readonly TransferStatus[],
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `DELETE FROM ferry.transfers WHERE id = $1 AND status <> ALL($2::text[])`,
    [id, unless],
  );
  return rowCount > 0;
}

/** Appends one audit-trail line. */
export async function log(
  tx: Queryable,
  transferId: number,
  level: 'info' | 'warn' | 'error',
  event: string,
  message: string,
  details?: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `INSERT INTO ferry.transfer_logs (transfer_id, level, event, message, details) VALUES ($1, $2, $3, $4, $5)`,
    [transferId, level, event, message, details ? JSON.stringify(details) : null],
  );
}

export interface LogRow {
  id: number;
  at: Date;
  level: string;
  event: string;
  message: string;
  details: unknown;
}

export async function listLogs(tx: Queryable, transferId: number): Promise<LogRow[]> {
  const { rows } = await tx.query<LogRow>(
    `SELECT id::int AS id, at, level, event, message, details FROM ferry.transfer_logs
     WHERE transfer_id = $1 ORDER BY id`,
    [transferId],
  );
  return rows;
}
