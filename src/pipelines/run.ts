/**
 * One run of one pipeline, under the pipeline's lease (invariant 6): recover, scan, process the
 * stable newest versions, answer, then archive. The answer comes back as soon as the files are
 * processed; `finished` settles when archiving is done and the lease is released.
 */
import { randomUUID } from 'node:crypto';
import { acquireLease, keepLease, releaseLease, type Lease } from '../db/index.ts';
import { FerryError } from '../errors/index.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import { isRootChanged } from '../storage/roots.ts';
import { archiveAll } from './archive.ts';
import { makeRunContext, type PipelineParts, type RunContext, type RunDeps } from './context.ts';
import { notifyRunFailure } from './notify.ts';
import { confinePipeline } from './pins.ts';
import { processFile } from './process-file.ts';
import { recoverStale } from './recover.ts';
import { planRun, type RunPlan } from './scan.ts';
import {
  answerRun,
  type ArchiveReport,
  finishRun,
  insertRun,
  type RunError,
  type RunRecord,
  type RunSummary,
} from './store.ts';

/** The answer of a run (the coordinator's shape). */
export interface RunOutcome {
  run_id: string;
  pipeline: string;
  summary: RunSummary;
  error: RunError[];
}

/** A started run: its answer, and when the archive step is over. */
export interface StartedRun {
  outcome: RunOutcome;
  /** Settles (never rejects) once archiving finished and the lease is released. */
  finished: Promise<RunRecord['status']>;
}

/** How a run was asked for. */
export interface RunRequest {
  trigger: 'api' | 'schedule';
  /** Carried into every log line; the request id for API runs. */
  correlationId?: string;
}

/** Lease name of a pipeline: one run at a time across every node. */
export const leaseName = (pipeline: string) => `pipeline:${pipeline}`;

/**
 * Keeps the lease alive (renewed at a third of `ttlMs`) while the run lasts; a lost lease makes
 * every fenced write fail.
 */
function keepRunLease(deps: RunDeps, lease: Lease, ttlMs: number): () => void {
  return keepLease(deps.db, lease, {
    ttlMs,
    onLost: () => {
      deps.bus.emit('lease:lost', { name: lease.name, holder: lease.holder, token: lease.token });
    },
    onRenewalError: (error) => {
      deps.log.warn({ err: error, lease: lease.name }, 'pipeline lease renewal failed');
    },
  });
}

async function processAll(ctx: RunContext, storage: Storage, plan: RunPlan): Promise<void> {
  const queue = [...plan.candidates];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift())
      await processFile(ctx, storage, file);
  };
  const width = Math.min(ctx.parts.settings.config.batch_size, queue.length);
  await Promise.all(Array.from({ length: width }, worker));
}

/** Records a source that could not be opened or listed: one error entry, one notification. */
async function unreachable(ctx: RunContext, error: unknown): Promise<undefined> {
  const reason = error instanceof Error ? error.message : String(error);
  ctx.fail('scan', `source unreachable: ${reason}`);
  await notifyRunFailure(ctx, 'source_unreachable', reason);
  return undefined;
}

/** Scans and processes; undefined plan when the source could not be reached. */
async function execute(ctx: RunContext, storage: Storage | undefined, openError: unknown) {
  await recoverStale(ctx);
  let plan: RunPlan | undefined;
  if (!storage) return unreachable(ctx, openError);
  try {
    plan = await planRun(ctx, storage);
  } catch (error) {
    if (!(error instanceof StorageError) && !isRootChanged(error)) throw error;
    return unreachable(ctx, error);
  }
  await processAll(ctx, storage, plan);
  ctx.summary.archived = plan.older.length + ctx.summary.succeeded;
  return plan;
}

/** The archive step and the run's end; never rejects. */
async function finish(
  ctx: RunContext,
  storage: Storage | undefined,
  plan: RunPlan | undefined,
  release: () => Promise<void>,
): Promise<RunRecord['status']> {
  let status: RunRecord['status'] = 'completed';
  let report: ArchiveReport | null = null;
  try {
    if (storage && plan) report = await archiveAll(ctx, storage, plan.older);
    await ctx.write((tx) => finishRun(tx, ctx.runId, 'completed', report, ctx.errors));
    ctx.step('run', 'completed', { archive: report });
  } catch (error) {
    status = 'failed';
    ctx.deps.log.error({ err: error, run_id: ctx.runId }, 'pipeline archive step failed');
  } finally {
    await release();
  }
  ctx.deps.bus.emit('run:completed', {
    pipeline: ctx.parts.settings.name,
    runId: ctx.runId,
    summary: { ...ctx.summary, archive: report },
  });
  return status;
}

/** Records the run (fenced by its lease) and announces it. */
async function begin(ctx: RunContext, trigger: RunRequest['trigger']): Promise<void> {
  const { runId, correlationId, deps, lease } = ctx;
  const pipeline = ctx.parts.settings.name;
  await ctx.write((tx) =>
    insertRun(tx, {
      id: runId,
      pipeline,
      trigger,
      correlationId,
      nodeId: deps.nodeId,
      leaseToken: lease.token,
    }),
  );
  ctx.step('run', 'started', { trigger });
  deps.bus.emit('run:started', { pipeline, runId });
}

/**
 * Starts a run of `parts`. Throws FERRY_ERR_PIPELINE_BUSY when another run of the same
 * pipeline holds the lease (on any node).
 */
export async function startRun(
  parts: PipelineParts,
  deps: RunDeps,
  request: RunRequest,
): Promise<StartedRun> {
  const runId = randomUUID();
  const name = parts.settings.name;
  const ttlMs = parts.settings.config.lease_seconds * 1000;
  const lease = await acquireLease(deps.db, leaseName(name), `${deps.nodeId}/${runId}`, ttlMs);
  if (!lease) throw new FerryError('FERRY_ERR_PIPELINE_BUSY', { pipeline: name });
  const stopKeeping = keepRunLease(deps, lease, ttlMs);
  const correlationId = request.correlationId ?? runId;
  const ctx = makeRunContext({ runId, correlationId, parts, deps, lease });
  let storage: Storage | undefined;
  const release = async () => {
    stopKeeping();
    await storage?.close().catch(() => undefined);
    await releaseLease(deps.db, lease).catch((error: unknown) => {
      deps.log.warn({ err: error, lease: lease.name }, 'pipeline lease release failed');
    });
  };
  try {
    await begin(ctx, request.trigger);
    let openError: unknown;
    storage = await parts
      .openStorage()
      .then((opened) => ctx.write((tx) => confinePipeline(tx, parts.settings, opened)))
      .catch((error: unknown) => {
        openError = error;
        return undefined;
      });
    const plan = await execute(ctx, storage, openError);
    await ctx.write((tx) => answerRun(tx, runId, ctx.summary, ctx.errors));
    ctx.step('run', 'answered', { summary: ctx.summary });
    const outcome: RunOutcome = {
      run_id: runId,
      pipeline: name,
      summary: structuredClone(ctx.summary),
      error: [...ctx.errors],
    };
    return { outcome, finished: finish(ctx, storage, plan, release) };
  } catch (error) {
    await ctx
      .write((tx) => finishRun(tx, runId, 'failed', null, ctx.errors))
      .catch(() => undefined);
    ctx.deps.log.error({ err: error, run_id: runId }, 'pipeline run failed');
    await release();
    throw error;
  }
}
