/**
 * The publisher: turns carried domain events (the `eventTopics` table) into topic-log rows and
 * NOTIFYs, on every node and every role, so a client on any node sees what happened on any
 * other. Events are batched: while one transaction is writing, the next batch gathers.
 */
import type { Db } from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { liveChannel, type MessageNote } from './feed.ts';
import {
  insertMessages,
  lockPublishing,
  nextMessageIds,
  notifyEach,
  type LogMessage,
  type NewMessage,
} from './sql/messages.ts';
import { carriedEvents, routeEvent } from './topics.ts';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; stay clear of it. */
const notifyLimitBytes = 7900;
const batchLimit = 500;

export interface PublisherDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  now: () => number;
  log: { warn(obj: object, msg: string): void };
}

export interface Publisher {
  start(): void;
  /** Stops listening to the bus and waits for what was already taken to be written. */
  stop(): Promise<void>;
  /** Resolves once everything emitted so far is written (or given up). */
  flushed(): Promise<void>;
}

/** The NOTIFY payload for a message: whole when it fits, else its id only. */
export function noteFor(message: LogMessage): string {
  const whole =
    `{"k":"m","id":${message.id},"topics":${JSON.stringify(message.topics)},` +
    `"event":${JSON.stringify(message.event)},"ownerId":${JSON.stringify(message.ownerId)},` +
    `"at":${message.at},"data":${JSON.stringify(message.data)}}`;
  if (Buffer.byteLength(whole) < notifyLimitBytes) return whole;
  const ref: MessageNote = { k: 'm', id: message.id };
  return JSON.stringify(ref);
}

export function makePublisher(deps: PublisherDeps): Publisher {
  let pending: NewMessage[] = [];
  let writing: Promise<void> | undefined;
  const offs: (() => void)[] = [];

  function take<K extends keyof FerryEvents>(name: K, payload: FerryEvents[K]): void {
    const routed = routeEvent(name, payload);
    if (!routed) return;
    let data: string;
    try {
      data = JSON.stringify(payload);
    } catch (error) {
      deps.log.warn({ err: error, event: name }, 'live: event payload is not JSON; not published');
      return;
    }
    pending.push({
      topics: routed.topics,
      event: name,
      ownerId: routed.ownerId,
      data,
      at: deps.now(),
    });
    schedule();
  }

  function schedule(): void {
    if (writing) return;
    writing = drain().finally(() => {
      writing = undefined;
      // Taken after the loop's last look but before this ran: write it too.
      if (pending.length > 0) schedule();
    });
  }

  async function drain(): Promise<void> {
    // Let the emitting code finish its synchronous burst first: one transaction for all of it.
    await new Promise((resolve) => setImmediate(resolve));
    while (pending.length > 0) {
      const batch = pending.slice(0, batchLimit);
      pending = pending.slice(batchLimit);
      try {
        await write(batch);
      } catch (error) {
        // Live messages are notices, not records: the domain data is in its own tables.
        deps.log.warn(
          { err: error, dropped: batch.length },
          'live: could not publish; clients miss these messages',
        );
      }
    }
  }

  async function write(batch: NewMessage[]): Promise<void> {
    await deps.db.transaction(async (tx) => {
      await lockPublishing(tx);
      const ids = await nextMessageIds(tx, batch.length);
      const messages = batch.map((m, i) => ({ ...m, id: ids[i] ?? 0 }));
      await insertMessages(tx, messages);
      await notifyEach(tx, liveChannel, messages.map(noteFor));
    });
  }

  return {
    start() {
      for (const name of carriedEvents()) {
        offs.push(
          deps.bus.on(name, (payload) => {
            take(name, payload);
          }),
        );
      }
    },
    async stop() {
      for (const off of offs.splice(0)) off();
      await writing;
    },
    async flushed() {
      while (writing) await writing;
    },
  };
}
