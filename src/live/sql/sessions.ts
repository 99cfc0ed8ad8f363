/**
 * Session rows (`ferry.live_sessions`) and their conversation history (`ferry.live_history`).
 * One function per statement. Times are milliseconds from the hub's clock, so a fake clock in a
 * test moves the windows the store sees too.
 */
import type { Queryable } from '../../db/index.ts';

/** A session as stored. JSON fields stay text: parsed by the session module. */
export interface SessionRow {
  id: string;
  owner: string;
  subscriptions: string;
  context: string;
  acked: number;
  historySeq: number;
  epoch: number;
  nodeId: string | null;
  address: string | null;
  userAgent: string | null;
  connected: boolean;
  seenAt: number;
}

/** One conversation history entry as stored; `content` is the message's JSON text. */
export interface HistoryRow {
  seq: number;
  role: 'client' | 'server';
  content: string;
  at: number;
}

const sessionColumns = `id, owner, subscriptions, context, acked_offset::float8 AS acked,
  history_seq AS "historySeq", epoch, node_id AS "nodeId", address, user_agent AS "userAgent",
  connected, (extract(epoch FROM seen_at) * 1000)::float8 AS "seenAt"`;

/** Stores a new session, attached to `nodeId` (epoch 1). */
export async function insertSession(
  db: Queryable,
  row: { id: string; tokenHash: string; owner: string; context: string; acked: number },
  where: { nodeId: string; address: string | null; userAgent: string | null; now: number },
): Promise<void> {
  await db.query(
    `INSERT INTO ferry.live_sessions (id, token_hash, owner, context, acked_offset, epoch, node_id,
       address, user_agent, connected, created_at, seen_at)
     VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, true, to_timestamp($9 / 1000.0), to_timestamp($9 / 1000.0))`,
    [
      row.id,
      row.tokenHash,
      row.owner,
      row.context,
      row.acked,
      where.nodeId,
      where.address,
      where.userAgent,
      where.now,
    ],
  );
}

/** The session with this token hash, locked until the transaction ends. */
export async function lockSessionByToken(
  tx: Queryable,
  tokenHash: string,
): Promise<SessionRow | undefined> {
  const { rows } = await tx.query<SessionRow>(
    `SELECT ${sessionColumns} FROM ferry.live_sessions WHERE token_hash = $1 FOR UPDATE`,
    [tokenHash],
  );
  return rows[0];
}

/** Attaches a session to `nodeId`: a new epoch, so every older copy of it is stale. */
export async function claimSession(
  tx: Queryable,
  id: string,
  where: { nodeId: string; address: string | null; userAgent: string | null; now: number },
): Promise<number> {
  const { rows } = await tx.query<{ epoch: number }>(
    `UPDATE ferry.live_sessions SET epoch = epoch + 1, node_id = $2, address = $3, user_agent = $4,
       connected = true, seen_at = to_timestamp($5 / 1000.0)
     WHERE id = $1 RETURNING epoch`,
    [id, where.nodeId, where.address, where.userAgent, where.now],
  );
  const epoch = rows[0]?.epoch;
  if (epoch === undefined) throw new Error(`live session ${id} vanished while locked`);
  return epoch;
}

/** Removes a session and its history (expired, or its token reused after expiry). */
export async function deleteSession(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM ferry.live_sessions WHERE id = $1', [id]);
}

/** What a command changed: only the given fields are written, with the new history entries. */
export interface SessionChange {
  subscriptions?: string;
  context?: string;
  acked?: number;
  history?: readonly HistoryRow[];
  /** History entries with seq at or below this are deleted (history_limit). */
  trimThrough?: number;
}

/** Writes one change in one statement (history rows, trim and the session row together). */
export async function saveSession(db: Queryable, id: string, change: SessionChange): Promise<void> {
  const history = change.history ?? [];
  const lastSeq = history.at(-1)?.seq ?? null;
  await db.query(
    `WITH added AS (
       INSERT INTO ferry.live_history (session_id, seq, role, content, at)
       SELECT $1::uuid, seq, role, content, to_timestamp(at / 1000.0)
       FROM unnest($2::int[], $3::text[], $4::text[], $5::float8[]) AS h(seq, role, content, at)
     ), trimmed AS (
       DELETE FROM ferry.live_history WHERE session_id = $1::uuid AND seq <= $6::int
     )
     UPDATE ferry.live_sessions SET
       subscriptions = coalesce($7::text, subscriptions),
       context = coalesce($8::text, context),
       acked_offset = greatest(acked_offset, coalesce($9::bigint, 0)),
       history_seq = coalesce($10::int, history_seq)
     WHERE id = $1::uuid`,
    [
      id,
      history.map((h) => h.seq),
      history.map((h) => h.role),
      history.map((h) => h.content),
      history.map((h) => h.at),
      change.trimThrough ?? 0,
      change.subscriptions ?? null,
      change.context ?? null,
      change.acked ?? null,
      lastSeq,
    ],
  );
}

/** Marks a session disconnected at `now`, unless a newer attach (epoch) took it meanwhile. */
export async function detachSession(
  db: Queryable,
  id: string,
  epoch: number,
  now: number,
): Promise<void> {
  await db.query(
    `UPDATE ferry.live_sessions SET connected = false, seen_at = to_timestamp($3 / 1000.0)
     WHERE id = $1 AND epoch = $2`,
    [id, epoch, now],
  );
}

/** Refreshes seen_at of every session connected to this node (one statement per sweep). */
export async function touchNodeSessions(db: Queryable, nodeId: string, now: number): Promise<void> {
  await db.query(
    `UPDATE ferry.live_sessions SET seen_at = to_timestamp($2 / 1000.0)
     WHERE node_id = $1 AND connected`,
    [nodeId, now],
  );
}

/** Marks every session of this node disconnected (the node is stopping). */
export async function detachNodeSessions(
  db: Queryable,
  nodeId: string,
  now: number,
): Promise<void> {
  await db.query(
    `UPDATE ferry.live_sessions SET connected = false, seen_at = to_timestamp($2 / 1000.0)
     WHERE node_id = $1 AND connected`,
    [nodeId, now],
  );
}

/** Deletes sessions not seen since `before` (ms): expired, or left behind by a dead node. */
export async function pruneSessions(db: Queryable, before: number): Promise<number> {
  const { rowCount } = await db.query(
    'DELETE FROM ferry.live_sessions WHERE seen_at < to_timestamp($1 / 1000.0)',
    [before],
  );
  return rowCount;
}

/** A session's conversation history, in order. */
export async function readHistory(db: Queryable, sessionId: string): Promise<HistoryRow[]> {
  const { rows } = await db.query<HistoryRow>(
    `SELECT seq, role, content, (extract(epoch FROM at) * 1000)::float8 AS at
     FROM ferry.live_history WHERE session_id = $1 ORDER BY seq`,
    [sessionId],
  );
  return rows;
}
