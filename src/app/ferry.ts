/**
 * The composition root: builds every part from the config and owns start/stop. Capabilities
 * plug in here (their job definitions and route modules); nothing else wires parts together.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildHttp, type RouteModule } from '../api/server.ts';
import { makeMetrics } from '../api/metrics.ts';
import { systemRoutes, type StatusReport } from '../api/routes/system.ts';
import {
  ensureBootstrapKey,
  loadJwtSecret,
  makeAccounts,
  makeTokenSigner,
  principalForApiKey,
} from '../auth/index.ts';
import { apiKeyRoutes } from '../api/routes/api-keys.ts';
import { authRoutes } from '../api/routes/auth.ts';
import { eventRoutes } from '../api/routes/events.ts';
import { pipelineRoutes } from '../api/routes/pipelines.ts';
import { makePipelines, type Pipelines, type PipelinesDeps } from '../pipelines/index.ts';
import { liveRoutes } from '../api/routes/live.ts';
import { makePrincipalResolver, type CredentialResolver } from '../api/auth-hook.ts';
import { transferRoutes } from '../api/routes/transfers.ts';
import { makeEvents } from '../events/index.ts';
import type { Config } from '../config/index.ts';
import { migrate, openStore, type Store } from '../db/index.ts';
import { makeJobs, type JobDefinition, type Jobs } from '../jobs/index.ts';
import { makeBus, type Bus, type FerryEvents } from '../live/bus.ts';
import { makeLive, type Every, type Live } from '../live/index.ts';
import type { Storage } from '../storage/index.ts';
import { makeTransferCapability, type TransferCapability } from '../transfers/index.ts';
import { makeLogger } from './logger.ts';
import { version } from './version.ts';

/** Extra parts a caller (a test, a future capability) composes in. */
export interface FerryParts {
  jobs?: readonly JobDefinition<never>[];
  routes?: readonly RouteModule[];
  logger?: Logger;
  /** The clock for token lifetimes and live-session windows; tests pass a fake one. */
  now?: () => Date;
  /** Periodic timers of the live hub (heartbeats, sweeps); tests pass fake ones. */
  every?: Every;
  /** Storage for transfers (tests pass one that fails or corrupts on purpose). */
  transferStorage?: { source?: Storage; destination?: Storage };
  /** Pipeline doubles and clocks (fetch, now, sleep, SMB opener, lease lifetime). */
  pipelines?: Partial<
    Pick<PipelinesDeps, 'fetch' | 'now' | 'sleep' | 'openSmb' | 'env' | 'leaseTtlMs'>
  >;
}

/** What start() reports, for the CLI's start-up lines. */
export interface StartInfo {
  url: string | undefined;
  store: Store['kind'];
  location: string;
  /** Printed once, on the very first start; undefined afterwards. */
  bootstrapKey: string | undefined;
}

/** A running (or startable) Ferry node. */
export interface Ferry {
  readonly config: Config;
  readonly nodeId: string;
  readonly bus: Bus<FerryEvents>;
  readonly logger: Logger;
  start(): Promise<StartInfo>;
  stop(): Promise<void>;
  /** Available after start(). */
  readonly store: Store;
  readonly jobs: Jobs;
  readonly http: FastifyInstance | undefined;
  readonly live: Live;
  readonly transfers: TransferCapability;
  readonly pipelines: Pipelines;
}

export function makeFerry(config: Config, parts: FerryParts = {}): Ferry {
  const logger = parts.logger ?? makeLogger(config);
  const bus = makeBus<FerryEvents>((error) => {
    logger.error({ err: error }, 'domain event listener failed');
  });
  const nodeId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const startedAt = new Date();
  let store: Store | undefined;
  let jobs: Jobs | undefined;
  let live: Live | undefined;
  let transfers: TransferCapability | undefined;
  let pipelines: Pipelines | undefined;
  let http: FastifyInstance | undefined;
  let checkpointTimer: NodeJS.Timeout | undefined;
  let starting: Promise<StartInfo> | undefined;
  let stopping: Promise<void> | undefined;

  function need<T>(part: T | undefined, name: string): T {
    if (part === undefined) throw new Error(`ferry.${name} is available only after start()`);
    return part;
  }

  async function status(): Promise<StatusReport> {
    const j = need(jobs, 'jobs');
    return {
      service: 'ferry',
      version,
      store: need(store, 'store').kind,
      role: config.role,
      node_id: nodeId,
      uptime_seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
      started_at: startedAt.toISOString(),
      workers: { job_names: [...j.names], running: j.working },
      queues: await j.depths(),
    };
  }

  /** A failed start undoes what it did (releases the data-dir lock) before reporting. */
  async function start(): Promise<StartInfo> {
    try {
      return await startParts();
    } catch (error) {
      await stop().catch((stopError: unknown) => {
        logger.warn({ err: stopError }, 'cleanup after failed start failed');
      });
      throw error;
    }
  }

  async function startParts(): Promise<StartInfo> {
    store = await openStore(config, (error) => {
      logger.warn({ err: error }, 'store connection error');
    });
    const s = store;
    await migrate(s.db);
    const now = parts.now ?? (() => new Date());
    // Started before the jobs, so the first job's domain events reach live clients too.
    live = makeLive({ db: s.db, bus, nodeId, config, now, every: parts.every, log: logger });
    await live.start();
    const events = makeEvents({
      db: s.db,
      bus,
      now,
      log: logger,
      retryLimit: config.jobs.retry_limit,
    });
    const t = makeTransferCapability({
      db: s.db,
      bus,
      config,
      nodeId,
      logError: (error, message) => {
        logger.error({ err: error }, message);
      },
      storage: parts.transferStorage,
    });
    transfers = t;
    const p = makePipelines({
      pipelines: config.pipelines,
      db: s.db,
      bus,
      log: logger,
      nodeId,
      ...parts.pipelines,
    });
    pipelines = p;
    jobs = makeJobs({
      store: s,
      config,
      definitions: [
        ...events.definitions,
        ...t.transfers.definitions,
        ...p.definitions,
        ...(parts.jobs ?? []),
      ],
      bus,
      log: logger,
    });
    events.attach(jobs);
    t.transfers.attach(jobs);
    await jobs.start();
    if (jobs.working) {
      await t.supervisor.start();
      await t.transfers.resumeUnfinished();
    }
    if (s.kind === 'pglite') {
      checkpointTimer = setInterval(() => {
        s.db.checkpoint().catch((error: unknown) => {
          logger.warn({ err: error }, 'checkpoint failed');
        });
      }, config.store.checkpoint_interval_seconds * 1000);
      checkpointTimer.unref();
    }
    const accounts = makeAccounts({
      db: s.db,
      signer: makeTokenSigner(await loadJwtSecret(s.db, config.auth.jwt_secret)),
      config: config.auth,
      now,
    });
    const j = jobs;
    const resolvers: CredentialResolver[] = [
      (credential) =>
        credential.startsWith('fry_')
          ? principalForApiKey(s.db, credential)
          : accounts.principalForToken(credential),
    ];
    const liveHub = live.hub;
    const metrics = makeMetrics({ bus, depths: () => j.depths() });
    const capabilityRoutes =
      config.role === 'worker'
        ? []
        : [
            authRoutes({ accounts }),
            apiKeyRoutes({ db: s.db }),
            // A single event may carry a 1 MB payload (rejected later with a clear processing error).
            eventRoutes({
              db: s.db,
              events,
              singleBodyLimit: 2 * 1024 * 1024,
              batchBodyLimit: 32 * 1024 * 1024,
            }),
            transferRoutes({ transfers: t.transfers, volumes: t.transfers.volumes }),
            pipelineRoutes({ pipelines: p }),
            ...(liveHub
              ? [
                  liveRoutes({
                    hub: liveHub,
                    resolvePrincipal: makePrincipalResolver({
                      anonymous: config.auth.anonymous,
                      resolvers,
                    }),
                  }),
                ]
              : []),
            ...(parts.routes ?? []),
          ];
    http = await buildHttp({
      version,
      logger,
      bodyLimit: config.http.body_limit_bytes,
      anonymous: config.auth.anonymous,
      trustedProxies: config.http.trusted_proxies,
      resolvers,
      metrics,
      websocketMaxPayload: Math.max(4 * config.live.max_message_bytes, 65536),
      routes: [systemRoutes({ version, store: s.kind, status, metrics }), ...capabilityRoutes],
    });
    const url = await http.listen({ host: config.http.host, port: config.http.port });
    // Made only once the server is up, so a failed first start cannot swallow the one printing.
    const bootstrapKey = await ensureBootstrapKey(s.db);
    return { url, store: s.kind, location: s.location, bootstrapKey };
  }

  /** Stops in reverse order; HTTP and jobs drain in parallel so shutdown stays bounded. */
  async function stop(): Promise<void> {
    clearInterval(checkpointTimer);
    // Clients hear why (1001) and their sessions are marked detached before HTTP closes.
    await live?.closeConnections();
    const h = http;
    const httpClosed = h
      ? Promise.race([
          h.close(),
          new Promise<void>((resolve) =>
            setTimeout(resolve, config.http.shutdown_timeout_ms).unref(),
          ),
        ])
      : Promise.resolve();
    // Pipeline runs still archiving finish before the store closes.
    await Promise.all([httpClosed, transfers?.supervisor.stop(), jobs?.stop(), pipelines?.stop()]);
    // After the jobs: what they emitted while draining still reaches the topic log.
    await live?.stop();
    await store?.close();
  }

  return {
    config,
    nodeId,
    bus,
    logger,
    start() {
      starting ??= start();
      return starting;
    },
    stop() {
      stopping ??= (async function stopFerry() {
        if (starting) await starting.catch(() => undefined);
        await stop();
      })();
      return stopping;
    },
    get store() {
      return need(store, 'store');
    },
    get jobs() {
      return need(jobs, 'jobs');
    },
    get http() {
      return http;
    },
    get live() {
      return need(live, 'live');
    },
    get transfers() {
      return need(transfers, 'transfers');
    },
    get pipelines() {
      return need(pipelines, 'pipelines');
    },
  };
}
