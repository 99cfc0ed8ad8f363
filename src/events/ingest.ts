/**
 * Event ingestion: accept (durably, before the 202), process in batches as jobs, and sweep up
 * anything accepted without a job. No HTTP here.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db/index.ts';
import { isStoreUnavailable } from '../errors/index.ts';
import { defineJob, type JobDefinition, type Jobs } from '../jobs/index.ts';
import type { Bus, FerryEvents } from '../live/bus.ts';
import { normalizedProperties, validationError } from './normalize.ts';
import { insertEvents, knownMessageIds, recordMessageIds, type NewEvent } from './store.ts';

/** What one submit produced, per input position. */
export interface Accepted {
  /** Event id for each input (the original one for a duplicate message_id). */
  ids: number[];
  /** The processing job's id (null when the events wait for the sweeper). */
  taskId: string | null;
  status: 'enqueued' | 'stored' | 'duplicate';
}

export interface EventsDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  now: () => Date;
  log: { warn(obj: object, msg: string): void };
  /** Attempts before a transient processing failure is recorded as final (jobs.retry_limit). */
  retryLimit: number;
}

class MessageIdRace extends Error {}

/** Events older than this while still `stored` are picked up by the sweeper. */
const sweepGraceSeconds = 5;
/** An `enqueued` event this old whose job is gone gets a new job (processing is idempotent). */
const staleJobSeconds = 20 * 60;
const sweepBatch = 500;

export function makeEvents(deps: EventsDeps) {
  const { db, bus, now, log } = deps;
  let jobs: Jobs | undefined;

  const processJob = defineJob<{ event_ids: number[] }>({
    name: 'events.process',
    async handler(job) {
      try {
        await processEvents(job.data.event_ids);
      } catch (error) {
        if (job.retryCount >= deps.retryLimit && !isStoreUnavailable(error)) {
          await recordFinalFailure(job.data.event_ids, error);
        }
        throw error;
      }
    },
  });

  const sweepJob = defineJob<object>({
    name: 'events.sweep',
    cron: '* * * * *',
    policy: { queuePolicy: 'exclusive', retryLimit: 0 },
    async handler() {
      return { enqueued: await sweep() };
    },
  });

  /** Processes a batch in one transaction; each event gets its own outcome. */
  async function processEvents(ids: readonly number[]): Promise<void> {
    const at = now();
    const outcomes = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{
        id: number;
        user_id: number | null;
        event_name: string | null;
        event_type: string | null;
        payload: unknown;
        user_properties: unknown;
      }>(
        `SELECT id::int AS id, user_id, event_name, event_type, payload, user_properties FROM ferry.events
         WHERE id = ANY($1::bigint[]) AND NOT processed AND processing_error IS NULL ORDER BY id FOR UPDATE`,
        [ids],
      );
      const done: { id: number; props: unknown }[] = [];
      const failed: { id: number; err: string }[] = [];
      for (const row of rows) {
        const problem = validationError(row);
        if (problem) failed.push({ id: row.id, err: problem });
        else
          done.push({
            id: row.id,
            props: normalizedProperties(row.payload as object, row.user_properties, at),
          });
      }
      await markProcessed(tx, done, at);
      await markFailed(tx, failed);
      return rows.map((r) => ({
        id: r.id,
        userId: r.user_id,
        error: failed.find((f) => f.id === r.id)?.err ?? null,
      }));
    });
    for (const o of outcomes)
      bus.emit('event:processed', {
        id: o.id,
        userId: o.userId,
        ok: o.error === null,
        error: o.error,
      });
  }

  async function recordFinalFailure(ids: readonly number[], error: unknown): Promise<void> {
    const message = `processing failed after ${deps.retryLimit + 1} attempts: ${(error as Error).message}`;
    await markFailed(
      db,
      ids.map((id) => ({ id, err: message })),
    ).catch((e: unknown) => {
      log.warn({ err: e }, 'could not record final event processing failure');
    });
  }

  /** Accepts events durably. With a job when possible, else `stored` for the sweeper. */
  async function submit(userId: number | null, inputs: readonly NewEvent[]): Promise<Accepted> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await accept(userId, inputs, jobs);
      } catch (error) {
        if (error instanceof MessageIdRace && attempt < 2) continue;
        if (isStoreUnavailable(error) || !jobs) throw error;
        // The store works but the queue refused: keep the events; the sweeper sends them.
        log.warn({ err: error }, 'events stored without a job; the sweeper will enqueue them');
        return accept(userId, inputs, undefined);
      }
    }
  }

  async function accept(
    userId: number | null,
    inputs: readonly NewEvent[],
    queue: Jobs | undefined,
  ): Promise<Accepted> {
    const userKey = userId ?? 0;
    const accepted = await db.transaction(async (tx) => {
      const known = await knownMessageIds(
        tx,
        userKey,
        inputs.flatMap((e) => (e.message_id ? [e.message_id] : [])),
      );
      // Positions to insert: not seen before, and not a repeat of an earlier item in this batch.
      const firstOf = new Map<string, number>();
      const fresh: number[] = [];
      inputs.forEach((e, i) => {
        if (e.message_id && (known.has(e.message_id) || firstOf.has(e.message_id))) return;
        if (e.message_id) firstOf.set(e.message_id, i);
        fresh.push(i);
      });
      if (fresh.length === 0) {
        const first = known.get(inputs[0]?.message_id ?? '');
        return {
          ids: inputs.map((e) => known.get(e.message_id ?? '')?.eventId ?? 0),
          taskId: first?.taskId ?? null,
          status: 'duplicate' as const,
        };
      }
      const taskId = queue ? randomUUID() : null;
      const newIds = await insertEvents(
        tx,
        fresh.map((i) => inputs[i] as NewEvent),
        queue ? 'enqueued' : 'stored',
        taskId,
      );
      const idAt = new Map(fresh.map((pos, k) => [pos, newIds[k] ?? 0]));
      const pairs = fresh.flatMap((pos) => {
        const messageId = inputs[pos]?.message_id;
        return messageId ? [{ messageId, eventId: idAt.get(pos) ?? 0 }] : [];
      });
      if ((await recordMessageIds(tx, userKey, pairs)).length > 0) throw new MessageIdRace();
      if (queue && taskId) await queue.send(processJob, { event_ids: newIds }, { id: taskId, tx });
      const ids = inputs.map(
        (e, i) =>
          idAt.get(i) ??
          known.get(e.message_id ?? '')?.eventId ??
          idAt.get(firstOf.get(e.message_id ?? '') ?? -1) ??
          0,
      );
      return { ids, taskId, status: queue ? ('enqueued' as const) : ('stored' as const) };
    });
    if (accepted.status !== 'duplicate')
      bus.emit('event:accepted', { ids: accepted.ids, userId, taskId: accepted.taskId });
    return accepted;
  }

  /** Gives a job to events accepted without one (or whose job vanished). Idempotent. */
  async function sweep(): Promise<number> {
    const queue = jobs;
    if (!queue) return 0;
    let total = 0;
    for (;;) {
      const moved = await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: number }>(
          `SELECT id::int AS id FROM ferry.events
           WHERE (status = 'stored' AND created_at < now() - make_interval(secs => $1))
              OR (status = 'enqueued' AND created_at < now() - make_interval(secs => $2))
           ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [sweepGraceSeconds, staleJobSeconds, sweepBatch],
        );
        if (rows.length === 0) return 0;
        const ids = rows.map((r) => r.id);
        const taskId = randomUUID();
        await tx.query(
          `UPDATE ferry.events SET status = 'enqueued', task_id = $2 WHERE id = ANY($1::bigint[])`,
          [ids, taskId],
        );
        await queue.send(processJob, { event_ids: ids }, { id: taskId, tx });
        return ids.length;
      });
      total += moved;
      if (moved < sweepBatch) return total;
    }
  }

  return {
    /** Job definitions to register; call `attach(jobs)` once the queue exists. */
    definitions: [processJob, sweepJob] as JobDefinition<never>[],
    attach(queue: Jobs) {
      jobs = queue;
    },
    submit,
    sweep,
    processEvents,
  };
}

export type Events = ReturnType<typeof makeEvents>;

async function markProcessed(
  tx: Queryable,
  done: readonly { id: number; props: unknown }[],
  at: Date,
): Promise<void> {
  if (done.length === 0) return;
  await tx.query(
    `UPDATE ferry.events e SET processed = true, processed_at = $2, status = 'processed', properties = u.props
     FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, props jsonb) WHERE e.id = u.id`,
    [JSON.stringify(done), at],
  );
}

async function markFailed(
  db: Queryable,
  failed: readonly { id: number; err: string }[],
): Promise<void> {
  if (failed.length === 0) return;
  await db.query(
    `UPDATE ferry.events e SET processing_error = u.err, status = 'failed'
     FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, err text) WHERE e.id = u.id AND NOT e.processed`,
    [JSON.stringify(failed)],
  );
}
