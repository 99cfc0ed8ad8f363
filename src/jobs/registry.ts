/**
 * Typed job definitions. A capability defines its jobs with `defineJob` and hands them to the
 * composition root; `send(definition, data)` is checked against the definition's data type, so
 * a job name and its payload can never drift apart.
 */

/** What a handler receives for one job. */
export interface JobContext<Data> {
  readonly id: string;
  readonly data: Data;
  /** Attempts already failed before this one. */
  readonly retryCount: number;
  /** Aborted when the job is cancelled, expires, or shutdown runs out of time. */
  readonly signal: AbortSignal;
}

/** Per-job-name overrides of the `jobs.*` config defaults. */
export interface JobPolicy {
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  expireSeconds?: number;
  /**
   * pg-boss queue policy. `exclusive`: at most one queued-or-running job per singleton key, so a
   * second send with the same key is a no-op (returns null). Fixed when the queue is first made.
   */
  queuePolicy?: 'standard' | 'short' | 'singleton' | 'stately' | 'exclusive';
  /** Jobs fetched together; they run concurrently, so heavy jobs want a small batch. */
  batchSize?: number;
  /** Independent fetch loops this node runs for this name. */
  concurrency?: number;
}

/** A job name bound to its handler and its data type. */
export interface JobDefinition<Data extends object = object> {
  /** Stable queue name (`capability.action`); renaming it orphans queued jobs. */
  readonly name: string;
  readonly handler: (job: JobContext<Data>) => Promise<unknown>;
  readonly policy?: JobPolicy;
  /** Run on this cron schedule (pg-boss cron: one node sends each occurrence). */
  readonly cron?: string;
}

/** Declares a job; the identity function exists for its type inference. */
export function defineJob<Data extends object>(
  definition: JobDefinition<Data>,
): JobDefinition<Data> {
  if (!/^[a-z][a-z0-9_.-]{0,99}$/.test(definition.name)) {
    throw new Error(
      `job name ${definition.name} must be lowercase letters, digits, '.', '_' or '-'`,
    );
  }
  return definition;
}
