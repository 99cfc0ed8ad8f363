/**
 * The archive step, after the run has answered: older versions found by this run, then every
 * `success` file without an archive mark (this run's and earlier runs' leftovers), in batches.
 * Moves go through `storage.rename` (no replace); a name clash gets a ` (n)` suffix. A failed
 * move is logged and left for the next run; it never fails the run.
 */
import type { SourceFile } from '../intake/index.ts';
import { appendLedger } from './claims.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import type { RunContext } from './context.ts';
import { joinPath } from './settings.ts';
import { unarchivedSuccesses, type ArchiveReport } from './store.ts';

const maxSuffix = 1000;

function withSuffix(target: string, n: number): string {
  const slash = target.lastIndexOf('/');
  const dot = target.lastIndexOf('.');
  const at = dot > slash + 1 ? dot : target.length;
  return `${target.slice(0, at)} (${n})${target.slice(at)}`;
}

/** Moves `from` to `to`, or to `to (n)` when `to` is taken; returns where it went. */
export async function moveAside(storage: Storage, from: string, to: string): Promise<string> {
  for (let n = 0; n <= maxSuffix; n += 1) {
    const target = n === 0 ? to : withSuffix(to, n);
    try {
      await storage.rename(from, target);
      return target;
    } catch (error) {
      // 'exists' can also come from a parent that is a file; only a taken name gets a suffix.
      const taken =
        error instanceof StorageError &&
        error.reason === 'exists' &&
        (await storage.stat(target))?.kind === 'file';
      if (!taken) throw error;
    }
  }
  throw new StorageError('exists', to, `${to} and ${maxSuffix} suffixed names are all taken`);
}

/** Where a source-relative path goes in the archive: `<archive>/<remitter>/<file>`. */
function archivePath(ctx: RunContext, relative: string): string {
  return joinPath(ctx.parts.settings.archiveRoot, relative);
}

function sourcePath(ctx: RunContext, relative: string): string {
  return joinPath(ctx.parts.settings.source.root, relative);
}

async function archiveOne(
  ctx: RunContext,
  storage: Storage,
  relative: string,
  report: ArchiveReport,
): Promise<string | undefined> {
  const remitter = relative.slice(0, relative.indexOf('/'));
  try {
    const to = await moveAside(storage, sourcePath(ctx, relative), archivePath(ctx, relative));
    report.moved += 1;
    ctx.step('archive', 'archived', { remitter, file: relative, to });
    ctx.deps.bus.emit('run:file', {
      pipeline: ctx.parts.settings.name,
      runId: ctx.runId,
      file: relative,
      remitter,
      status: 'archived',
    });
    return to;
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    report.failed += 1;
    ctx.fail('archive', `archive move failed (retried next run): ${error.message}`, {
      remitter,
      file: relative,
    });
    return undefined;
  }
}

/** Archives successes without an archive mark; a file that changed or vanished is skipped. */
async function archiveSuccesses(ctx: RunContext, storage: Storage, report: ArchiveReport) {
  const { name, config } = ctx.parts.settings;
  let after = 0;
  for (;;) {
    const batch = await unarchivedSuccesses(ctx.deps.db, name, after, config.archive_batch_size);
    if (batch.length === 0) return;
    for (const row of batch) {
      after = row.id;
      const now = await storage.stat(sourcePath(ctx, row.path)).catch(() => undefined);
      const mark = { fileId: row.fileId, attempt: row.attempt, path: row.path, runId: ctx.runId };
      if (!now || now.size !== row.size) {
        // Gone, or another content under the same name (processed as its own file).
        const reason = now ? 'the file changed after it was processed' : 'the file is gone';
        await ctx.write((tx) => appendLedger(tx, { ...mark, status: 'archive_skipped', reason }));
        ctx.step('archive', 'archive_skipped', { remitter: row.remitter, file: row.path, reason });
        continue;
      }
      const to = await archiveOne(ctx, storage, row.path, report);
      if (to === undefined) continue;
      await ctx.write((tx) =>
        appendLedger(tx, { ...mark, status: 'archive_succeeded', detail: { to } }),
      );
    }
  }
}

/** Runs the archive step; never throws for a storage failure. */
export async function archiveAll(
  ctx: RunContext,
  storage: Storage,
  older: readonly SourceFile[],
): Promise<ArchiveReport> {
  const report: ArchiveReport = { moved: 0, failed: 0 };
  for (const file of older) await archiveOne(ctx, storage, file.relative, report);
  await archiveSuccesses(ctx, storage, report);
  return report;
}
