/**
 * One watch profile's scanning, run by the node that holds the profile's lease. Each cycle:
 * list the source, let files settle, claim new versions (a row each), deliver the open rows a
 * few at a time, count the cycle. Filesystem events wake a cycle early; the poll always runs.
 */
import { watch, type FSWatcher } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Db } from '../db/index.ts';
import { renewLease, type Lease } from '../db/leases.ts';
import { makeNameFilter, makeSettleTracker, scanSource, type SourceFile } from '../intake/index.ts';
import type { Bus, FerryEvents } from '../live/bus.ts';
import type { Storage } from '../storage/index.ts';
import type { Delivery } from './deliver.ts';
import { claimFiles, knownPaths, openFiles, type FileRow } from './file-records.ts';
import { getTransfer, increment, log, updateTransfer, type TransferRow } from './records.ts';

export interface WatchLoopDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  source: Storage;
  delivery: Delivery;
  leaseTtlMs: number;
  /** Consecutive failed scans or files before the profile goes to `error`. */
  failureLimit: number;
  /** Files delivered at once per profile. */
  concurrency: number;
  /** Use filesystem events besides polling (off for network mounts). */
  fsEvents: boolean;
  now: () => number;
  logError: (error: unknown, message: string) => void;
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
  const { db, bus } = deps;
  const life = { stopped: false, claimedWhole: false };
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  let tracker: ReturnType<typeof makeSettleTracker> | undefined;
  const claimedKeys = new Set<string>();
  const abort = new AbortController();
  /** Open rows delivered per cycle before the source is scanned again. */
  const batchSize = 200;

  /** The profile's row as last read, and when the lease was last renewed. */
  const cache: { row: TransferRow | undefined; readAt: number; stale: boolean; renewedAt: number } =
    {
      row: undefined,
      readAt: 0,
      stale: true,
      renewedAt: Date.now(),
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

  // Renewed on its own clock, so a long copy keeps it; lost (or unrenewable past its lifetime:
  // the store is down) means stop before another owner's work overlaps ours.
  const renewal = setInterval(() => {
    renewLease(db, lease, deps.leaseTtlMs).then(
      (renewed) => {
        if (renewed) cache.renewedAt = Date.now();
        else lostLease();
      },
      () => {
        if (Date.now() - cache.renewedAt >= deps.leaseTtlMs) lostLease();
      },
    );
  }, deps.leaseTtlMs / 3);
  renewal.unref();

  /**
   * The profile as it stands, or undefined once the lease is lost. Rereads the row when poked
   * (pause, resume, delete anywhere are announced) or at least once a second.
   */
  async function currentProfile(): Promise<TransferRow | undefined> {
    const now = Date.now();
    if (life.stopped) return undefined;
    if (cache.stale || now - cache.readAt >= 1000) {
      cache.stale = false;
      cache.readAt = now;
      cache.row = await getTransfer(db, id);
    }
    return cache.row;
  }

  function sleepUntilWoken(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
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

  const keyOf = (f: SourceFile) => `${f.relative}\u0000${f.size}\u0000${f.mtimeMs}`;

  /** Keeps the claimed-key memory to what the folder holds now (moved files leave it). */
  function forgetVanished(files: readonly SourceFile[]): void {
    if (claimedKeys.size === 0) return;
    const present = new Set(files.map(keyOf));
    for (const key of claimedKeys) if (!present.has(key)) claimedKeys.delete(key);
  }

  /** New versions among the stable files, claimed in the store. */
  async function claimStable(t: TransferRow, stable: readonly SourceFile[]): Promise<void> {
    let fresh = stable.filter((f) => !claimedKeys.has(keyOf(f)));
    if (t.options.on_new_version === 'ignore' && fresh.length > 0) {
      const known = await knownPaths(
        db,
        id,
        fresh.map((f) => f.relative),
      );
      fresh = fresh.filter((f) => !known.has(f.relative));
    }
    if (fresh.length === 0) return;
    const rows = await claimFiles(
      db,
      id,
      t.options.checksum_algorithm,
      fresh.map((f) => ({ relative: f.relative, size: f.size, mtimeMs: f.mtimeMs })),
    );
    for (const f of fresh) claimedKeys.add(keyOf(f));
    for (const row of rows) {
      bus.emit('watch:file-detected', {
        transferId: id,
        ownerId: t.owner_user_id,
        fileId: row.id,
        path: row.relative_path,
        size: row.file_size,
      });
    }
  }

  /** Delivers open rows, a few at a time, until none is left or the profile stops being active. */
  /** Delivers up to one batch of open rows; 'more' when rows are left for the next cycle. */
  async function deliverOpen(): Promise<'ok' | 'more' | 'stopped'> {
    const rows = await openFiles(db, id, batchSize);
    if (rows.length === 0) return 'ok';
    let index = 0;
    const state = { halted: false };
    const work = async () => {
      for (let row = rows[index++]; row && !state.halted; row = rows[index++]) {
        const current = await currentProfile();
        if (!current || current.status !== 'active' || life.stopped) {
          state.halted = true;
          return;
        }
        if (await deliverOne(current, row)) state.halted = true;
      }
    };
    // Every worker ends before the loop does: none may outlive a stop (its writes, its deletes).
    const results = await Promise.allSettled(Array.from({ length: deps.concurrency }, work));
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    if (state.halted) return 'stopped';
    return rows.length === batchSize ? 'more' : 'ok';
  }

  /** Delivers one row; true when the profile went to `error`. */
  async function deliverOne(t: TransferRow, row: FileRow): Promise<boolean> {
    const started = Date.now();
    const status = await deps.delivery.deliver(
      t,
      row,
      (bytes) => {
        // The end of a file is told by watch:file-finished; progress is for files in flight.
        if (bytes >= row.file_size) return;
        const seconds = Math.max((Date.now() - started) / 1000, 0.001);
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
      },
      abort.signal,
    );
    const ok = status !== 'failed';
    // The failure streak changes below; the next file must see it.
    cache.stale = true;
    bus.emit('watch:file-finished', {
      transferId: id,
      ownerId: t.owner_user_id,
      fileId: row.id,
      path: row.relative_path,
      ok,
      error: ok ? null : 'see watch history',
    });
    if (ok) {
      if (t.failure_streak > 0) await updateTransfer(db, id, { failure_streak: 0 });
      return false;
    }
    return failed(t, `${row.relative_path} failed`);
  }

  /** One scan cycle: 'end' stops the loop, 'more' runs the next at once, 'idle' waits a poll. */
  async function cycle(): Promise<'end' | 'more' | 'idle'> {
    cache.stale = true;
    const t = await currentProfile();
    if (!t || t.status !== 'active' || !t.watch_mode_enabled) return 'end';
    tracker ??= makeSettleTracker(t.settle_time_seconds, deps.now);
    await startFsEvents(t);
    const filter = makeNameFilter({
      temp: t.options.temp_patterns,
      include: t.options.include,
      exclude: t.options.exclude,
    });
    let scanFiles: SourceFile[];
    try {
      scanFiles = (
        await scanSource(deps.source, t.source_path, filter, { recursive: t.options.recursive })
      ).files;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await log(db, id, 'warn', 'watch.scan_failed', reason);
      return (await failed(t, `scan failed: ${reason}`)) ? 'end' : 'idle';
    }
    const stable = tracker.observe(scanFiles) as SourceFile[];
    forgetVanished(scanFiles);
    // Watch-once waits until the whole source is stable, then transfers it in one go.
    const wholeStable = scanFiles.length > 0 && stable.length === scanFiles.length;
    if (t.watch_continuous || wholeStable) await claimStable(t, stable);
    if (wholeStable) life.claimedWhole = true;
    const delivered = await deliverOpen();
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

  const done = (async function run() {
    try {
      while (!life.stopped) {
        const next = await cycle();
        if (next === 'end') break;
        // A backlog is delivered a batch per cycle, so new files are still detected meanwhile.
        if (next === 'idle')
          await sleepUntilWoken((cache.row?.options.poll_interval_seconds ?? 2) * 1000);
      }
    } catch (error) {
      deps.logError(error, `watch profile ${id} loop failed`);
    } finally {
      clearInterval(renewal);
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
