/**
 * Pipeline SQL: run records, the ledger reads a run needs (failures not yet notified, successes
 * not yet archived) and the reads the API serves. One function per statement.
 */
import type { Queryable } from '../db/index.ts';
import { ledgerMarks, toLedgerRow, type LedgerRow } from './claims.ts';

/** One error entry of a run answer. */
export interface RunError {
  error: string;
  file?: string;
}

/** The counts a run answers with. */
export interface RunSummary {
  scanned: number;
  temp_ignored: number;
  older_versions: number;
  unstable: number;
  claimed: number;
  already_claimed: number;
  succeeded: number;
  failed: Record<string, number>;
  archived: number;
}

/** What happened in the archive step (after the answer). */
export interface ArchiveReport {
  moved: number;
  failed: number;
}

/** A stored run. */
export interface RunRecord {
  id: string;
  pipeline: string;
  trigger: 'api' | 'schedule';
  correlationId: string;
  status: 'running' | 'archiving' | 'completed' | 'failed';
  summary: RunSummary;
  errors: RunError[];
  archive: ArchiveReport | null;
  startedAt: Date;
  answeredAt: Date | null;
  finishedAt: Date | null;
}

interface RawRun {
  id: string;
  pipeline: string;
  trigger: 'api' | 'schedule';
  correlation_id: string;
  status: RunRecord['status'];
  summary: RunSummary;
  errors: RunError[];
  archive: ArchiveReport | null;
  started_at: Date;
  answered_at: Date | null;
  finished_at: Date | null;
}

const runColumns =
  'id, pipeline, trigger, correlation_id, status, summary, errors, archive, started_at, answered_at, finished_at';

/** A fresh summary. */
export function emptySummary(): RunSummary {
  return {
    scanned: 0,
    temp_ignored: 0,
    older_versions: 0,
    unstable: 0,
    claimed: 0,
    already_claimed: 0,
    succeeded: 0,
    failed: {},
    archived: 0,
  };
}

function toRun(row: RawRun): RunRecord {
  return {
    id: row.id,
    pipeline: row.pipeline,
    trigger: row.trigger,
    correlationId: row.correlation_id,
    status: row.status,
    // A run that has not answered yet (or died first) has stored no summary: its counts are 0.
    summary: { ...emptySummary(), ...row.summary },
    errors: row.errors,
    archive: row.archive,
    startedAt: row.started_at,
    answeredAt: row.answered_at,
    finishedAt: row.finished_at,
  };
}

/** Records a run as it starts. */
export async function insertRun(
  tx: Queryable,
  run: {
    id: string;
    pipeline: string;
    trigger: 'api' | 'schedule';
    correlationId: string;
    nodeId: string;
    leaseToken: number;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO ferry.pipeline_runs (id, pipeline, trigger, correlation_id, node_id, lease_token, status)
     VALUES ($1, $2, $3, $4, $5, $6, 'running')`,
    [run.id, run.pipeline, run.trigger, run.correlationId, run.nodeId, run.leaseToken],
  );
}

/** Stores the answer of a run (summary and errors) and moves it to `archiving`. */
export async function answerRun(
  tx: Queryable,
  id: string,
  summary: RunSummary,
  errors: RunError[],
): Promise<void> {
  await tx.query(
    `UPDATE ferry.pipeline_runs SET status = 'archiving', summary = $2::jsonb, errors = $3::jsonb,
       answered_at = now() WHERE id = $1`,
    [id, JSON.stringify(summary), JSON.stringify(errors)],
  );
}

/** Closes a run: completed after archiving, or failed when it stopped early. */
export async function finishRun(
  tx: Queryable,
  id: string,
  status: 'completed' | 'failed',
  archive: ArchiveReport | null,
  errors?: RunError[],
): Promise<void> {
  await tx.query(
    `UPDATE ferry.pipeline_runs SET status = $2, archive = $3::jsonb, finished_at = now(),
       errors = COALESCE($4::jsonb, errors) WHERE id = $1`,
    [
      id,
      status,
      archive === null ? null : JSON.stringify(archive),
      errors ? JSON.stringify(errors) : null,
    ],
  );
}

/** Runs left `running` or `archiving` by a crashed process become `failed`. */
export async function failAbandonedRuns(tx: Queryable, pipeline: string, current: string) {
  await tx.query(
    `UPDATE ferry.pipeline_runs SET status = 'failed', finished_at = now()
     WHERE pipeline = $1 AND id <> $2 AND status IN ('running', 'archiving')`,
    [pipeline, current],
  );
}

/** One run of `pipeline`, or undefined. */
export async function getRun(
  tx: Queryable,
  pipeline: string,
  id: string,
): Promise<RunRecord | undefined> {
  const { rows } = await tx.query<RawRun>(
    `SELECT ${runColumns} FROM ferry.pipeline_runs WHERE pipeline = $1 AND id = $2`,
    [pipeline, id],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** Recent runs of `pipeline`, newest first. */
export async function listRuns(
  tx: Queryable,
  pipeline: string,
  page: { limit: number; offset: number },
): Promise<{ total: number; items: RunRecord[] }> {
  const [count, list] = await Promise.all([
    tx.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM ferry.pipeline_runs WHERE pipeline = $1',
      [pipeline],
    ),
    tx.query<RawRun>(
      `SELECT ${runColumns} FROM ferry.pipeline_runs WHERE pipeline = $1
       ORDER BY started_at DESC, id LIMIT $2 OFFSET $3`,
      [pipeline, page.limit, page.offset],
    ),
  ]);
  return { total: count.rows[0]?.n ?? 0, items: list.rows.map(toRun) };
}

/** Outcome rows in `statuses` that have no `notified` mark yet, oldest first. */
export async function unnotifiedFailures(
  tx: Queryable,
  pipeline: string,
  statuses: readonly string[],
): Promise<(LedgerRow & { remitter: string })[]> {
  const { rows } = await tx.query<Parameters<typeof toLedgerRow>[0] & { remitter: string }>(
    `SELECT l.*, f.remitter FROM ferry.pipeline_ledger l JOIN ferry.pipeline_files f ON f.id = l.file_id
     WHERE f.pipeline = $1 AND l.status = ANY($2::text[])
       AND NOT EXISTS (SELECT 1 FROM ferry.pipeline_ledger n WHERE n.ref_id = l.id AND n.status = 'notified')
     ORDER BY l.id`,
    [pipeline, statuses],
  );
  return rows.map((r) => ({ ...toLedgerRow(r), remitter: r.remitter }));
}

/** `success` rows after `afterId` whose file has no archive mark yet, oldest first. */
export async function unarchivedSuccesses(
  tx: Queryable,
  pipeline: string,
  afterId: number,
  limit: number,
): Promise<(LedgerRow & { remitter: string; size: number })[]> {
  const { rows } = await tx.query<
    Parameters<typeof toLedgerRow>[0] & { remitter: string; size: string }
  >(
    `SELECT l.*, f.remitter, f.size FROM ferry.pipeline_ledger l
     JOIN ferry.pipeline_files f ON f.id = l.file_id
     WHERE f.pipeline = $1 AND l.status = 'success' AND l.id > $2
       AND NOT EXISTS (SELECT 1 FROM ferry.pipeline_ledger a WHERE a.file_id = l.file_id
                       AND a.status IN ('archive_succeeded', 'archive_skipped'))
     ORDER BY l.id LIMIT $3`,
    [pipeline, afterId, limit],
  );
  return rows.map((r) => ({ ...toLedgerRow(r), remitter: r.remitter, size: Number(r.size) }));
}

/** A pipeline file with its latest status (marks excluded) and whether it was archived. */
export interface FileView {
  id: number;
  remitter: string;
  baseName: string;
  contentHash: string;
  hashAlgorithm: string;
  size: number;
  path: string;
  status: string;
  attempt: number;
  reason: string | null;
  archived: boolean;
  notified: boolean;
  firstSeen: Date;
  updatedAt: Date;
}

interface RawFileView {
  id: string;
  remitter: string;
  base_name: string;
  content_hash: string;
  hash_algorithm: string;
  size: string;
  path: string;
  status: string;
  attempt: number;
  reason: string | null;
  archived: boolean;
  notified: boolean;
  created_at: Date;
  updated_at: Date;
}

const fileViewSql = `
  SELECT f.id, f.remitter, f.base_name, f.content_hash, f.hash_algorithm, f.size, f.created_at,
         l.path, l.status, l.attempt, l.reason, l.created_at AS updated_at,
         EXISTS (SELECT 1 FROM ferry.pipeline_ledger a WHERE a.file_id = f.id
                 AND a.status = 'archive_succeeded') AS archived,
         EXISTS (SELECT 1 FROM ferry.pipeline_ledger n WHERE n.file_id = f.id
                 AND n.status = 'notified') AS notified
  FROM ferry.pipeline_files f
  JOIN LATERAL (SELECT * FROM ferry.pipeline_ledger x
                WHERE x.file_id = f.id AND x.status <> ALL($2::text[])
                ORDER BY x.id DESC LIMIT 1) l ON true
  WHERE f.pipeline = $1`;

function toFileView(r: RawFileView): FileView {
  return {
    id: Number(r.id),
    remitter: r.remitter,
    baseName: r.base_name,
    contentHash: r.content_hash,
    hashAlgorithm: r.hash_algorithm,
    size: Number(r.size),
    path: r.path,
    status: r.status,
    attempt: r.attempt,
    reason: r.reason,
    archived: r.archived,
    notified: r.notified,
    firstSeen: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Files of `pipeline` with their latest status, optionally only one status, newest first. */
export async function listFiles(
  tx: Queryable,
  pipeline: string,
  filter: { status?: string; limit: number; offset: number },
): Promise<{ total: number; items: FileView[] }> {
  // `archive_succeeded` is a mark, not a status: it filters on files the archive step moved.
  const archived = filter.status === 'archive_succeeded';
  const byStatus = filter.status !== undefined && !archived;
  const where = archived ? 'WHERE v.archived' : byStatus ? 'WHERE v.status = $3' : '';
  const params: unknown[] = [pipeline, ledgerMarks];
  if (byStatus) params.push(filter.status);
  const n = params.length;
  const [count, list] = await Promise.all([
    tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${fileViewSql}) v ${where}`, params),
    tx.query<RawFileView>(
      `SELECT * FROM (${fileViewSql}) v ${where} ORDER BY v.id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, filter.limit, filter.offset],
    ),
  ]);
  return { total: count.rows[0]?.n ?? 0, items: list.rows.map(toFileView) };
}

/** One file of `pipeline`, or undefined. */
export async function getFile(
  tx: Queryable,
  pipeline: string,
  id: number,
): Promise<FileView | undefined> {
  const { rows } = await tx.query<RawFileView>(`${fileViewSql} AND f.id = $3`, [
    pipeline,
    ledgerMarks,
    id,
  ]);
  return rows[0] ? toFileView(rows[0]) : undefined;
}
