/**
 * Batch status pushes: the status changes of many jobs in one live message on the `jobs` topic.
 * Every `job:status` this node emits is gathered for `windowMs`, per owner (a message is seen by
 * its owner and admins), keeping the latest status of each job and zone, and goes out as one
 * `job:status-batch` of at most `maxItems` changes; a full batch goes out at once. The single
 * `job:status` still reaches the job's own topic `jobs:{id}`.
 */
import type { Bus, FerryEvents } from '../bus/bus.ts';

export type StatusChange = FerryEvents['job:status'];

/** Most status changes in one batch message. */
export const maxBatchItems = 1000;
/** How long status changes gather before their batch goes out. */
export const statusBatchMs = 100;

export function makeStatusBatcher(
  bus: Bus<FerryEvents>,
  windowMs = statusBatchMs,
  maxItems = maxBatchItems,
) {
  /** Per owner (null: nobody's), the latest change per `jobId/zone`, in arrival order. */
  const pending = new Map<number | null, Map<string, StatusChange>>();
  let timer: NodeJS.Timeout | undefined;
  let off: (() => void) | undefined;

  function send(ownerId: number | null, changes: Map<string, StatusChange>): void {
    const items = [...changes.values()].map((c) => ({
      jobId: c.jobId,
      zone: c.zone,
      status: c.status,
      fenceToken: c.fenceToken,
    }));
    bus.emit('job:status-batch', { ownerId, count: items.length, items });
  }

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    const all = [...pending];
    pending.clear();
    for (const [ownerId, changes] of all) send(ownerId, changes);
  }

  function add(change: StatusChange): void {
    const changes = pending.get(change.ownerId) ?? new Map<string, StatusChange>();
    pending.set(change.ownerId, changes);
    const key = `${change.jobId}/${change.zone ?? ''}`;
    // The latest status of a job or zone wins, at the place of its latest change.
    changes.delete(key);
    changes.set(key, change);
    if (changes.size >= maxItems) {
      pending.delete(change.ownerId);
      send(change.ownerId, changes);
      return;
    }
    timer ??= setTimeout(flush, windowMs);
    timer.unref();
  }

  return {
    start(): void {
      off ??= bus.on('job:status', add);
    },
    /** Sends what gathered; called on stop so no status change is held back. */
    flush,
    stop(): void {
      off?.();
      off = undefined;
      flush();
    },
  };
}
