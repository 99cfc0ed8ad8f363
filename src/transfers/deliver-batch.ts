/**
 * One batch of files, delivered together so each step is paid once per batch, not per file:
 *
 *  1. classify each file (finish only / superseded / copy) and mark the copies `transferring`
 *     (one statement);
 *  2. copy, hash, fsync and re-read each to its temp name, `concurrency` files at once (more for
 *     a batch of small files: `parallelismFor`);
 *  3. record every verified file's checksums and final name, and the files that ended
 *     (skipped, superseded), in one transaction;
 *  4. rename every verified file, then fsync each destination folder once;
 *  5. copy: mark them `completed` with their log lines in one transaction. Move: mark them
 *     `verified` in one transaction, delete each source, then mark those `completed`;
 *  6. record failures (or schedule another attempt) in one transaction.
 *
 * Each step is recorded before the next acts outside (invariant 3), so a crash anywhere leaves
 * rows that resume: `transferring` files are copied again to the same temp name (or recognized
 * in place after the rename), `verified` ones only have their source deleted. A move deletes a
 * source only after its own verified row is committed (invariant 2).
 */
import path from 'node:path';
import { isFerryError } from '../errors/index.ts';
import { kindAt } from '../storage/index.ts';
import { isRootChanged } from '../storage/roots.ts';
import { forEachBounded } from './bounded.ts';
import { asTransferError, discardStaged, placeStaged } from './copy-file.ts';
import {
  checkSpace,
  classify,
  pathsOf,
  placed,
  stage,
  verifiedFields,
  type BatchContext,
  type Final,
  type Item,
  type Ready,
  type Staged,
} from './deliver-steps.ts';
import type { FileRow } from './file-records.ts';
import {
  getFiles,
  logLines,
  startFiles,
  updateFiles,
  type FileUpdate,
  type LogLine,
} from './file-outcomes.ts';

/** Errors worth another attempt: the next one may well succeed. */
const retryable = new Set(['FERRY_ERR_CHECKSUM_MISMATCH', 'FERRY_ERR_SOURCE_CHANGED']);

function isRetryable(error: unknown): boolean {
  if (!isFerryError(error)) return true;
  if (retryable.has(error.code)) return true;
  return error.code === 'FERRY_ERR_STORAGE' && error.params.reason === 'io';
}

/**
 * Files no larger than this are latency-bound, not bandwidth-bound: each is a chain of small
 * file-system calls and one fsync. A batch of only such files between local folders runs
 * `smallFileFactor` times `transfers.concurrency` at once (at most 64), which overlapped those
 * waits to about 1.7x the files/s of 4 at once here (10,000 × 50 KiB); larger files, and files
 * to or from a server (SMB, SFTP: sessions and a server that has its own limits), keep the
 * configured bound.
 */
const smallFileBytes = 1024 * 1024;
const smallFileFactor = 4;

/**
 * Files of `items` delivered at once: `concurrency`, raised for a batch of small files when
 * `local` (both ends of every file are local folders).
 */
export function parallelismFor(
  concurrency: number | undefined,
  items: readonly Item[],
  local: boolean,
): number {
  const limit = concurrency ?? 1;
  // One at a time stays one at a time: that is what the setting asked for.
  if (limit <= 1 || !local || !items.every((i) => i.row.file_size <= smallFileBytes)) return limit;
  return Math.min(64, limit * smallFileFactor);
}

/** Files of `items` this batch delivers (or finishes) at once. */
function boundFor(ctx: BatchContext, items: readonly Item[]): number {
  const local = items.every(
    (i) => kindAt(ctx.source, i.from) === 'local' && kindAt(ctx.destination, i.to) === 'local',
  );
  return parallelismFor(ctx.concurrency, items, local);
}

interface Failure {
  item: Item;
  error: unknown;
}

/**
 * Delivers `rows`, retrying files that failed retryably (each from its row as stored) until
 * the attempts are spent. 'stopped' when `proceed` said no (the files not started are left).
 */
export async function deliverBatch(
  ctx: BatchContext,
  rows: readonly FileRow[],
): Promise<'done' | 'stopped'> {
  let items: Item[] = rows.map((row) => ({ row, attempt: 1, ...pathsOf(ctx.transfer, row) }));
  for (;;) {
    const { retry, stopped } = await deliverRound(ctx, items);
    if (stopped) return 'stopped';
    const [first] = retry;
    if (!first) return 'done';
    await ctx.sleep(ctx.retryDelayMs * 2 ** (first.attempt - 1), ctx.signal);
    // From the rows as stored: a failure after the rename (moving the source, say) must resume
    // as `verified` / already in place, not copy again over a verified file.
    const stored = await getFiles(
      ctx.db,
      retry.map((i) => i.row.id),
    );
    items = retry.map((i) => ({
      ...i,
      row: stored.get(i.row.id) ?? i.row,
      attempt: i.attempt + 1,
    }));
  }
}

/** One attempt at every item; the items to try again. */
async function deliverRound(
  ctx: BatchContext,
  items: readonly Item[],
): Promise<{ retry: Item[]; stopped: boolean }> {
  const failures: Failure[] = [];
  const ready: Ready[] = [];
  const finals: Final[] = [];
  const staged: Staged[] = [];
  const limit = boundFor(ctx, items);
  /** Runs `each` on `list` in parallel, an item's failure recorded against it. */
  const each = <T extends { item: Item } | Item>(list: readonly T[], fn: (x: T) => Promise<void>) =>
    forEachBounded(list, limit, async (x) => {
      await fn(x).catch((error: unknown) => {
        failures.push({ item: 'item' in x ? x.item : x, error });
      });
    });
  const unplaced = new Set<Staged>();
  try {
    // 1. What each file needs.
    const copies: Item[] = [];
    let stopped = false;
    await each(items, async (item) => {
      if (stopped || !((await ctx.hooks.proceed?.(item.row)) ?? true)) {
        stopped = true;
        return;
      }
      const what = await classify(ctx, item);
      if (what === 'copy') copies.push(item);
      else if ('status' in what) finals.push(what);
      else ready.push(what);
    });
    throwIfFatal(ctx, failures);
    await startFiles(
      ctx.db,
      copies.map((i) => i.row.id),
    );
    // 2. The copies, verified under their temp names (free space checked once per folder).
    const roomy = await checkSpace(ctx, copies);
    await each(copies, async (item) => {
      const done = await stage(ctx, item, roomy.has(item));
      if ('status' in done) finals.push(done);
      else {
        staged.push(done);
        unplaced.add(done);
      }
    });
    throwIfFatal(ctx, failures);
    ctx.staged?.();
    // 3. Checksums and final names before any rename; the files that ended here.
    if (staged.length + finals.length > 0)
      await ctx.db.transaction(async (tx) => {
        await updateFiles(tx, [
          ...staged.map((s) => ({ id: s.item.row.id, fields: verifiedFields(s.staged) })),
          ...finals.map((f) => ({ id: f.item.row.id, fields: f.fields })),
        ]);
        await logLines(
          tx,
          ctx.transfer.id,
          finals.map((f) => f.line),
        );
      });
    for (const f of finals) ctx.hooks.finished?.(f.item.row, f.status);
    // 4. Final names, then one sync per folder.
    await each(staged, async (s) => {
      unplaced.delete(s);
      await placeStaged(ctx.destination, s.staged, { deferSync: true });
      ready.push(placed(s));
    });
    const synced = await syncFolders(ctx, ready, failures);
    // 5. Completed (a move deletes each source first).
    await finish(ctx, synced, failures);
    throwIfFatal(ctx, failures);
    // 6. Failures: recorded, or tried again.
    return { retry: await settleFailures(ctx, failures), stopped };
  } catch (error) {
    // Rows stay resumable; no verified copy is left under its temp name.
    await Promise.all([...unplaced].map((s) => discardStaged(ctx.destination, s.staged)));
    throw error;
  }
}

/** An abort or a changed root stops the whole delivery (rows stay resumable). */
function throwIfFatal(ctx: BatchContext, failures: readonly Failure[]): void {
  const fatal = failures.find((f) => ctx.signal.aborted || isRootChanged(f.error));
  if (fatal) throw fatal.error;
}

/** Fsyncs each folder the ready files were renamed into; the files whose folder synced. */
async function syncFolders(
  ctx: BatchContext,
  ready: readonly Ready[],
  failures: Failure[],
): Promise<Ready[]> {
  const sync = ctx.destination.syncFolder?.bind(ctx.destination);
  const renamed = ready.filter((r) => r.finalPath !== undefined);
  if (!sync || renamed.length === 0) return [...ready];
  const folders = new Map<string, Ready[]>();
  for (const r of renamed) {
    const dir = path.posix.dirname(r.finalPath ?? r.item.to);
    folders.set(dir, [...(folders.get(dir) ?? []), r]);
  }
  const broken = new Set<Ready>();
  await Promise.all(
    [...folders].map(async ([dir, inside]) => {
      await sync(dir).catch((error: unknown) => {
        for (const r of inside) {
          broken.add(r);
          failures.push({ item: r.item, error });
        }
      });
    }),
  );
  return ready.filter((r) => !broken.has(r));
}

/**
 * Ends verified files. A move records `verified` before deleting any source (invariant 2), and
 * keeps a source that changed after it was delivered (a newer one has its own row).
 */
async function finish(ctx: BatchContext, ready: readonly Ready[], failures: Failure[]) {
  if (ready.length === 0) return;
  let done = [...ready];
  const lines = new Map<Ready, LogLine[]>(ready.map((r) => [r, [r.line]]));
  if (ctx.transfer.operation_mode === 'move') {
    await ctx.db.transaction((tx) =>
      updateFiles(
        tx,
        ready.map((r) => ({ id: r.row.id, fields: { status: 'verified' } })),
      ),
    );
    const kept = new Set<Ready>();
    const gone = new Set<Ready>();
    await forEachBounded(
      ready,
      boundFor(
        ctx,
        ready.map((r) => r.item),
      ),
      async (r) => {
        try {
          // Right before the delete: the source must still be the version delivered; the
          // confined storage re-opens and re-checks the pinned root.
          const now = await ctx.source.stat(r.item.from);
          if (now && (now.size !== r.row.file_size || now.mtimeMs !== r.row.source_mtime_ms)) {
            kept.add(r);
            const message = `${r.row.relative_path} changed after it was delivered; the source is kept`;
            lines.set(r, [{ level: 'warn', event: 'file.source_kept', message }, r.line]);
          } else {
            await ctx.source.remove(r.item.from);
            gone.add(r);
          }
        } catch (error) {
          failures.push({ item: r.item, error });
        }
      },
    );
    done = ready.filter((r) => kept.has(r) || gone.has(r));
  }
  const completedAt = new Date();
  await ctx.db.transaction(async (tx) => {
    await updateFiles(
      tx,
      done.map((r) => ({
        id: r.row.id,
        fields: {
          status: 'completed',
          bytes_transferred: r.row.file_size,
          resume_point: null,
          transfer_completed_at: completedAt,
        },
      })),
    );
    await logLines(
      tx,
      ctx.transfer.id,
      done.flatMap((r) => lines.get(r) ?? []),
    );
  });
  for (const r of done) ctx.hooks.finished?.(r.row, 'completed');
}

/** Records files that failed for good and the retry of the others; the items to try again. */
async function settleFailures(ctx: BatchContext, failures: readonly Failure[]): Promise<Item[]> {
  if (failures.length === 0) return [];
  const updates: FileUpdate[] = [];
  const lines: LogLine[] = [];
  const retry: Item[] = [];
  const failed: FileRow[] = [];
  for (const { item, error: raw } of failures) {
    const error = asTransferError(raw);
    const message = error instanceof Error ? error.message : String(error);
    const name = item.row.relative_path;
    if (isRetryable(error) && item.attempt < ctx.attempts) {
      const line = `${name}: attempt ${String(item.attempt)} failed: ${message}`;
      lines.push({ level: 'warn', event: 'file.retry', message: line });
      retry.push(item);
      continue;
    }
    const code = isFerryError(error) ? error.code : 'FERRY_ERR_STORAGE';
    const mismatch = isFerryError(error) && error.code === 'FERRY_ERR_CHECKSUM_MISMATCH';
    updates.push({
      id: item.row.id,
      fields: {
        status: 'failed',
        error_code: code,
        error_message: message,
        transfer_completed_at: new Date(),
        ...(mismatch
          ? {
              source_checksum: String(error.params.source),
              destination_checksum: String(error.params.destination),
              checksum_match: false,
            }
          : {}),
      },
    });
    lines.push({
      level: 'error',
      event: 'file.failed',
      message: `${name}: ${message}`,
      details: { code },
    });
    failed.push(item.row);
  }
  await ctx.db.transaction(async (tx) => {
    await updateFiles(tx, updates);
    await logLines(tx, ctx.transfer.id, lines);
  });
  for (const row of failed) ctx.hooks.finished?.(row, 'failed');
  return retry;
}
