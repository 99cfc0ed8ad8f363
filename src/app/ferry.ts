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
import { makeEvents } from '../events/index.ts';
import type { Config } from '../config/index.ts';
import { migrate, openStore, type Store } from '../db/index.ts';
import { makeJobs, type JobDefinition, type Jobs } from '../jobs/index.ts';
import { makeBus, type Bus, type FerryEvents } from '../live/bus.ts';
import { makeLogger } from './logger.ts';
import { version } from './version.ts';

/** Extra parts a caller (a test, a future capability) composes in. */
export interface FerryParts {
  jobs?: readonly JobDefinition<never>[];
  routes?: readonly RouteModule[];
  logger?: Logger;
  /** The clock for token lifetimes; tests pass a fake one. */
  now?: () => Date;
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
    const events = makeEvents({
      db: s.db,
      bus,
      now,
      log: logger,
      retryLimit: config.jobs.retry_limit,
    });
    jobs = makeJobs({
      store: s,
      config,
      definitions: [...events.definitions, ...(parts.jobs ?? [])],
      bus,
      log: logger,
    });
    events.attach(jobs);
    await jobs.start();
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
            ...(parts.routes ?? []),
          ];
    http = await buildHttp({
      version,
      logger,
      bodyLimit: config.http.body_limit_bytes,
      anonymous: config.auth.anonymous,
      trustedProxies: config.http.trusted_proxies,
      resolvers: [
        (credential) =>
          credential.startsWith('fry_')
            ? principalForApiKey(s.db, credential)
            : accounts.principalForToken(credential),
      ],
      metrics,
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
    const h = http;
    const httpClosed = h
      ? Promise.race([
          h.close(),
          new Promise<void>((resolve) =>
            setTimeout(resolve, config.http.shutdown_timeout_ms).unref(),
          ),
        ])
      : Promise.resolve();
    await Promise.all([httpClosed, jobs?.stop()]);
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
  };
}
