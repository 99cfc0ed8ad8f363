/**
 * What a run does first, holding the pipeline's lease (so no other run is alive): settle the
 * claims a crashed run left behind, and deliver notifications earlier runs could not.
 */
import { appendLedger, filesInStatus, releaseClaim } from './claims.ts';
import type { RunContext } from './context.ts';
import { notifyFailure, retryNotifications } from './notify.ts';
import { submittingStatus } from './status.ts';
import { failAbandonedRuns } from './store.ts';

/**
 * A claim still `processing` made no submission: it is released and claimed again by this run.
 * One still `submitting` may have reached the submitter: it becomes `submission_unknown` (a
 * failure with one notification), never resent.
 */
export async function recoverStale(ctx: RunContext): Promise<void> {
  const { name } = ctx.parts.settings;
  await ctx.write((tx) => failAbandonedRuns(tx, name, ctx.runId));
  const stale = await filesInStatus(ctx.deps.db, name, ['processing', submittingStatus]);
  for (const row of stale) {
    const at = { path: row.path, runId: ctx.runId };
    const remitter = row.path.split('/')[0] ?? '';
    if (row.status === 'processing') {
      await ctx.write((tx) =>
        releaseClaim(tx, row, {
          ...at,
          reason: 'the run that claimed it stopped before submitting',
        }),
      );
      ctx.step('recover', 'released', { remitter, file: row.path, attempt: row.attempt });
      continue;
    }
    const reason = 'the run stopped while submitting; the submitter may already have the records';
    const failure = {
      fileId: row.fileId,
      attempt: row.attempt,
      status: 'submission_unknown',
      ...at,
    };
    const id = await ctx.write((tx) => appendLedger(tx, { ...failure, reason }));
    ctx.step('recover', 'submission_unknown', { remitter, file: row.path });
    await notifyFailure(ctx, { ...failure, id, reason }, remitter);
  }
  await retryNotifications(ctx);
}
