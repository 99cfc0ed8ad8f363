/**
 * One watch profile's scanning, run by the node that holds the profile's lease. Each cycle:
 * list the source, let files settle, claim new versions (a row each), deliver the open rows a
 * few at a time, count the cycle. Filesystem events wake a cycle early; the poll always runs.
 */
import { watch, type FSWatcher } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Db } from '../db/index.ts';
import { fencedDb, isLeaseLost, keepLease, type Lease } from '../db/leases.ts';
import type { SourceFile } from '../intake/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { Clock } from '../clock/clock.ts';
import { sealTransfer, type MhlSealer } from '../mhl/transfer.ts';
import type { Storage, VolumeGuard } from '../storage/index.ts';
import { isRootChanged } from '../storage/roots.ts';
import type { Delivery } from './deliver.ts';
import { openFiles, type FileRow } from './file-records.ts';
import { getTransfer, increment, log, updateTransfer, type TransferRow } from './records.ts';
import { makeWatchScanner } from './watch-scan.ts';

export interface WatchLoopDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  source: Storage;
  delivery: Delivery;
  leaseTtlMs: number;
  /** Consecutive failed scans or files before the profile goes to `error`. */
  failureLimit: number;
  /** Use filesystem events besides polling (off for network mounts). */
  fsEvents: boolean;
  /** Settle times and poll sleeps run on it; tests pass a fake clock and advance it. */
  clock: Clock;
  /** Each scan checks that the pinned roots are still inside a volume. */
  volumes?: VolumeGuard;
  logError: (error: unknown, message: string) => void;
  /** Seals what each cycle delivered, for `mhl: true` profiles. */
  mhl?: MhlSealer;
}

/** statfs magic numbers of network filesystems (NFS, CIFS, SMB2, SMB, 9p, FUSE-based sshfs). */
const networkFilesystems = new Set([
  0x6969, 0xff534d42, 0xfe534d42, 0x517b, 0x01021997, 0x65735546,
]);

/** True when `dir` lives on a network filesystem, where inotify misses remote writes. */
export async function isNetworkMount(dir: string): Promise<boolean> {
  try {
    return networkFilesystems.has((await statfs(dir)).type);
  } catch {
    return false;
  }
}

export interface WatchLoop {
  /** Wakes the loop now (a status change arrived). */
  poke(): void;
  /** Stops after in-flight files, aborting them after `graceMs`; resolves when the loop has ended. */
  stop(graceMs: number): Promise<void>;
  readonly done: Promise<void>;
}

export function startWatchLoop(deps: WatchLoopDeps, id: number, lease: Lease): WatchLoop {
  const { bus } = deps;
  // Reads go to the store; every write is fenced by this loop's lease token (invariant 6).
  const reads = deps.db;
  const db = fencedDb(deps.db, lease);
  /** `backlog`: the last cycle left open rows to deliver (it returned 'more'). */
  const life = { stopped: false, claimedWhole: false, backlog: false };
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  const scanner = makeWatchScanner(deps, id);
  const abort = new AbortController();
  /**
   * Open rows delivered per cycle before the source is scanned again: big enough that a backlog
   * of 10,000 files is not rescanned every few batches, small enough that new files are claimed
   * within seconds.
   */
  const batchSize = 1000;

  /** The profile's row as last read, and when the lease was last renewed. */
  const cache: { row: TransferRow | undefined; readAt: number; stale: boolean } = {
    row: undefined,
    readAt: 0,
    stale: true,
  };

  function poke(): void {
    cache.stale = true;
    wake?.();
  }

  /** Ends the loop at once, aborting files in flight: another node may own the profile now. */
  function lostLease(): void {
    if (life.stopped && abort.signal.aborted) return;
    bus.emit('lease:lost', { name: lease.name, holder: lease.holder, token: lease.token });
    life.stopped = true;
    abort.abort(new Error(`lease ${lease.name} lost`));
    poke();
  }

  // Renewed on its own clock, so a long copy keeps it; lost (or unrenewable for a lifetime:
  // the store is down) means stop before another owner's work overlaps ours.
  const stopKeeping = keepLease(db, lease, { ttlMs: deps.leaseTtlMs, onLost: lostLease });

  /**
   * The profile as it stands, or undefined once the lease is lost. Rereads the row when poked
   * (pause, resume, delete anywhere are announced) or at least once a second.
   */
  async function currentProfile(): Promise<TransferRow | undefined> {
    const now = deps.clock.now();
    if (life.stopped) return undefined;
    if (cache.stale || now - cache.readAt >= 1000) {
      cache.stale = false;
      cache.readAt = now;
      cache.row = await getTransfer(reads, id);
    }
    return cache.row;
  }

  function sleepUntilWoken(ms: number): Promise<void> {
    // A stop that came mid-cycle found no sleep to wake: it must not wait a whole poll.
    if (life.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = deps.clock.after(ms, done);
      function done() {
        cancel();
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  let fsEventsChecked = false;

  async function startFsEvents(t: TransferRow): Promise<void> {
    if (!deps.fsEvents || watcher || fsEventsChecked) return;
    fsEventsChecked = true;
    // inotify sees only this machine's writes; on a network mount polling is the only truth.
    if (await isNetworkMount(t.source_path)) {
      await log(
        db,
        id,
        'info',
        'watch.polling_only',
        'network mount: filesystem events off, polling only',
      );
      return;
    }
    try {
      watcher = watch(t.source_path, { recursive: t.options.recursive, persistent: false }, () => {
        // Let a burst of events coalesce into one early cycle.
        setTimeout(poke, 50).unref();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
        fsEventsChecked = false;
      });
    } catch {
      watcher = undefined; // polling still runs
    }
  }

  async function setStatus(
    t: TransferRow,
    status: TransferRow['status'],
    error: string | null,
  ): Promise<void> {
    // Only from `active`: a pause, cancel or delete that arrived meanwhile wins.
    const row = await updateTransfer(
      db,
      id,
      {
        status,
        error_message: error,
        ...(status === 'completed' ? { completed_at: new Date() } : {}),
      },
      { statusIn: ['active'] },
    );
    if (row)
      bus.emit('transfer:status', { transferId: id, ownerId: t.owner_user_id, status, error });
  }

  async function failed(t: TransferRow, reason: string): Promise<boolean> {
    const streak = await increment(db, id, 'failure_streak');
    if (streak < deps.failureLimit) return false;
    await log(
      db,
      id,
      'error',
      'watch.error',
      `stopped after ${streak} consecutive failures: ${reason}`,
    );
    await setStatus(t, 'error', `stopped after ${streak} consecutive failures: ${reason}`);
    return true;
  }

  /**
   * Delivers up to one cycle's open rows, a batch at a time (deliver-batch.ts); 'more' when
   * rows are left for the next cycle, 'stopped' when the profile stopped being active.
   */
  async function deliverOpen(): Promise<'ok' | 'more' | 'stopped'> {
    const open = await openFiles(reads, id, batchSize);
    if (open.length === 0) return 'ok';
    // Never two versions of one path at once (they would race on one name): the later waits.
    const paths = new Set<string>();
    const rows = open.filter((r) => !paths.has(r.relative_path) && paths.add(r.relative_path));
    const t = await currentProfile();
    if (!t || t.status !== 'active' || life.stopped) return 'stopped';
    const state = { halted: false, streak: t.failure_streak, failed: '' };
    const started = new Map<number, number>();
    await deps.delivery.deliver(
      t,
      rows,
      {
        async proceed(row) {
          const current = await currentProfile();
          const active = current?.status === 'active' && !life.stopped;
          if (!active || state.streak >= deps.failureLimit) state.halted = true;
          started.set(row.id, deps.clock.now());
          return !state.halted;
        },
        progress(row, bytes) {
          progressOf(t, row, bytes, started);
        },
        finished(row, status) {
          const ok = status !== 'failed';
          bus.emit('watch:file-finished', {
            transferId: id,
            ownerId: t.owner_user_id,
            fileId: row.id,
            path: row.relative_path,
            ok,
            error: ok ? null : 'see watch history',
          });
          state.streak = ok ? 0 : state.streak + 1;
          if (!ok) state.failed = row.relative_path;
        },
      },
      abort.signal,
      { db },
    );
    if (await settleStreak(t, state.streak, state.failed)) return 'stopped';
    if (state.halted) return 'stopped';
    return open.length === batchSize || rows.length < open.length ? 'more' : 'ok';
  }

  /** The end of a file is told by watch:file-finished; progress is for files in flight. */
  function progressOf(t: TransferRow, row: FileRow, bytes: number, started: Map<number, number>) {
    if (bytes >= row.file_size) {
      started.delete(row.id);
      return;
    }
    const now = deps.clock.now();
    const since = started.get(row.id) ?? now;
    const seconds = Math.max((now - since) / 1000, 0.001);
    const rate = bytes / seconds;
    bus.emit('transfer:progress', {
      transferId: id,
      ownerId: t.owner_user_id,
      file: row.relative_path,
      bytes,
      totalBytes: row.file_size,
      percent: row.file_size > 0 ? (bytes / row.file_size) * 100 : 100,
      bytesPerSecond: rate,
      etaSeconds: rate > 0 ? (row.file_size - bytes) / rate : null,
    });
  }

  /**
   * Stores the failure streak the delivered files left (consecutive failed files); true when it
   * reached the limit and the profile went to `error`.
   */
  async function settleStreak(t: TransferRow, streak: number, last: string): Promise<boolean> {
    if (streak === t.failure_streak) return false;
    cache.stale = true;
    await updateTransfer(db, id, { failure_streak: streak });
    if (streak < deps.failureLimit) return false;
    const reason = `stopped after ${streak} consecutive failures: ${last} failed`;
    await log(db, id, 'error', 'watch.error', reason);
    await setStatus(t, 'error', reason);
    return true;
  }

  /** One scan cycle: 'end' stops the loop, 'more' runs the next at once, 'idle' waits a poll. */
  async function cycle(): Promise<'end' | 'more' | 'idle'> {
    cache.stale = true;
    const t = await currentProfile();
    if (!t || t.status !== 'active' || !t.watch_mode_enabled) return 'end';
    await startFsEvents(t);
    if (scanner.due(life.backlog, t.options.poll_interval_seconds * 1000)) {
      let listed: SourceFile[];
      try {
        listed = await scanner.list(db, t);
      } catch (error) {
        if (isRootChanged(error)) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        await log(db, id, 'warn', 'watch.scan_failed', reason);
        return (await failed(t, `scan failed: ${reason}`)) ? 'end' : 'idle';
      }
      // Watch-once waits until the whole source is stable, then transfers it in one go.
      const when = t.watch_continuous ? 'always' : 'when-whole';
      if ((await scanner.claim(db, t, listed, when)).wholeStable) life.claimedWhole = true;
    }
    const delivered = await deliverOpen();
    life.backlog = delivered === 'more';
    // A cycle that delivered files seals them as one generation (ASC MHL profiles).
    if (delivered !== 'stopped' && t.options.mhl && deps.mhl)
      await sealTransfer(db, deps.mhl, t, abort.signal);
    const cycleNo = await increment(db, id, 'watch_cycle_count');
    bus.emit('watch:cycle', { transferId: id, ownerId: t.owner_user_id, cycle: cycleNo });
    if (delivered === 'stopped') return 'end';
    if (delivered === 'more') return 'more';
    // Watch-once is done when everything it claimed is delivered (a move empties the folder).
    if (!t.watch_continuous && life.claimedWhole) {
      await setStatus(t, 'completed', null);
      await log(
        db,
        id,
        'info',
        'watch.completed',
        'the whole source was stable and is transferred',
      );
      return 'end';
    }
    return 'idle';
  }

  /** A changed root ends the profile in `error` with the reason; nothing more is touched. */
  async function rootChanged(error: Error): Promise<'end'> {
    const t = cache.row;
    await log(db, id, 'error', 'watch.root_changed', error.message);
    if (t) await setStatus(t, 'error', error.message);
    return 'end';
  }

  /** One cycle; a changed root or a lost lease ends the loop instead of failing it. */
  async function guardedCycle(): Promise<'end' | 'more' | 'idle'> {
    try {
      return await cycle();
    } catch (error) {
      if (isRootChanged(error)) return rootChanged(error);
      if (isLeaseLost(error)) {
        lostLease();
        return 'end';
      }
      throw error;
    }
  }

  const done = (async function run() {
    try {
      while (!life.stopped) {
        const next = await guardedCycle();
        if (next === 'end') break;
        // A backlog is delivered a batch per cycle, so new files are still detected meanwhile.
        if (next === 'idle')
          await sleepUntilWoken((cache.row?.options.poll_interval_seconds ?? 2) * 1000);
      }
    } catch (error) {
      deps.logError(error, `watch profile ${id} loop failed`);
    } finally {
      stopKeeping();
      watcher?.close();
    }
  })();

  return {
    poke,
    done,
    async stop(graceMs) {
      life.stopped = true;
      poke();
      // An aborted file keeps its row `transferring`; the next owner resumes it.
      const timer = setTimeout(() => {
        abort.abort(new Error('shutting down'));
      }, graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}
