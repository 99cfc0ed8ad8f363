/**
 * Housekeeping on one node, driven by the hub's tick and the hub's clock: drop detached sessions
 * from memory after the memory window (the store still has them), refresh `seen_at` of attached
 * sessions, read anything the feed missed, and prune expired sessions and old log rows.
 */
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import type { Feed } from './feed.ts';
import type { LiveSession } from './session.ts';
import { pruneMessages } from './sql/messages.ts';
import { pruneSessions, touchNodeSessions } from './sql/sessions.ts';

/** How often the memory tier and seen_at are looked after. */
export const sweepIntervalMs = 5_000;
const pruneIntervalMs = 60_000;

export interface SweeperDeps {
  db: Db;
  nodeId: string;
  now: () => number;
  config: Config['live'];
  feed: Feed;
  log: { warn(obj: object, msg: string): void };
  held(): Iterable<LiveSession>;
  release(session: LiveSession): void;
}

export interface Sweeper {
  /** Sweeps when the interval has passed and no sweep is running. */
  maybeSweep(at: number): void;
  stop(): Promise<void>;
}

export function makeSweeper(deps: SweeperDeps): Sweeper {
  const { db, config } = deps;
  let lastSweep = deps.now();
  let lastPrune = deps.now();
  let running: Promise<void> | undefined;

  /** Memory only: the store row stays until session_ttl_seconds. */
  function evictDetached(at: number): void {
    const windowMs = config.memory_window_seconds * 1000;
    for (const session of [...deps.held()]) {
      if (!session.link && !session.restoring && session.detachedAt !== undefined) {
        if (at - session.detachedAt > windowMs) deps.release(session);
      }
    }
  }

  async function sweep(at: number): Promise<void> {
    evictDetached(at);
    await touchNodeSessions(db, deps.nodeId, at);
    await deps.feed.catchUp();
    if (at - lastPrune >= pruneIntervalMs) {
      lastPrune = at;
      const ttlMs = config.session_ttl_seconds * 1000;
      await pruneSessions(db, at - ttlMs);
      // Kept twice as long as a session: a resume may replay messages sent before its disconnect.
      await pruneMessages(db, at - 2 * ttlMs);
    }
  }

  return {
    maybeSweep(at) {
      if (running || at - lastSweep < sweepIntervalMs) return;
      lastSweep = at;
      running = sweep(at)
        .catch((error: unknown) => {
          deps.log.warn({ err: error }, 'live: sweep failed');
        })
        .finally(() => {
          running = undefined;
        });
    },
    async stop() {
      await running;
    },
  };
}
