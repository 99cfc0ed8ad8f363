/**
 * The job queue: pg-boss on the store, with Ferry's job registry, retry defaults, orphan
 * recovery and graceful shutdown. Retries, backoff, singleton keys and cancellation come from
 * pg-boss; this module only wires them to typed definitions.
 */
import type { JobResult, PgBoss, SendOptions } from 'pg-boss';
import type { Config } from '../config/index.ts';
import type { Store } from '../db/index.ts';
import { FerryError } from '../errors/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { makeBoss } from './backend.ts';
import type { JobDefinition } from './registry.ts';

/** Options for one send; `singletonKey` makes a second send with the same key a no-op. */
export interface SendJobOptions {
  singletonKey?: string;
  startAfterSeconds?: number;
  priority?: number;
}

/** Depth of one queue, for /api/v1/status and /metrics. */
export interface QueueDepth {
  name: string;
  queued: number;
  active: number;
  deferred: number;
  failed: number;
  total: number;
}

/** The running job system. */
export interface Jobs {
  /** Registered job names. */
  readonly names: readonly string[];
  /** Whether this node runs handlers (role all or worker). */
  readonly working: boolean;
  start(): Promise<void>;
  /** Stops fetching; in-flight jobs get `timeoutMs` to finish, then are failed for retry. */
  stop(): Promise<void>;
  send<Data extends object>(
    definition: JobDefinition<Data>,
    data: Data,
    options?: SendJobOptions,
  ): Promise<string | null>;
  cancel(definition: JobDefinition<never>, id: string): Promise<void>;
  depths(): Promise<QueueDepth[]>;
  /** The underlying pg-boss instance, for inspection (tests, benchmarks) and pg-boss-only calls. */
  readonly boss: PgBoss;
}

/** Everything makeJobs needs; passed in so tests can hand their own definitions. */
export interface JobsDeps {
  store: Store;
  config: Pick<Config, 'jobs' | 'role'>;
  definitions: readonly JobDefinition<never>[];
  bus: Bus<FerryEvents>;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export function makeJobs(deps: JobsDeps): Jobs {
  const { store, config, definitions, bus, log } = deps;
  const boss = makeBoss(
    store,
    config.jobs,
    definitions.some((d) => d.cron !== undefined),
  );
  const byName = new Map(definitions.map((d) => [d.name, d]));
  const working = config.role !== 'api';
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  boss.on('error', (error) => {
    log.error({ err: error }, 'job queue error');
  });

  async function start(): Promise<void> {
    await boss.start();
    for (const def of definitions) {
      const policy = def.policy ?? {};
      const options = {
        retryLimit: policy.retryLimit ?? config.jobs.retry_limit,
        retryDelay: policy.retryDelaySeconds ?? config.jobs.retry_delay_seconds,
        retryBackoff: policy.retryBackoff ?? config.jobs.retry_backoff,
        expireInSeconds: policy.expireSeconds ?? config.jobs.expire_seconds,
      };
      await boss.createQueue(def.name, {
        ...options,
        notify: true,
        policy: policy.queuePolicy ?? 'standard',
        // Heartbeats let other nodes retry a dead node's jobs; the embedded store has one node
        // and recovers its orphans at start, so it skips their per-job writes.
        ...(store.kind === 'postgres' ? { heartbeatSeconds: config.jobs.heartbeat_seconds } : {}),
      });
      // createQueue leaves an existing queue as it was; changed retry settings apply from here.
      await boss.updateQueue(def.name, options);
      if (def.cron) await boss.schedule(def.name, def.cron, {});
    }
    if (!working) return;
    if (store.kind === 'pglite') await recoverOrphans();
    for (const def of definitions) await startWorker(def);
  }

  /**
   * The embedded store has exactly one process (the data-dir lock), so any job still `active`
   * at start was running when the previous process died: fail it now (it retries) instead of
   * waiting for its heartbeat to lapse. On PostgreSQL other nodes may be running jobs, so there
   * the heartbeat monitor decides.
   */
  async function recoverOrphans(): Promise<void> {
    for (const def of definitions) {
      // pg-boss's job table is documented; reading only active rows keeps start-up cheap.
      const { rows } = await store.db.query<{ id: string }>(
        `SELECT id FROM pgboss.job WHERE name = $1 AND state = 'active'`,
        [def.name],
      );
      if (rows.length === 0) continue;
      await boss.fail(
        def.name,
        rows.map((j) => j.id),
        { error: 'interrupted by a crash; retrying' },
      );
      log.warn({ job: def.name, count: rows.length }, 'retrying jobs interrupted by a crash');
    }
  }

  async function startWorker(def: JobDefinition<never>): Promise<void> {
    const concurrency = def.policy?.concurrency ?? 1;
    await boss.work<object>(
      def.name,
      {
        batchSize: def.policy?.batchSize ?? config.jobs.batch_size,
        burstWhenBatchFull: true,
        // NOTIFY wakes workers for new jobs; retries and delayed jobs are found by this poll.
        pollingIntervalSeconds: config.jobs.poll_interval_seconds,
        notifyPollingIntervalSeconds: config.jobs.poll_interval_seconds,
        perJobResults: true,
        localConcurrency: concurrency,
      },
      async function runBatch(batch): Promise<JobResult[]> {
        return Promise.all(
          batch.map(async (job): Promise<JobResult> => {
            try {
              const output: unknown = await def.handler({
                id: job.id,
                data: job.data as never,
                retryCount: job.retryCount,
                signal: job.signal,
              });
              bus.emit('job:completed', { name: def.name, id: job.id, output });
              return { id: job.id, status: 'completed', output: toOutput(output) };
            } catch (error) {
              const message = error instanceof Error ? error.message : String(error);
              bus.emit('job:failed', {
                name: def.name,
                id: job.id,
                error: message,
                retryCount: job.retryCount,
              });
              return { id: job.id, status: 'failed', output: { message } };
            }
          }),
        );
      },
    );
  }

  function known(name: string): void {
    if (!byName.has(name)) throw new FerryError('FERRY_ERR_JOB_UNKNOWN', { name });
  }

  return {
    names: definitions.map((d) => d.name),
    working,
    boss,
    start() {
      starting ??= start();
      return starting;
    },
    stop() {
      if (!starting) return Promise.resolve();
      const started = starting;
      stopping ??= (async function stopJobs() {
        await started.catch(() => undefined);
        await boss.stop({
          graceful: true,
          timeout: config.jobs.shutdown_timeout_ms,
          close: store.kind === 'postgres',
        });
      })();
      return stopping;
    },
    async send(definition, data, options = {}) {
      known(definition.name);
      const sendOptions: SendOptions = {};
      if (options.singletonKey !== undefined) sendOptions.singletonKey = options.singletonKey;
      if (options.startAfterSeconds !== undefined)
        sendOptions.startAfter = options.startAfterSeconds;
      if (options.priority !== undefined) sendOptions.priority = options.priority;
      return boss.send(definition.name, data, sendOptions);
    },
    async cancel(definition, id) {
      known(definition.name);
      await boss.cancel(definition.name, id);
    },
    async depths() {
      if (definitions.length === 0) return [];
      const queues = await boss.getQueues(definitions.map((d) => d.name));
      return queues.map((q) => ({
        name: q.name,
        queued: q.queuedCount,
        active: q.activeCount,
        deferred: q.deferredCount,
        failed: q.failedCount,
        total: q.totalCount,
      }));
    },
  };
}

/** pg-boss stores outputs as JSON objects; wrap scalars so nothing is silently dropped. */
function toOutput(value: unknown): object | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'object' ? value : { value };
}
