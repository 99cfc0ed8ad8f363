/**
 * The topic log (`ferry.live_messages`): every message the live channel carries, once, numbered
 * by an id that is also the offset clients acknowledge. One function per statement.
 */
import type { Queryable } from '../../db/index.ts';

/** One carried domain event, as stored and as fanned out. */
export interface LogMessage {
  readonly id: number;
  readonly topics: readonly string[];
  readonly event: string;
  /** The user the message belongs to (owner-checked topics); null: nobody's. */
  readonly ownerId: number | null;
  /** The domain event's payload as JSON text, sent to clients exactly as stored. */
  readonly data: string;
  /** Milliseconds since the epoch (the publishing node's clock). */
  readonly at: number;
}

export type NewMessage = Omit<LogMessage, 'id'>;

// Any constant works; it only has to be the same in every Ferry process.
const publishLockKey = 7_265_005;

/**
 * Held until the publishing transaction commits, so ids increase in commit order across nodes:
 * a listener that has seen id N has seen every committed id below N.
 */
export async function lockPublishing(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [publishLockKey]);
}

/** Takes `count` ids from the log's sequence, ascending. */
export async function nextMessageIds(tx: Queryable, count: number): Promise<number[]> {
  const { rows } = await tx.query<{ id: number }>(
    `SELECT nextval('ferry.live_messages_id_seq')::float8 AS id FROM generate_series(1, $1) ORDER BY 1`,
    [count],
  );
  return rows.map((r) => r.id);
}

/** Inserts messages whose ids were taken with nextMessageIds. */
export async function insertMessages(
  tx: Queryable,
  messages: readonly LogMessage[],
): Promise<void> {
  await tx.query(
    `INSERT INTO ferry.live_messages (id, topics, event, owner_id, data, created_at)
     SELECT id, ARRAY(SELECT jsonb_array_elements_text(topics::jsonb)), event, owner_id, data,
            to_timestamp(at / 1000.0)
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::float8[])
       AS m(id, topics, event, owner_id, data, at)`,
    [
      messages.map((m) => m.id),
      messages.map((m) => JSON.stringify(m.topics)),
      messages.map((m) => m.event),
      messages.map((m) => m.ownerId),
      messages.map((m) => m.data),
      messages.map((m) => m.at),
    ],
  );
}

/** Sends one NOTIFY per payload, in order; delivered when the transaction commits. */
export async function notifyEach(
  tx: Queryable,
  channel: string,
  payloads: string[],
): Promise<void> {
  await tx.query(
    'SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS x(p, n) ORDER BY n',
    [channel, payloads],
  );
}

const columns = `id::float8 AS id, topics, event, owner_id AS "ownerId", data,
  (extract(epoch FROM created_at) * 1000)::float8 AS at`;

/** Messages with `after < id <= upTo`, ascending (a listener filling a gap). */
export async function readMessageRange(
  db: Queryable,
  after: number,
  upTo: number,
): Promise<LogMessage[]> {
  const { rows } = await db.query<LogMessage>(
    `SELECT ${columns} FROM ferry.live_messages WHERE id > $1 AND id <= $2 ORDER BY id`,
    [after, upTo],
  );
  return rows;
}

/**
 * Candidates for a replay: messages with `after < id <= upTo` on any of `topics` or on a topic
 * starting with one of `prefixes` (`transfer:` for a `transfer:*` subscription), ascending.
 */
export async function readReplayCandidates(
  db: Queryable,
  range: { after: number; upTo: number },
  topics: readonly string[],
  prefixes: readonly string[],
): Promise<LogMessage[]> {
  const { rows } = await db.query<LogMessage>(
    `SELECT ${columns} FROM ferry.live_messages
     WHERE id > $1 AND id <= $2
       AND (topics && $3::text[]
            OR EXISTS (SELECT 1 FROM unnest(topics) t, unnest($4::text[]) p
                       WHERE starts_with(t, p)))
     ORDER BY id`,
    [range.after, range.upTo, topics, prefixes],
  );
  return rows;
}

/** The highest id in the log (0 when empty): where a new listener starts. */
export async function lastMessageId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT coalesce(max(id), 0)::float8 AS id FROM ferry.live_messages`,
  );
  return rows[0]?.id ?? 0;
}

/** Deletes messages older than `before` (ms); no session can still need them. */
export async function pruneMessages(db: Queryable, before: number): Promise<number> {
  const { rowCount } = await db.query(
    'DELETE FROM ferry.live_messages WHERE created_at < to_timestamp($1 / 1000.0)',
    [before],
  );
  return rowCount;
}
