/**
 * The feed: every node's ordered view of the topic log, from LISTEN on the live channel. Small
 * messages arrive whole in the notification; large ones (PostgreSQL caps a NOTIFY at 8000 bytes)
 * arrive as an id and are read from the log. Ids increase in commit order (the publish lock),
 * so a jump in ids means notifications were missed (the listener reconnected): the gap is read
 * from the log before going on, and every message is delivered once, in order.
 */
import type { Db, Unlisten } from '../db/index.ts';
import { lastMessageId, readMessageRange, type LogMessage } from './sql/messages.ts';

/** The channel every node listens on. */
export const liveChannel = 'ferry_live';

/** A note that a node took a session over: whoever else holds it lets go. */
export interface ClaimNote {
  k: 'claim';
  session: string;
  node: string;
  epoch: number;
}

/** The note for one message: whole, or only its id when too large for a NOTIFY. */
export type MessageNote = { k: 'm'; id: number } & Partial<Omit<LogMessage, 'id'>>;

export interface FeedDeps {
  db: Db;
  onMessage(message: LogMessage): void;
  onClaim(note: ClaimNote): void;
  log: { warn(obj: object, msg: string): void };
}

export interface Feed {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Id of the last message delivered: a subscription made now sees only later ones. */
  position(): number;
  /** Reads anything committed but not yet delivered (a missed final notification). */
  catchUp(): Promise<void>;
}

/** Makes the feed; it delivers nothing until start(). */
export function makeFeed(deps: FeedDeps): Feed {
  let position = 0;
  let chain: Promise<void> = Promise.resolve();
  let unlisten: Unlisten | undefined;
  let stopped = false;

  function deliver(message: LogMessage): void {
    if (message.id <= position) return;
    position = message.id;
    deps.onMessage(message);
  }

  async function handle(note: MessageNote): Promise<void> {
    if (stopped || note.id <= position) return;
    const whole = note.topics !== undefined && note.data !== undefined;
    // Whole and next in line: the common case needs no read.
    const upTo = whole ? note.id - 1 : note.id;
    if (upTo > position) {
      for (const m of await readMessageRange(deps.db, position, upTo)) deliver(m);
    }
    if (whole) {
      deliver({
        id: note.id,
        topics: note.topics ?? [],
        event: note.event ?? '',
        ownerId: note.ownerId ?? null,
        data: note.data ?? 'null',
        at: note.at ?? 0,
      });
    }
  }

  function enqueue(work: () => Promise<void>): Promise<void> {
    chain = chain.then(work).catch((error: unknown) => {
      deps.log.warn({ err: error }, 'live feed could not read the topic log');
    });
    return chain;
  }

  function onPayload(payload: string): void {
    let note: MessageNote | ClaimNote;
    try {
      note = JSON.parse(payload) as MessageNote | ClaimNote;
    } catch {
      return;
    }
    if (note.k === 'claim') deps.onClaim(note);
    else void enqueue(() => handle(note));
  }

  return {
    async start() {
      // Listen first, then read where the log ends: nothing committed in between is missed.
      unlisten = await deps.db.listen(liveChannel, onPayload);
      const last = await lastMessageId(deps.db);
      position = Math.max(position, last);
    },
    async stop() {
      stopped = true;
      await unlisten?.();
      await chain;
    },
    position: () => position,
    catchUp() {
      return enqueue(async () => {
        if (stopped) return;
        const latest = await lastMessageId(deps.db);
        if (latest > position) {
          for (const m of await readMessageRange(deps.db, position, latest)) deliver(m);
        }
      });
    },
  };
}
