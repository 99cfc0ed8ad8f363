/** The events tables: one function per operation. */
import type { Queryable } from '../db/index.ts';

/** The fields an event has both as submitted and as stored. */
interface EventFields {
  user_id: number | null;
  event_name: string;
  event_type: string;
  source: string | null;
  session_id: string | null;
  payload: unknown;
  ip_address: string | null;
  user_agent: string | null;
}

/** One event as submitted (after schema validation and defaults). */
export interface NewEvent extends EventFields {
  user_properties: unknown;
  event_timestamp: string | null;
  message_id: string | null;
}

/** A stored event as the API shows it. */
export interface EventRow extends EventFields {
  id: number;
  properties: unknown;
  event_timestamp: Date;
  created_at: Date;
  processed: boolean;
  processed_at: Date | null;
  processing_error: string | null;
}

const columns = `id::int AS id, user_id, event_name, event_type, source, session_id, payload, properties,
  ip_address, user_agent, event_timestamp, created_at, processed, processed_at, processing_error`;

/** Inserts events (status `enqueued`) in one statement; returns their ids in input order. */
export async function insertEvents(
  tx: Queryable,
  events: readonly NewEvent[],
  taskId: string,
): Promise<number[]> {
  return insertEventsOfSubmits(
    tx,
    events.map((event) => ({ event, taskId })),
  );
}

/**
 * Inserts the events of several submits (each its own `task_id`) in one statement, as group
 * commit does; returns their ids in input order.
 */
export async function insertEventsOfSubmits(
  tx: Queryable,
  items: readonly { event: NewEvent; taskId: string }[],
): Promise<number[]> {
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO ferry.events (user_id, event_name, event_type, source, session_id, payload, user_properties,
       ip_address, user_agent, event_timestamp, message_id, task_id)
     SELECT (e->>'user_id')::int, e->>'event_name', e->>'event_type', e->>'source', e->>'session_id',
       COALESCE(e->'payload', '{}'::jsonb), e->'user_properties', e->>'ip_address', e->>'user_agent',
       COALESCE((e->>'event_timestamp')::timestamptz, now()), e->>'message_id', (e->>'task_id')::uuid
     FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, ord) ORDER BY ord
     RETURNING id::int AS id`,
    [JSON.stringify(items.map((i) => ({ ...i.event, task_id: i.taskId })))],
  );
  // Ids come from one sequence in insertion order, so ascending = input order.
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

/** Live (under 24 h) message ids of a user, with the event each one first produced. */
export async function knownMessageIds(
  tx: Queryable,
  userKey: number,
  messageIds: readonly string[],
): Promise<Map<string, { eventId: number; taskId: string | null }>> {
  if (messageIds.length === 0) return new Map();
  const { rows } = await tx.query<{ message_id: string; event_id: number; task_id: string | null }>(
    `SELECT m.message_id, m.event_id::int AS event_id, e.task_id
     FROM ferry.event_message_ids m LEFT JOIN ferry.events e ON e.id = m.event_id
     WHERE m.user_key = $1 AND m.message_id = ANY($2::text[]) AND m.expires_at > now()`,
    [userKey, messageIds],
  );
  return new Map(rows.map((r) => [r.message_id, { eventId: r.event_id, taskId: r.task_id }]));
}

/**
 * Records message ids for 24 h. Returns the ids that lost a race to a concurrent submit (a live
 * row already there): the caller rolls back and answers with the winner's event.
 */
export async function recordMessageIds(
  tx: Queryable,
  userKey: number,
  pairs: readonly { messageId: string; eventId: number }[],
): Promise<string[]> {
  if (pairs.length === 0) return [];
  const { rows } = await tx.query<{ message_id: string }>(
    `INSERT INTO ferry.event_message_ids AS m (user_key, message_id, event_id, expires_at)
     SELECT $1, unnest($2::text[]), unnest($3::bigint[]), now() + interval '24 hours'
     ON CONFLICT (user_key, message_id) DO UPDATE
       SET event_id = EXCLUDED.event_id, expires_at = EXCLUDED.expires_at
       WHERE m.expires_at <= now()
     RETURNING message_id`,
    [userKey, pairs.map((p) => p.messageId), pairs.map((p) => p.eventId)],
  );
  const recorded = new Set(rows.map((r) => r.message_id));
  return pairs.map((p) => p.messageId).filter((id) => !recorded.has(id));
}

export async function getEvent(db: Queryable, id: number): Promise<EventRow | undefined> {
  const { rows } = await db.query<EventRow>(`SELECT ${columns} FROM ferry.events WHERE id = $1`, [
    id,
  ]);
  return rows[0];
}

/** Filters for listing a user's events. */
export interface EventFilter {
  userId: number | null;
  eventType?: string | undefined;
  processed?: boolean | undefined;
  limit: number;
  offset: number;
}

export async function listEvents(
  db: Queryable,
  filter: EventFilter,
): Promise<{ total: number; items: EventRow[] }> {
  const where = `user_id IS NOT DISTINCT FROM $1 AND ($2::text IS NULL OR event_type = $2)
    AND ($3::boolean IS NULL OR processed = $3)`;
  const params = [filter.userId, filter.eventType ?? null, filter.processed ?? null];
  const [count, page] = await Promise.all([
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ferry.events WHERE ${where}`, params),
    db.query<EventRow>(
      `SELECT ${columns} FROM ferry.events WHERE ${where} ORDER BY id DESC LIMIT $4 OFFSET $5`,
      [...params, filter.limit, filter.offset],
    ),
  ]);
  return { total: count.rows[0]?.n ?? 0, items: page.rows };
}

export async function countEvents(
  db: Queryable,
  userId: number | null,
): Promise<{ unprocessed: number; total: number }> {
  const { rows } = await db.query<{ unprocessed: number; total: number }>(
    `SELECT count(*) FILTER (WHERE NOT processed)::int AS unprocessed, count(*)::int AS total
     FROM ferry.events WHERE user_id IS NOT DISTINCT FROM $1`,
    [userId],
  );
  return { unprocessed: rows[0]?.unprocessed ?? 0, total: rows[0]?.total ?? 0 };
}
