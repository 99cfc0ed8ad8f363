/**
 * What every step of one run shares: the pipeline's parts, the lease (every write
 * is fenced by it), the counters of the answer, and one way to log a step.
 */
import type { Logger } from 'pino';
import type { Db, Lease, Queryable } from '../db/index.ts';
import { fenced } from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { Storage } from '../storage/index.ts';
import type { Extractor } from './connectors/extractor.ts';
import type { Notifier } from './connectors/notifier.ts';
import type { Submitter } from './connectors/submitter.ts';
import type { PipelineSettings } from './settings.ts';
import { emptySummary, type RunError, type RunSummary } from './store.ts';

/** A configured pipeline with its connectors. */
export interface PipelineParts {
  readonly settings: PipelineSettings;
  readonly extractor: Extractor;
  readonly submitter: Submitter;
  readonly notifier: Notifier;
  /** Opens the source storage for one run (closed when the run ends). */
  openStorage(): Promise<Storage>;
}

/** Services a run uses, passed in by the composition root (tests pass their own clock). */
export interface RunDeps {
  readonly db: Db;
  readonly bus: Bus<FerryEvents>;
  readonly log: Logger;
  readonly nodeId: string;
  /** Wall clock in ms, for the minimum-age stability rule. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** A step's log fields besides the run's own. */
export interface StepFields {
  remitter?: string;
  file?: string;
  [key: string]: unknown;
}

/** The state of one run. */
export interface RunContext {
  readonly runId: string;
  readonly correlationId: string;
  readonly parts: PipelineParts;
  readonly deps: RunDeps;
  readonly lease: Lease;
  readonly summary: RunSummary;
  readonly errors: RunError[];
  /** Runs a write only while this run still holds the pipeline's lease. */
  write<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Logs one step as JSON with run_id, correlation_id, remitter, file, stage and status. */
  step(stage: string, status: string, fields?: StepFields): void;
  /** Adds an error entry to the answer and logs it. */
  fail(stage: string, error: string, fields?: StepFields): void;
  /** The path a notification names: the source location plus the relative path. */
  displayPath(relative: string): string;
}

/** Builds the context of one run. */
export function makeRunContext(init: {
  runId: string;
  correlationId: string;
  parts: PipelineParts;
  deps: RunDeps;
  lease: Lease;
}): RunContext {
  const { runId, correlationId, parts, deps, lease } = init;
  const log = deps.log.child({
    run_id: runId,
    correlation_id: correlationId,
    pipeline: parts.settings.name,
  });
  const errors: RunError[] = [];
  function step(stage: string, status: string, fields: StepFields = {}): void {
    const line = { remitter: null, file: null, ...fields, stage, status };
    log.info(line, `pipeline ${stage}: ${status}`);
  }
  return {
    ...init,
    summary: emptySummary(),
    errors,
    write: (fn) => fenced(deps.db, lease, fn),
    step,
    fail(stage, error, fields = {}) {
      errors.push(fields.file === undefined ? { error } : { error, file: fields.file });
      log.warn(
        { remitter: null, file: null, ...fields, stage, status: 'error', error },
        `pipeline ${stage}: ${error}`,
      );
    },
    displayPath(relative) {
      const location = parts.settings.location;
      return relative === '' ? location : `${location.replace(/\/+$/, '')}/${relative}`;
    },
  };
}
