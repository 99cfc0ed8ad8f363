/**
 * The detection half of a watch cycle: one listing of the source, the settle tracker, and the
 * new stable versions claimed in one statement. Nothing here costs a query per file, so a drop
 * of 10,000 files is one listing and one round trip to the store, however long it is; while its
 * backlog is delivered (a batch a cycle) the folder is listed again only now and then.
 */
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { Clock } from '../clock/clock.ts';
import type { Db } from '../db/index.ts';
import { makeNameFilter, makeSettleTracker, scanSource, type SourceFile } from '../intake/index.ts';
import type { Storage, VolumeGuard } from '../storage/index.ts';
import { confineStorage } from '../storage/roots.ts';
import { claimFiles } from './file-records.ts';
import { rootsOf } from './pins.ts';
import type { TransferRow } from './records.ts';

export interface WatchScanDeps {
  bus: Bus<FerryEvents>;
  source: Storage;
  clock: Clock;
  volumes?: VolumeGuard;
}

/** What one scan saw. */
export interface ScanOutcome {
  /** Files listed (after the name filter). */
  listed: number;
  /** True when every listed file is stable (watch-once takes the source then). */
  wholeStable: boolean;
}

export interface WatchScanner {
  /**
   * Whether this cycle lists the source: always when the last cycle left nothing to deliver;
   * while a backlog drains (`backlog`), only once `pollMs` and ten times the last listing's
   * duration have passed since it, so re-listing a 10,000-file folder every batch costs at most
   * about a tenth of the loop's time. New files wait behind the backlog anyway.
   */
  due(backlog: boolean, pollMs: number): boolean;
  /** Lists the source once, through its pinned root; a listing failure throws. */
  list(db: Db, t: TransferRow): Promise<SourceFile[]>;
  /**
   * Feeds a listing to the settle tracker and claims the new stable versions in one statement
   * (`when-whole`: only once every listed file is stable, as watch-once does). `db` is the
   * lease-fenced store (the claim is a write).
   */
  claim(
    db: Db,
    t: TransferRow,
    files: readonly SourceFile[],
    when: 'always' | 'when-whole',
  ): Promise<ScanOutcome>;
}

/** The scanner of profile `id`; it remembers what it claimed, so a file is claimed once. */
export function makeWatchScanner(deps: WatchScanDeps, id: number): WatchScanner {
  let tracker: ReturnType<typeof makeSettleTracker> | undefined;
  /** Versions claimed (or found known) by this scanner: later scans skip them without a query. */
  const claimedKeys = new Set<string>();
  const keyOf = (f: SourceFile) => `${f.relative}\u0000${f.size}\u0000${f.mtimeMs}`;

  /** Keeps the claimed-key memory to what the folder holds now (moved files leave it). */
  function forgetVanished(files: readonly SourceFile[]): void {
    if (claimedKeys.size === 0) return;
    const present = new Set(files.map(keyOf));
    for (const key of claimedKeys) if (!present.has(key)) claimedKeys.delete(key);
  }

  /** When the last listing started and how long it took (on the profile's clock). */
  let lastListing: { at: number; ms: number } | undefined;

  function due(backlog: boolean, pollMs: number): boolean {
    if (!backlog || !lastListing) return true;
    return deps.clock.now() - lastListing.at >= Math.max(pollMs, 10 * lastListing.ms);
  }

  async function list(db: Db, t: TransferRow): Promise<SourceFile[]> {
    const started = deps.clock.now();
    const filter = makeNameFilter({
      temp: t.options.temp_patterns,
      include: t.options.include,
      exclude: t.options.exclude,
    });
    // Both pinned roots, before anything is read: a swapped folder stops the profile.
    const roots = await rootsOf(db, t, deps.volumes);
    const source = confineStorage(deps.source, [roots.source]);
    const scan = await scanSource(source, t.source_path, filter, {
      recursive: t.options.recursive,
    });
    lastListing = { at: started, ms: deps.clock.now() - started };
    return scan.files;
  }

  /** New versions among the stable files, claimed in one statement; one event per new row. */
  async function claimStable(db: Db, t: TransferRow, stable: readonly SourceFile[]): Promise<void> {
    const fresh = stable.filter((f) => !claimedKeys.has(keyOf(f)));
    if (fresh.length === 0) return;
    // One row per path in flight: a newer version supersedes an older one not yet delivered.
    const rows = await claimFiles(
      db,
      id,
      t.options.checksum_algorithm,
      fresh.map((f) => ({ relative: f.relative, size: f.size, mtimeMs: f.mtimeMs })),
      { newPathsOnly: t.options.on_new_version === 'ignore', supersede: true },
    );
    for (const f of fresh) claimedKeys.add(keyOf(f));
    for (const row of rows) {
      deps.bus.emit('watch:file-detected', {
        transferId: id,
        ownerId: t.owner_user_id,
        fileId: row.id,
        path: row.relative_path,
        size: row.file_size,
      });
    }
  }

  return {
    due,
    list,
    async claim(db, t, files, when) {
      tracker ??= makeSettleTracker(t.settle_time_seconds, () => deps.clock.now());
      const stable = tracker.observe(files) as SourceFile[];
      forgetVanished(files);
      const wholeStable = files.length > 0 && stable.length === files.length;
      if (when === 'always' || wholeStable) await claimStable(db, t, stable);
      return { listed: files.length, wholeStable };
    },
  };
}
