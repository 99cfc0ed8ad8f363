/**
 * The audit trail: account actions (written here) and transfer logs (written by transfers), read
 * back as one searchable, paged list. A user who is not an admin sees only their own entries.
 */
import type { Queryable } from '../db/index.ts';

/** One account action as it is recorded. */
export interface AccountAction {
  userId: number | null;
  /** Who acted as the request showed it: a username, an email, `key:<prefix>` or `anonymous`. */
  actor: string;
  action: string;
  outcome: 'ok' | 'refused';
  status: number;
  ip: string | null;
  target: string | null;
  /** For sign-ins and registrations: the name signed in with, to find the user's id. */
  login?: string;
}

/** Records one account action. */
export async function recordAccountAction(db: Queryable, a: AccountAction): Promise<void> {
  await db.query(
    `INSERT INTO ferry.audit_log (user_id, actor, action, outcome, status, ip_address, target)
     VALUES (coalesce($1, (SELECT id FROM ferry.users
               WHERE lower(email) = lower($8) OR lower(username) = lower($8) LIMIT 1)),
             $2, $3, $4, $5, $6, $7)`,
    [a.userId, a.actor, a.action, a.outcome, a.status, a.ip, a.target, a.login ?? null],
  );
}

/** What the audit page filters on; every field optional. */
export interface AuditQuery {
  from?: Date;
  to?: Date;
  /** A user id: entries of that user (accounts) or of their transfers. */
  userId?: number;
  transferId?: number;
  /** Part of a file name, matched in the message and details of transfer logs. */
  file?: string;
  outcome?: 'ok' | 'error';
  /** Free text matched in action, actor and message. */
  text?: string;
  limit: number;
  offset: number;
}

/** One row of the audit list. */
export interface AuditEntry {
  kind: 'account' | 'transfer';
  id: string;
  at: Date;
  user_id: number | null;
  actor: string | null;
  transfer_id: number | null;
  action: string;
  outcome: 'ok' | 'error';
  message: string;
}

// Both sources shaped alike, so one WHERE and one ORDER BY serve them.
const unioned = `
  SELECT 'account' AS kind, 'a' || a.id AS id, a.at, a.user_id, a.actor,
         NULL::integer AS transfer_id, a.action,
         CASE WHEN a.outcome = 'ok' THEN 'ok' ELSE 'error' END AS outcome,
         a.action || ' → ' || a.status || coalesce(' ' || a.target, '') AS message,
         '' AS details
  FROM ferry.audit_log a
  UNION ALL
  SELECT 'transfer', 't' || l.id, l.at, t.owner_user_id, u.username,
         l.transfer_id, l.event,
         CASE WHEN l.level = 'error' THEN 'error' ELSE 'ok' END,
         l.message, coalesce(l.details::text, '')
  FROM ferry.transfer_logs l
  JOIN ferry.transfers t ON t.id = l.transfer_id
  LEFT JOIN ferry.users u ON u.id = t.owner_user_id`;

/** Searches the trail, newest first; `viewer` undefined means an admin (everything). */
export async function searchAudit(
  db: Queryable,
  q: AuditQuery,
  viewer: { userId: number } | undefined,
): Promise<{ total: number; items: AuditEntry[] }> {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    values.push(value);
    where.push(sql(`$${values.length}`));
  };
  if (viewer) add((n) => `user_id = ${n}`, viewer.userId);
  if (q.from) add((n) => `at >= ${n}`, q.from);
  if (q.to) add((n) => `at <= ${n}`, q.to);
  if (q.userId !== undefined) add((n) => `user_id = ${n}`, q.userId);
  if (q.transferId !== undefined) add((n) => `transfer_id = ${n}`, q.transferId);
  if (q.outcome) add((n) => `outcome = ${n}`, q.outcome);
  if (q.file) add((n) => `(message ILIKE ${n} OR details ILIKE ${n})`, `%${likeEscape(q.file)}%`);
  if (q.text) {
    add(
      (n) => `(action ILIKE ${n} OR message ILIKE ${n} OR coalesce(actor, '') ILIKE ${n})`,
      `%${likeEscape(q.text)}%`,
    );
  }
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const total = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM (${unioned}) x ${filter}`,
    values,
  );
  const { rows } = await db.query<AuditEntry>(
    `SELECT kind, id, at, user_id, actor, transfer_id, action, outcome, message
     FROM (${unioned}) x ${filter}
     ORDER BY at DESC, id DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
    [...values, q.limit, q.offset],
  );
  return { total: Number(total.rows[0]?.n ?? 0), items: rows };
}

/** Escapes LIKE's wildcards so a search for `a_b` finds that text, not `axb`. */
function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
