/**
 * One file through the pipeline: read and hash, claim, extract, submit, notify. State is
 * written before it is acted upon (the claim before the upload, `submitting` before the
 * submission), and a failure before any downstream call gives the claim back.
 */
import { appendLedger, claimFile, releaseClaim, type Claim, type ClaimKey } from './claims.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import { readContent, TooLargeError, type Content } from './content.ts';
import type { RunContext } from './context.ts';
import { notifyFailure } from './notify.ts';
import type { Candidate } from './scan.ts';
import { retryableOutcomes, submittingStatus, type Failure } from './status.ts';

type Held = Extract<Claim, { claimed: true }>;

/** Thrown when a step failed before anything was sent downstream: the claim can go back. */
class BeforeDownstream extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'BeforeDownstream';
  }
}

async function readForClaim(
  ctx: RunContext,
  storage: Storage,
  file: Candidate,
): Promise<Content | undefined> {
  const { config } = ctx.parts.settings;
  const fields = { remitter: file.remitter, file: file.relative };
  try {
    return await readContent(storage, file.path, config.hash, config.max_file_bytes);
  } catch (error) {
    if (error instanceof StorageError && error.reason === 'not_found') {
      ctx.fail('read', 'the file disappeared before it was read', fields);
    } else if (error instanceof TooLargeError || error instanceof StorageError) {
      ctx.fail('read', error.message, fields);
    } else throw error;
    return undefined;
  }
}

function emitFile(ctx: RunContext, file: Candidate, status: string): void {
  ctx.deps.bus.emit('run:file', {
    pipeline: ctx.parts.settings.name,
    runId: ctx.runId,
    file: file.relative,
    remitter: file.remitter,
    status,
  });
}

/** Appends a failure outcome, counts it and notifies once. */
async function recordFailure(
  ctx: RunContext,
  file: Candidate,
  claim: Held,
  failure: { status: Failure; reason: string; detail?: unknown },
): Promise<void> {
  const row = {
    fileId: claim.fileId,
    attempt: claim.attempt,
    status: failure.status,
    path: file.relative,
    reason: failure.reason,
  };
  const id = await ctx.write((tx) =>
    appendLedger(tx, { ...row, runId: ctx.runId, detail: failure.detail }),
  );
  ctx.summary.failed[failure.status] = (ctx.summary.failed[failure.status] ?? 0) + 1;
  ctx.errors.push({ error: `${failure.status}: ${failure.reason}`, file: file.relative });
  ctx.step(failure.status.startsWith('extraction') ? 'extract' : 'submit', failure.status, {
    remitter: file.remitter,
    file: file.relative,
    reason: failure.reason,
  });
  emitFile(ctx, file, failure.status);
  await notifyFailure(ctx, { ...row, id }, file.remitter);
}

/** Extraction then submission for a held claim. */
async function deliver(ctx: RunContext, file: Candidate, claim: Held, content: Content) {
  const { parts } = ctx;
  const fields = { remitter: file.remitter, file: file.relative };
  // The extractor throws only before its upload starts (e.g. its token endpoint failed).
  const extracted = await parts.extractor
    .extract({
      remitter: file.remitter,
      fileName: file.relative.slice(file.relative.lastIndexOf('/') + 1),
      content: content.blob,
    })
    .catch((error: unknown) => {
      throw new BeforeDownstream(error);
    });
  if (!extracted.ok) return recordFailure(ctx, file, claim, extracted);
  ctx.step('extract', 'extracted', { ...fields, rows: extracted.rows.length });
  const at = {
    fileId: claim.fileId,
    attempt: claim.attempt,
    path: file.relative,
    runId: ctx.runId,
  };
  await ctx.write((tx) => appendLedger(tx, { ...at, status: submittingStatus }));
  const submitted = await parts.submitter.submit({
    remitter: file.remitter,
    referencePrefix: `${parts.settings.name}:${content.hash}`,
    rows: extracted.rows,
  });
  if (submitted.status !== 'success') return recordFailure(ctx, file, claim, submitted);
  await ctx.write((tx) =>
    appendLedger(tx, { ...at, status: 'success', detail: { rows: extracted.rows.length } }),
  );
  ctx.summary.succeeded += 1;
  ctx.step('submit', 'success', { ...fields, tries: submitted.tries });
  emitFile(ctx, file, 'success');
}

/** Takes one stable newest version through claim, extraction, submission and notification. */
export async function processFile(ctx: RunContext, storage: Storage, file: Candidate) {
  const content = await readForClaim(ctx, storage, file);
  if (!content) return;
  const { settings } = ctx.parts;
  const key: ClaimKey = {
    pipeline: settings.name,
    remitter: file.remitter,
    baseName: file.baseName,
    contentHash: content.hash,
    hashAlgorithm: settings.config.hash,
    size: content.size,
  };
  const detail = { size: content.size, mtime_ms: file.mtimeMs };
  const claim = await ctx.write((tx) =>
    claimFile(tx, key, { path: file.relative, runId: ctx.runId, detail }, retryableOutcomes),
  );
  const fields = { remitter: file.remitter, file: file.relative };
  if (!claim.claimed) {
    ctx.summary.already_claimed += 1;
    ctx.step('claim', 'already_claimed', { ...fields, latest: claim.status });
    return;
  }
  ctx.summary.claimed += 1;
  ctx.step('claim', 'claimed', { ...fields, attempt: claim.attempt, hash: content.hash });
  try {
    await deliver(ctx, file, claim, content);
  } catch (error) {
    if (!(error instanceof BeforeDownstream)) throw error;
    const reason = `before extraction: ${error.message}`;
    await ctx.write((tx) =>
      releaseClaim(tx, claim, { path: file.relative, runId: ctx.runId, reason }),
    );
    ctx.fail('extract', `${reason}; the claim was released for the next run`, fields);
    emitFile(ctx, file, 'released');
  }
}
