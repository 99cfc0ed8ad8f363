/**
 * Failure notifications, exactly once each: the notifier is called for an outcome row, and a
 * `notified` mark (unique per row) is appended only after it accepted. A notification that did
 * not get through is retried at the start of the next run.
 */
import { appendLedger, type LedgerRow } from './claims.ts';
import type { RunContext } from './context.ts';
import { notifiedOutcomes, shownStatus } from './status.ts';
import { unnotifiedFailures } from './store.ts';

/** Sends the notification for one failure row and marks it; false when it did not get through. */
export async function notifyFailure(
  ctx: RunContext,
  row: Pick<LedgerRow, 'id' | 'fileId' | 'attempt' | 'status' | 'path' | 'reason'>,
  remitter: string,
): Promise<boolean> {
  const status = shownStatus(row.status, ctx.parts.settings.config.status_names);
  const answer = await ctx.parts.notifier.notify({
    file_path: ctx.displayPath(row.path),
    reason: row.reason ? `${status}: ${row.reason}` : status,
    record_id: row.id,
    status,
  });
  const fields = { remitter, file: row.path, record_id: row.id };
  if (!answer.ok) {
    ctx.fail('notify', `notification for ${row.status} not delivered: ${answer.reason}`, fields);
    return false;
  }
  await ctx.write((tx) =>
    appendLedger(tx, {
      fileId: row.fileId,
      attempt: row.attempt,
      status: 'notified',
      path: row.path,
      runId: ctx.runId,
      refId: row.id,
    }),
  );
  ctx.step('notify', 'notified', fields);
  return true;
}

/** Retries notifications earlier runs could not deliver. */
export async function retryNotifications(ctx: RunContext): Promise<void> {
  const pending = await unnotifiedFailures(ctx.deps.db, ctx.parts.settings.name, notifiedOutcomes);
  for (const row of pending) await notifyFailure(ctx, row, row.remitter);
}

/** One notification for a run-level failure (source unreachable); not recorded per file. */
export async function notifyRunFailure(ctx: RunContext, status: string, reason: string) {
  const answer = await ctx.parts.notifier.notify({
    file_path: ctx.displayPath(''),
    reason: `${status}: ${reason}`,
    record_id: ctx.runId,
    status,
  });
  if (answer.ok) ctx.step('notify', 'notified', { status_notified: status });
  else ctx.fail('notify', `notification for ${status} not delivered: ${answer.reason}`);
}
