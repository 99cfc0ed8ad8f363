/**
 * Runs the watch profiles this node owns. Every node looks for active profiles; the one that
 * acquires a profile's lease scans it (invariant 6). A status change anywhere is announced on
 * `ferry_watch`, so pause, resume and new profiles take effect at once on every node.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Db, Unlisten } from '../db/index.ts';
import { acquireLease, releaseLease } from '../db/leases.ts';
import { activeWatchIds } from './records.ts';
import { startWatchLoop, type WatchLoop, type WatchLoopDeps } from './watch-loop.ts';

export const watchChannel = 'ferry_watch';

export interface WatchSupervisor {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Tells every node that profile `id` changed (created, paused, resumed, deleted). */
  announce(id: number): Promise<void>;
  /**
   * Resolves true once no node scans profile `id` (its loop ended and released the lease), or
   * false after `waitMs`: a delete waits for files in flight to be finished and recorded.
   */
  released(id: number, waitMs: number): Promise<boolean>;
  /** Profiles this node scans now. */
  readonly owned: readonly number[];
}

export interface SupervisorDeps extends WatchLoopDeps {
  db: Db;
  nodeId: string;
  /** How often to look for unowned active profiles (a dead node's lease expiring, say). */
  discoverEveryMs: number;
  /** On stop, how long files in flight may run before they are aborted (to resume later). */
  shutdownGraceMs: number;
}

export function makeWatchSupervisor(deps: SupervisorDeps): WatchSupervisor {
  const loops = new Map<number, WatchLoop>();
  let stopDiscovering: (() => void) | undefined;
  let unlisten: Unlisten | undefined;
  let stopped = false;
  let discovering: Promise<void> | undefined;
  let again = false;

  async function take(id: number): Promise<void> {
    const name = `watch:${id}`;
    const lease = await acquireLease(deps.db, name, deps.nodeId, deps.leaseTtlMs);
    if (!lease || stopped) return;
    const loop = startWatchLoop(deps, id, lease);
    loops.set(id, loop);
    void loop.done.then(async () => {
      // Released before forgetting the loop: a discovery in between would re-take the lease
      // (same holder, same token) and this release would then expire the new loop's lease.
      await releaseLease(deps.db, lease).catch(() => undefined);
      loops.delete(id);
      // The profile may have been resumed while this loop was ending.
      if (!stopped) discover();
    });
  }

  async function discoverOnce(): Promise<void> {
    const ids = await activeWatchIds(deps.db);
    for (const id of ids) {
      const running = loops.get(id);
      if (running) running.poke();
      else await take(id);
    }
  }

  /** Coalesces discovery requests: one runs at a time, and one more follows if asked meanwhile. */
  function discover(): void {
    if (stopped) return;
    if (discovering) {
      again = true;
      return;
    }
    discovering = discoverOnce()
      .catch((error: unknown) => {
        deps.logError(error, 'watch discovery failed');
      })
      .finally(() => {
        discovering = undefined;
        if (again) {
          again = false;
          discover();
        }
      });
  }

  return {
    async start() {
      unlisten = await deps.db.listen(watchChannel, (payload) => {
        const id = Number(payload);
        const loop = loops.get(id);
        if (loop) loop.poke();
        else discover();
      });
      stopDiscovering = deps.clock.every(deps.discoverEveryMs, discover);
      discover();
      await discovering;
    },
    async stop() {
      stopped = true;
      stopDiscovering?.();
      await unlisten?.();
      await discovering;
      await Promise.all([...loops.values()].map((loop) => loop.stop(deps.shutdownGraceMs)));
    },
    async released(id, waitMs) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const local = loops.get(id);
        if (local) {
          const ended = await Promise.race([
            local.done.then(() => true),
            delay(Math.max(0, deadline - Date.now())).then(() => false),
          ]);
          if (!ended) return false;
        }
        // Another node's loop, or this one's release still in progress: ask the store.
        const { rows } = await deps.db.query<{ held: boolean }>(
          `SELECT expires_at > now() AS held FROM ferry.leases WHERE name = $1`,
          [`watch:${id}`],
        );
        if (!rows[0]?.held) return true;
        if (Date.now() >= deadline) return false;
        await delay(100);
      }
    },
    async announce(id) {
      await deps.db.notify(watchChannel, String(id));
    },
    get owned() {
      return [...loops.keys()];
    },
  };
}
