/**
 * Bandwidth caps (`max_bytes_per_second` per transfer or watch profile, `transfers.
 * max_bytes_per_second` per node). A pacer lets bytes through at its rate on average, with a
 * short burst allowance; the transfer whose bytes they are is carried in an AsyncLocalStorage
 * context set around each file's delivery, so storages need no extra parameter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';

/** Paces bytes to a rate. */
export interface Pacer {
  readonly bytesPerSecond: number;
  /** Resolves when `bytes` may pass (at once while under the rate). */
  take(bytes: number): Promise<void>;
}

/** How far ahead of the rate a sender may run after being idle. */
const BURST_MS = 100;

/** A pacer for `bytesPerSecond` (> 0). `now` and `sleep` are injectable for tests. */
export function makePacer(
  bytesPerSecond: number,
  clock: { now: () => number; sleep: (ms: number) => Promise<unknown> } = {
    now: () => performance.now(),
    sleep: (ms) => delay(ms),
  },
): Pacer {
  // The time at which everything handed out so far has been "paid for" at the rate.
  let paidUntil = clock.now();
  return {
    bytesPerSecond,
    async take(bytes) {
      const now = clock.now();
      paidUntil = Math.max(paidUntil, now) + (bytes / bytesPerSecond) * 1000;
      const wait = paidUntil - now - BURST_MS;
      if (wait > 0) await clock.sleep(wait);
    },
  };
}

/** The pacers that apply to the bytes moved in the current context. */
interface Budget {
  pacers: readonly Pacer[];
}

const context = new AsyncLocalStorage<Budget>();

/** Runs `work` with the transfer's pacer (and the node's) applying to its remote bytes. */
export function withBudget<T>(pacers: readonly (Pacer | undefined)[], work: () => Promise<T>) {
  const active = pacers.filter((p): p is Pacer => p !== undefined);
  return context.run({ pacers: active }, work);
}

/** Waits until `bytes` may be moved under every cap of the current context. */
export async function spend(bytes: number): Promise<void> {
  for (const pacer of context.getStore()?.pacers ?? []) await pacer.take(bytes);
}

/** Per-transfer pacers plus the node's, reused across a transfer's files (and a profile's). */
export interface BandwidthCaps {
  /** The pacers for one transfer: its own cap (if set) and the node's (if set). */
  pacersFor(transferId: number, bytesPerSecond: number | undefined): (Pacer | undefined)[];
}

export function makeBandwidthCaps(nodeBytesPerSecond: number): BandwidthCaps {
  const node = nodeBytesPerSecond > 0 ? makePacer(nodeBytesPerSecond) : undefined;
  const perTransfer = new Map<number, Pacer>();
  return {
    pacersFor(id, rate) {
      if (rate === undefined || rate <= 0) {
        perTransfer.delete(id);
        return [node];
      }
      let pacer = perTransfer.get(id);
      if (pacer?.bytesPerSecond !== rate) {
        pacer = makePacer(rate);
        perTransfer.set(id, pacer);
      }
      return [pacer, node];
    },
  };
}
