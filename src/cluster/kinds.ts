/**
 * The job kinds: what a job of each kind runs in a zone, as data. A new kind is one entry here:
 * the paths its nodes must reach, a check of its spec, and how one zone's part runs.
 */
import { once } from 'node:events';
import path from 'node:path';
import { invalidFields, isFerryError } from '../errors/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { Lease } from '../db/index.ts';
import {
  checkEventBatch,
  toNewEvent,
  validationError,
  type Events,
  type NewEvent,
} from '../events/index.ts';
import type { Pipelines } from '../pipelines/index.ts';
import type { CreateTransfer, Transfers } from '../transfers/index.ts';

/** What a part's runner gets: the merged spec of its zone and a signal to stop on. */
export interface PartContext {
  jobId: string;
  zone: string;
  spec: Record<string, unknown>;
  ownerUserId: number | null;
  signal: AbortSignal;
  /** The part's lease: writes that must not outlive its ownership go through it (`fenced`). */
  lease: Lease;
  /** Reports finished items and bytes, for the windowed stats pushes. */
  progress(delta: { items?: number; bytes?: number; errors?: number }): void;
}

/** A part's outcome; `undefined` when it was interrupted (stop, lease lost, cancel). */
export interface PartOutcome {
  status: 'completed' | 'failed';
  result: Record<string, unknown>;
  /** Per-item results (each file with its checksums). */
  items: readonly Record<string, unknown>[];
}

export interface JobKind {
  /** Paths in a (merged) spec that the part's node must reach through its volumes. */
  paths(spec: Record<string, unknown>): string[];
  /** Throws 422 naming the field when the spec cannot run. */
  check(spec: Record<string, unknown>, field: string): void;
  run(context: PartContext): Promise<PartOutcome | undefined>;
}

export interface KindDeps {
  transfers: Pick<Transfers, 'create' | 'runHere' | 'fileRecords' | 'record'>;
  events: Pick<Events, 'submit'>;
  pipelines: Pick<Pipelines, 'list' | 'run'>;
  bus: Bus<FerryEvents>;
  /** Kinds a caller composes in (tests); they cannot replace the built-in ones. */
  extra?: Readonly<Record<string, JobKind>>;
}

function requireString(spec: Record<string, unknown>, key: string, field: string): string {
  const value = spec[key];
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) {
    throw invalidFields([{ field: `${field}.${key}`, message: 'must be a non-empty path' }]);
  }
  return value;
}

/** A one-off transfer: the zone's node copies and verifies, resuming from the file records. */
function transferKind(deps: KindDeps): JobKind {
  const { transfers } = deps;
  return {
    paths: (spec) =>
      [spec.source_path, spec.destination_path]
        .filter((p): p is string => typeof p === 'string')
        .map((p) => path.resolve(p)),
    check(spec, field) {
      requireString(spec, 'source_path', field);
      requireString(spec, 'destination_path', field);
      if (spec.watch_mode_enabled === true) {
        throw invalidFields([
          { field: `${field}.watch_mode_enabled`, message: 'a job runs one-off transfers only' },
        ]);
      }
    },
    async run(context) {
      const spec = { ...context.spec, watch_mode_enabled: false } as unknown as CreateTransfer;
      const row = await transfers.create(spec, context.ownerUserId, {
        clusterPart: `${context.jobId}:${context.zone}`,
      });
      let seen = row.bytes_transferred;
      const off = deps.bus.on('transfer:progress', (p) => {
        if (p.transferId !== row.id) return;
        context.progress({ bytes: Math.max(0, p.bytes - seen) });
        seen = Math.max(seen, p.bytes);
      });
      const status = await transfers.runHere(row.id, context.signal, context.lease).finally(off);
      if (status !== 'completed' && status !== 'failed') return undefined;
      const files = await transfers.fileRecords(row.id, { limit: 1000, offset: 0 });
      const done = await transfers.record(row.id);
      context.progress({ items: files.completed, errors: files.failed });
      return {
        status,
        result: {
          transfer_id: row.id,
          file_count: done?.file_count ?? files.total,
          bytes: done?.bytes_transferred ?? 0,
          failed: files.failed,
          error: done?.error_message ?? null,
        },
        items: files.items.map((f) => ({
          path: f.relative_path,
          size: f.file_size,
          status: f.status,
          algorithm: f.algorithm,
          source_checksum: f.source_checksum,
          destination_checksum: f.destination_checksum,
          checksum_match: f.checksum_match,
          attempts: f.attempts,
        })),
      };
    },
  };
}

/** Resolves with `undefined` once `signal` aborts (a stop, a cancel, a timeout). */
async function stopped(signal: AbortSignal): Promise<undefined> {
  if (!signal.aborted) await once(signal, 'abort');
  return undefined;
}

/**
 * One run of a configured pipeline (`{pipeline: name}`) through the pipelines service, under
 * the pipeline's own lease (never two runs of one pipeline at a time, cluster-wide). A run cannot
 * be interrupted between files: a stopped part lets it finish what it claimed, on its own.
 */
function pipelineRunKind(deps: KindDeps): JobKind {
  const { pipelines } = deps;
  return {
    paths: () => [],
    check(spec, field) {
      const name = spec.pipeline;
      const known = pipelines.list().map((p) => p.name);
      const extra = Object.keys(spec).filter((k) => k !== 'pipeline');
      if (extra.length > 0) {
        throw invalidFields(
          extra.map((k) => ({ field: `${field}.${k}`, message: 'is not a pipeline_run field' })),
        );
      }
      if (typeof name !== 'string' || !known.includes(name)) {
        const configured = known.length > 0 ? known.join(', ') : 'none';
        throw invalidFields([
          {
            field: `${field}.pipeline`,
            message: `must name a configured pipeline (configured: ${configured})`,
          },
        ]);
      }
    },
    async run(context) {
      const name = context.spec.pipeline as string;
      const request = {
        trigger: 'api' as const,
        correlationId: `job:${context.jobId}:${context.zone}`,
      };
      let started;
      try {
        started = await Promise.race([pipelines.run(name, request), stopped(context.signal)]);
      } catch (error) {
        // Another run of the pipeline holds its lease: this part fails with that reason.
        if (!isFerryError(error)) throw error;
        return { status: 'failed', result: { error: error.message, code: error.code }, items: [] };
      }
      if (!started) return undefined;
      const status = await Promise.race([started.finished, stopped(context.signal)]);
      if (status === undefined) return undefined;
      const { outcome } = started;
      const failed = Object.values(outcome.summary.failed).reduce((a, b) => a + b, 0);
      context.progress({ items: outcome.summary.succeeded, errors: failed });
      return {
        status: status === 'completed' ? 'completed' : 'failed',
        result: {
          run_id: outcome.run_id,
          pipeline: outcome.pipeline,
          run_status: status,
          summary: outcome.summary,
          error: outcome.error,
        },
        items: outcome.error.map((e) => ({ ...e })),
      };
    },
  };
}

/**
 * A batch of events (`{events: [...]}`, the body of POST /api/v1/events/batch) ingested through
 * the events service. Events that could never be processed (blank names, a payload past 1 MB or
 * 10 levels) are rejected and counted instead of stored; the rest are accepted. A part taken
 * over after its node died submits the batch again: events with a `message_id` are stored once.
 */
function eventBatchKind(deps: KindDeps): JobKind {
  return {
    paths: () => [],
    check(spec, field) {
      checkEventBatch(spec, field);
    },
    async run(context) {
      checkEventBatch(context.spec, 'spec');
      const client = { ip: null, userAgent: null };
      const events = context.spec.events.map((e) => toNewEvent(e, context.ownerUserId, client));
      const verdicts = events.map((e) => validationError(e));
      const fit = events.filter((_, i) => verdicts[i] === undefined);
      const accepted =
        fit.length > 0 ? await deps.events.submit(context.ownerUserId, fit) : undefined;
      const ids = [...(accepted?.ids ?? [])];
      const items = events.map((_e: NewEvent, index) => {
        const error = verdicts[index];
        return error === undefined
          ? { index, status: 'accepted', event_id: ids.shift() ?? null }
          : { index, status: 'rejected', error };
      });
      const rejected = events.length - fit.length;
      context.progress({ items: fit.length, errors: rejected });
      return {
        status: 'completed',
        result: {
          accepted: fit.length,
          rejected,
          duplicate: accepted?.status === 'duplicate',
          task_id: accepted?.taskId ?? null,
        },
        items,
      };
    },
  };
}

/** Every kind by name. */
export function makeKinds(deps: KindDeps): Readonly<Record<string, JobKind>> {
  return {
    ...deps.extra,
    transfer: transferKind(deps),
    pipeline_run: pipelineRunKind(deps),
    event_batch: eventBatchKind(deps),
  };
}
