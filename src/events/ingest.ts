/**
 * Event ingestion: accept durably before the 202, then process in batches. Accepted events are
 * `enqueued` rows; a drain job (at most one waiting, pg-boss `short`) takes them in batches of
 * `drainBatch` with SKIP LOCKED, so a burst of single submits is processed a batch at a time.
 * While a drain runs on this node, events committed here are handed to it directly (it takes
 * another round) instead of through a new job. No HTTP here.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db/index.ts';
import { isStoreUnavailable } from '../errors/index.ts';
import { defineJob, type JobContext, type JobDefinition, type Jobs } from '../jobs/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { makeGroupCommit } from './group-commit.ts';
import { normalizedProperties, validationError } from './normalize.ts';
import {
  insertEvents,
  insertEventsOfSubmits,
  knownMessageIds,
  recordMessageIds,
  type NewEvent,
} from './store.ts';

/** What one submit produced, per input position. */
export interface Accepted {
  /** Event id for each input (the original one for a repeated message_id). */
  ids: number[];
  /** Identifies this submit's events (`task_id` in the API); null for pure duplicates. */
  taskId: string | null;
  /** `stored`: committed, but the drain job could not be woken; the sweeper will wake it. */
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

/** Events processed per transaction. */
const drainBatch = 500;
/**
 * How long one drain job keeps taking rounds for events committed on this node before it hands
 * over to a fresh job (so a job under steady load still ends well within its expiry).
 */
const drainTurnMs = 10_000;
/**
 * How long a drain that found nothing waits for the next submit on this node to commit before
 * it ends (it resumes at that commit, not at the end of this wait).
 */
const drainLingerMs = 100;
const drainKey = 'events';
/** How long a wake-up this node sent is trusted to be still waiting. */
const wakeReuseMs = 500;
/** Single submits committed together at most (one INSERT of this many rows). */
const groupMax = 1000;

export function makeEvents(deps: EventsDeps) {
  const { db, bus, now, log } = deps;
  let jobs: Jobs | undefined;
  let wokenUntil = 0;
  // The drain running on this node (at most one: its worker takes one job at a time), the
  // commits made here (a commit it will still see needs no wake-up), and the accepting
  // transactions under way here, with who waits for the next of them to settle.
  const local = { draining: false, commits: 0, accepting: 0, settled: [] as (() => void)[] };
  // Concurrent single submits without a message id share one transaction: see acceptSingles.
  const singles = makeGroupCommit(acceptSingles, groupMax);

  const drainJob = defineJob<object>({
    name: 'events.process',
    // `short`: at most one drain job waits; a running one never blocks the next (a job left
    // `active` by a lost connection would otherwise hold every event until its heartbeat lapsed).
    policy: { queuePolicy: 'short', batchSize: 1 },
    handler: (job) => {
      wokenUntil = 0; // started: events committed from now on need a new wake-up
      return drain(job);
    },
  });

  const sweepJob = defineJob<object>({
    name: 'events.sweep',
    cron: '* * * * *',
    policy: { queuePolicy: 'exclusive', retryLimit: 0 },
    async handler() {
      return { woke: await sweep() };
    },
  });

  /** Wakes the drain job (a no-op when one is already waiting). */
  async function wake(queue: Jobs): Promise<void> {
    // A drain job this node woke and that has not started yet will see these events too: no
    // need to send again. Bounded in time, because that job may start on another node.
    if (Date.now() < wokenUntil) return;
    // Marked before sending: the drain may start (and clear the mark) before send() returns, and
    // a mark set after that would hide the next events from a drain that already looked.
    wokenUntil = Date.now() + wakeReuseMs;
    try {
      await queue.send(drainJob, {}, { singletonKey: drainKey });
    } catch (error) {
      wokenUntil = 0;
      throw error;
    }
  }

  /**
   * Processes every enqueued event, a batch per transaction. Goes on at once while a round was
   * full or events were committed on this node during it; otherwise takes another round as soon
   * as the next submit here commits, if one does within drainLingerMs (so under steady load the
   * drain keeps pace without a job per round). Ends once nothing was committed here for that
   * long. A commit on another node sends its own wake-up.
   */
  async function drain(job: JobContext<object>): Promise<{ processed: number }> {
    const ends = Date.now() + drainTurnMs;
    const commitsAtStart = local.commits;
    let processed = 0;
    local.draining = true;
    try {
      for (;;) {
        const commitsBefore = local.commits;
        const round = await drainRound(job);
        processed += round.taken;
        if (round.gaveUp) return { processed };
        if (round.taken < drainBatch && local.commits === commitsBefore) {
          // Nothing new yet: wait for the next submit here to settle (on PGlite one may be
          // waiting for this round's transaction), for at most drainLingerMs if none is under
          // way, and take its events in another round rather than through a new job.
          await nextSettle(local.accepting > 0 ? undefined : drainLingerMs);
          if (local.commits === commitsBefore && local.accepting === 0) {
            // In the same turn as the check: a commit after this line sees `draining` false
            // and sends its own wake-up.
            local.draining = false;
            return { processed };
          }
        }
        if (Date.now() >= ends || job.signal.aborted) break;
      }
    } catch (error) {
      // Commits handed to this drain would otherwise wait for its retry, or for the sweeper if
      // it has none left.
      local.draining = false;
      if (local.commits !== commitsAtStart) await sendWake();
      throw error;
    } finally {
      local.draining = false;
    }
    // Events remain (or may): a fresh job takes them, on whichever node fetches it first.
    await sendWake();
    return { processed };
  }

  /**
   * One round of the drain. A failure is rethrown for pg-boss to retry, except on the last
   * attempt: then the batch it could not process is recorded as failed, and a fresh drain job
   * is woken for the rest (`gaveUp`).
   */
  async function drainRound(job: JobContext<object>): Promise<{ taken: number; gaveUp: boolean }> {
    let batch: number[] = [];
    try {
      batch = await processBatch((ids) => (batch = ids));
      return { taken: batch.length, gaveUp: false };
    } catch (error) {
      if (job.retryCount < deps.retryLimit || isStoreUnavailable(error) || batch.length === 0)
        throw error;
      const message = `processing failed after ${deps.retryLimit + 1} attempts: ${(error as Error).message}`;
      await markFailed(
        db,
        batch.map((id) => ({ id, err: message })),
      );
      for (const id of batch)
        bus.emit('event:processed', { id, userId: null, ok: false, error: message });
      // The rest have not had their attempts yet: a fresh drain job takes them.
      if (jobs) await wake(jobs);
      return { taken: 0, gaveUp: true };
    }
  }

  /** One batch in one transaction; each event gets its own outcome. Returns the ids taken. */
  async function processBatch(taken: (ids: number[]) => void): Promise<number[]> {
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
         WHERE status = 'enqueued' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [drainBatch],
      );
      taken(rows.map((r) => r.id));
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
      const errors = new Map(failed.map((f) => [f.id, f.err]));
      return rows.map((r) => ({ id: r.id, userId: r.user_id, error: errors.get(r.id) ?? null }));
    });
    for (const o of outcomes)
      bus.emit('event:processed', {
        id: o.id,
        userId: o.userId,
        ok: o.error === null,
        error: o.error,
      });
    return outcomes.map((o) => o.id);
  }

  /**
   * Accepts events durably (committed before this returns), then wakes the drain job. The wake
   * is sent after the commit, not inside it: every submit's transaction would otherwise wait on
   * the others' uncommitted wake-up row (one waiting job per queue), serializing all submits.
   * A wake that fails leaves the events `enqueued`; the sweeper wakes the drain within a minute.
   */
  async function submit(userId: number | null, inputs: readonly NewEvent[]): Promise<Accepted> {
    const [only] = inputs;
    if (inputs.length === 1 && only && !only.message_id) {
      // Group-committed: the wake-up was sent (or its failure recorded) by the group's flush.
      return singles.add({ userId, event: only });
    }
    let accepted: Accepted | undefined;
    for (let attempt = 0; !accepted; attempt++) {
      try {
        accepted = await accepting(() => accept(userId, inputs));
      } catch (error) {
        if (!(error instanceof MessageIdRace) || attempt >= 2) throw error;
      }
    }
    if (accepted.status === 'duplicate') return accepted;
    return (await wakeAfterCommit()) ? accepted : { ...accepted, status: 'stored' };
  }

  /**
   * Wakes the drain after events were committed; false when it could not (the sweeper will).
   * A drain running on this node needs none: it counted the commit (see `accepting`) and takes
   * another round for it.
   */
  async function wakeAfterCommit(): Promise<boolean> {
    if (local.draining) return true;
    return sendWake();
  }

  /** Resolves when the next accepting transaction here settles, or after `ms` when given. */
  function nextSettle(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        local.settled = local.settled.filter((r) => r !== done);
        resolve();
      }
      local.settled.push(done);
    });
  }

  /** Runs an accepting transaction: counted while under way, and its commit (see `drain`). */
  async function accepting<T>(fn: () => Promise<T>): Promise<T> {
    local.accepting += 1;
    try {
      const result = await fn();
      local.commits += 1; // before the drain below resumes: it takes another round for it
      return result;
    } finally {
      local.accepting -= 1;
      for (const resolve of local.settled.splice(0)) resolve();
    }
  }

  /** Sends a drain wake-up; false when it could not (the sweeper will). */
  async function sendWake(): Promise<boolean> {
    if (!jobs) return false;
    try {
      await wake(jobs);
      return true;
    } catch (error) {
      log.warn({ err: error }, 'events stored but the drain job was not woken; the sweeper will');
      return false;
    }
  }

  /**
   * Group commit of single submits: one INSERT and one commit for all of them, then one wake-up
   * and one live message per user (not one per submit). Each keeps its own task id.
   */
  async function acceptSingles(
    items: readonly { userId: number | null; event: NewEvent }[],
  ): Promise<Accepted[]> {
    const rows = items.map((i) => ({ event: i.event, taskId: randomUUID() }));
    const ids = await accepting(() => db.transaction((tx) => insertEventsOfSubmits(tx, rows)));
    const byUser = new Map<number | null, number[]>();
    items.forEach((item, k) => {
      const list = byUser.get(item.userId) ?? [];
      list.push(ids[k] ?? 0);
      byUser.set(item.userId, list);
    });
    for (const [userId, userIds] of byUser) {
      const taskId =
        userIds.length === 1 ? (rows[ids.indexOf(userIds[0] ?? 0)]?.taskId ?? null) : null;
      bus.emit('event:accepted', { ids: userIds, userId, taskId });
    }
    const status = (await wakeAfterCommit()) ? 'enqueued' : 'stored';
    return rows.map((r, k) => ({ ids: [ids[k] ?? 0], taskId: r.taskId, status }));
  }

  async function accept(userId: number | null, inputs: readonly NewEvent[]): Promise<Accepted> {
    const userKey = userId ?? 0;
    const accepted = await db.transaction(async (tx) => {
      const known = await knownMessageIds(
        tx,
        userKey,
        inputs.flatMap((e) => (e.message_id ? [e.message_id] : [])),
      );
      // Positions to insert: not seen before, and not a repeat of an earlier item of this batch.
      const firstOf = new Map<string, number>();
      const fresh: number[] = [];
      inputs.forEach((e, i) => {
        if (e.message_id && (known.has(e.message_id) || firstOf.has(e.message_id))) return;
        if (e.message_id) firstOf.set(e.message_id, i);
        fresh.push(i);
      });
      const idOf = (e: NewEvent, i: number, inserted: Map<number, number>): number =>
        inserted.get(i) ??
        known.get(e.message_id ?? '')?.eventId ??
        inserted.get(firstOf.get(e.message_id ?? '') ?? -1) ??
        0;
      if (fresh.length === 0) {
        const original = known.get(inputs[0]?.message_id ?? '');
        return {
          ids: inputs.map((e, i) => idOf(e, i, new Map())),
          taskId: original?.taskId ?? null,
          status: 'duplicate' as const,
        };
      }
      const taskId = randomUUID();
      const newIds = await insertEvents(
        tx,
        fresh.map((i) => inputs[i] as NewEvent),
        taskId,
      );
      const inserted = new Map(fresh.map((pos, k) => [pos, newIds[k] ?? 0]));
      const pairs = fresh.flatMap((pos) => {
        const messageId = inputs[pos]?.message_id;
        return messageId ? [{ messageId, eventId: inserted.get(pos) ?? 0 }] : [];
      });
      if ((await recordMessageIds(tx, userKey, pairs)).length > 0) throw new MessageIdRace();
      return {
        ids: inputs.map((e, i) => idOf(e, i, inserted)),
        taskId,
        status: 'enqueued' as const,
      };
    });
    if (accepted.status !== 'duplicate')
      bus.emit('event:accepted', { ids: accepted.ids, userId, taskId: accepted.taskId });
    return accepted;
  }

  /** Wakes the drain when any event waits (one whose wake-up failed, say). Returns whether it did. */
  async function sweep(): Promise<boolean> {
    if (!jobs) return false;
    const waiting = await db.query(`SELECT 1 FROM ferry.events WHERE status = 'enqueued' LIMIT 1`);
    if (waiting.rows.length === 0) return false;
    await wake(jobs);
    return true;
  }

  return {
    /** Job definitions to register; call `attach(jobs)` once the queue exists. */
    definitions: [drainJob, sweepJob] as JobDefinition<never>[],
    attach(queue: Jobs) {
      jobs = queue;
    },
    submit,
    sweep,
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
