/**
 * The claim ledger (invariant 5): an append-only record of what happened to each distinct
 * content a pipeline met. A claim is a `processing` row; the unique index on (file, attempt)
 * lets exactly one caller hold a given attempt, so a lost race or an earlier outcome means the
 * content is skipped, never sent downstream twice. One small function per SQL operation.
 */
import type { Queryable } from '../db/index.ts';

/** What identifies a claim: the same content under the same base name from the same remitter. */
export interface ClaimKey {
  readonly pipeline: string;
  readonly remitter: string;
  readonly baseName: string;
  readonly contentHash: string;
  readonly hashAlgorithm: string;
  readonly size: number;
}

/** The outcome of a claim attempt. */
export type Claim =
  | { claimed: true; fileId: number; attempt: number; ledgerId: number }
  /** `status`: the latest status that made this a skip (`processing` for a lost race). */
  | { claimed: false; fileId: number; status: string };

/** A claim's own statuses; every other status is written by the caller. */
export const claimStatus = { processing: 'processing', released: 'released' } as const;

/** Rows that mark a file (a notification sent, an archive move) without changing its status. */
export const ledgerMarks: readonly string[] = ['notified', 'archive_succeeded', 'archive_skipped'];

/** One ledger row, as reads return it. */
export interface LedgerRow {
  id: number;
  fileId: number;
  attempt: number;
  status: string;
  path: string;
  runId: string | null;
  reason: string | null;
  detail: unknown;
  refId: number | null;
  createdAt: Date;
}

interface RawLedgerRow {
  id: string | number;
  file_id: string | number;
  attempt: number;
  status: string;
  path: string;
  run_id: string | null;
  reason: string | null;
  detail: unknown;
  ref_id: string | number | null;
  created_at: Date;
}

const ledgerColumns =
  'id, file_id, attempt, status, path, run_id, reason, detail, ref_id, created_at';

/** Maps a raw row (int8 arrives as a string from node-postgres) to a LedgerRow. */
export function toLedgerRow(row: RawLedgerRow): LedgerRow {
  return {
    id: Number(row.id),
    fileId: Number(row.file_id),
    attempt: row.attempt,
    status: row.status,
    path: row.path,
    runId: row.run_id,
    reason: row.reason,
    detail: row.detail,
    refId: row.ref_id === null ? null : Number(row.ref_id),
    createdAt: row.created_at,
  };
}

/** The file row for `key`, made on first sight. */
async function fileIdFor(tx: Queryable, key: ClaimKey): Promise<number> {
  const inserted = await tx.query<{ id: string }>(
    `INSERT INTO ferry.pipeline_files (pipeline, remitter, base_name, content_hash, hash_algorithm, size)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (pipeline, remitter, base_name, content_hash) DO NOTHING RETURNING id`,
    [key.pipeline, key.remitter, key.baseName, key.contentHash, key.hashAlgorithm, key.size],
  );
  if (inserted.rows[0]) return Number(inserted.rows[0].id);
  const existing = await tx.query<{ id: string }>(
    `SELECT id FROM ferry.pipeline_files
     WHERE pipeline = $1 AND remitter = $2 AND base_name = $3 AND content_hash = $4`,
    [key.pipeline, key.remitter, key.baseName, key.contentHash],
  );
  const row = existing.rows[0];
  if (!row) throw new Error(`pipeline file ${key.baseName} vanished while being claimed`);
  return Number(row.id);
}

/** The latest status row of a file (marks excluded), or undefined for a new file. */
export async function latestStatus(tx: Queryable, fileId: number): Promise<LedgerRow | undefined> {
  const { rows } = await tx.query<RawLedgerRow>(
    `SELECT ${ledgerColumns} FROM ferry.pipeline_ledger
     WHERE file_id = $1 AND status <> ALL($2::text[]) ORDER BY id DESC LIMIT 1`,
    [fileId, ledgerMarks],
  );
  return rows[0] ? toLedgerRow(rows[0]) : undefined;
}

/**
 * Claims `key` for `runId`: appends a `processing` row unless the file already has an outcome
 * that is not in `retryable` (`released` always is). Concurrent callers race on the unique
 * (file, attempt) index; the loser gets `claimed: false` with status `processing`.
 */
export async function claimFile(
  tx: Queryable,
  key: ClaimKey,
  at: { path: string; runId: string; detail?: unknown },
  retryable: readonly string[] = [],
): Promise<Claim> {
  const fileId = await fileIdFor(tx, key);
  const latest = await latestStatus(tx, fileId);
  const canRetry = new Set<string>([claimStatus.released, ...retryable]);
  if (latest && !canRetry.has(latest.status))
    return { claimed: false, fileId, status: latest.status };
  const attempt = (latest?.attempt ?? 0) + 1;
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO ferry.pipeline_ledger (file_id, attempt, status, path, run_id, detail)
     VALUES ($1, $2, 'processing', $3, $4, $5::jsonb)
     ON CONFLICT (file_id, attempt) WHERE status = 'processing' DO NOTHING RETURNING id`,
    [
      fileId,
      attempt,
      at.path,
      at.runId,
      at.detail === undefined ? null : JSON.stringify(at.detail),
    ],
  );
  const row = rows[0];
  if (!row) return { claimed: false, fileId, status: claimStatus.processing };
  return { claimed: true, fileId, attempt, ledgerId: Number(row.id) };
}

/** A row to append: an outcome, a step (`submitting`) or a mark (`notified`). */
export interface LedgerEntry {
  fileId: number;
  attempt: number;
  status: string;
  path: string;
  runId: string | null;
  reason?: string | null;
  detail?: unknown;
  refId?: number | null;
}

/** Appends one row; returns its id. */
export async function appendLedger(tx: Queryable, entry: LedgerEntry): Promise<number> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO ferry.pipeline_ledger (file_id, attempt, status, path, run_id, reason, detail, ref_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) RETURNING id`,
    [
      entry.fileId,
      entry.attempt,
      entry.status,
      entry.path,
      entry.runId,
      entry.reason ?? null,
      entry.detail === undefined ? null : JSON.stringify(entry.detail),
      entry.refId ?? null,
    ],
  );
  return Number(rows[0]?.id);
}

/** Gives a claim back (a crash before any downstream call), so the next run claims again. */
export async function releaseClaim(
  tx: Queryable,
  claim: { fileId: number; attempt: number },
  at: { path: string; runId: string | null; reason: string },
): Promise<number> {
  return appendLedger(tx, {
    fileId: claim.fileId,
    attempt: claim.attempt,
    status: claimStatus.released,
    path: at.path,
    runId: at.runId,
    reason: at.reason,
  });
}

/** Every row of one file, oldest first. */
export async function fileHistory(tx: Queryable, fileId: number): Promise<LedgerRow[]> {
  const { rows } = await tx.query<RawLedgerRow>(
    `SELECT ${ledgerColumns} FROM ferry.pipeline_ledger WHERE file_id = $1 ORDER BY id`,
    [fileId],
  );
  return rows.map(toLedgerRow);
}

/**
 * Files of `pipeline` whose latest status is one of `statuses` (held by no live run, since the
 * caller holds the pipeline's lease): claims a crashed run left behind.
 */
export async function filesInStatus(
  tx: Queryable,
  pipeline: string,
  statuses: readonly string[],
): Promise<LedgerRow[]> {
  const { rows } = await tx.query<RawLedgerRow>(
    `SELECT l.id, l.file_id, l.attempt, l.status, l.path, l.run_id, l.reason, l.detail, l.ref_id, l.created_at
     FROM ferry.pipeline_files f
     JOIN LATERAL (SELECT * FROM ferry.pipeline_ledger x
                   WHERE x.file_id = f.id AND x.status <> ALL($3::text[])
                   ORDER BY x.id DESC LIMIT 1) l ON true
     WHERE f.pipeline = $1 AND l.status = ANY($2::text[])
     ORDER BY l.id`,
    [pipeline, statuses, ledgerMarks],
  );
  return rows.map(toLedgerRow);
}
