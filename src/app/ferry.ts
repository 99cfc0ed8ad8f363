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
  makeCredentialCache,
  type CredentialCache,
  makeTokenSigner,
  principalForApiKey,
} from '../auth/index.ts';
import { apiKeyRoutes } from '../api/routes/api-keys.ts';
import { authRoutes } from '../api/routes/auth.ts';
import type { Pipelines } from '../pipelines/index.ts';
import { makePrincipalResolver, type CredentialResolver } from '../api/auth-hook.ts';
import type { Config } from '../config/index.ts';
import { migrate, openStore, type Store } from '../db/index.ts';
import { makeJobs, type JobDefinition, type Jobs } from '../jobs/index.ts';
import { makeBus, type Bus, type FerryEvents } from '../bus/bus.ts';
import type { Clock, Every } from '../clock/clock.ts';
import type { Live } from '../live/index.ts';
import type { Storage } from '../storage/index.ts';
import type { TransferCapability } from '../transfers/index.ts';
import type { Feature, FeatureContext } from './feature.ts';
import {
  dashboardFeature,
  eventsFeature,
  extraFeature,
  liveFeature,
  pipelinesFeature,
  transfersFeature,
  type PipelineOverrides,
} from './features.ts';
import { clusterFeature, type ClusterFeature } from './cluster.ts';
import type { JobKind } from '../cluster/index.ts';
import { makeLogger } from './logger.ts';
import { version } from '../config/version.ts';

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
  /** Time for transfers (settle times, poll sleeps, retry delays); tests pass a fake clock. */
  transferClock?: Clock;
  /** Pipeline doubles and clocks (fetch, now, sleep, SMB opener, lease lifetime). */
  pipelines?: PipelineOverrides;
  /** Cluster job kinds next to the built-in ones (a test's kind that waits to be stopped). */
  jobKinds?: Readonly<Record<string, JobKind>>;
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
  let features: Feature[] = [];
  let http: FastifyInstance | undefined;
  let cluster: ClusterFeature | undefined;
  let checkpointTimer: NodeJS.Timeout | undefined;
  let credentials: CredentialCache | undefined;
  let starting: Promise<StartInfo> | undefined;
  let listeningUrl: string | undefined;
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
    const cache = makeCredentialCache({
      db: s.db,
      ttlMs: config.auth.credential_cache_ms,
      now: () => now().getTime(),
    });
    credentials = cache;
    await cache.start();
    const accounts = makeAccounts({
      db: s.db,
      signer: makeTokenSigner(await loadJwtSecret(s.db, config.auth.jwt_secret)),
      config: config.auth,
      now,
      revoked: () => {
        cache.invalidate();
      },
    });
    const resolvers: CredentialResolver[] = [
      cache.wrap((credential) =>
        credential.startsWith('fry_')
          ? principalForApiKey(s.db, credential)
          : accounts.principalForToken(credential),
      ),
    ];
    const ctx: FeatureContext = {
      db: s.db,
      bus,
      config,
      nodeId,
      logger,
      now,
      resolvePrincipal: makePrincipalResolver({ anonymous: config.auth.anonymous, resolvers }),
    };
    const liveF = liveFeature(ctx, parts.every);
    const transfersF = transfersFeature(ctx, parts.transferStorage, parts.transferClock);
    const pipelinesF = pipelinesFeature(ctx, parts.pipelines);
    const eventsF = eventsFeature(ctx);
    live = liveF.live;
    transfers = transfersF.capability;
    pipelines = pipelinesF.pipelines;
    // The live channel comes first: what it subscribes to in start() hears the first job.
    features = [
      liveF,
      eventsF,
      transfersF,
      pipelinesF,
      dashboardFeature(ctx, transfersF.capability.transfers.volumes),
      extraFeature(parts.jobs, parts.routes),
    ];
    cluster = clusterFeature({
      db: s.db,
      bus,
      config,
      nodeId,
      version,
      transfers: transfersF.capability.transfers,
      events: eventsF.events,
      pipelines: pipelinesF.pipelines,
      extraKinds: parts.jobKinds,
      volumes: transfersF.capability.transfers.volumes,
      listeningUrl: () => listeningUrl,
      log: logger,
    });
    jobs = makeJobs({
      store: s,
      config,
      definitions: features.flatMap((f) => f.definitions),
      bus,
      log: logger,
    });
    const j = jobs;
    for (const feature of features) await feature.start(j);
    await j.start();
    if (j.working) for (const feature of features) await feature.resume?.();
    if (s.kind === 'pglite') {
      checkpointTimer = setInterval(() => {
        s.db.checkpoint().catch((error: unknown) => {
          logger.warn({ err: error }, 'checkpoint failed');
        });
      }, config.store.checkpoint_interval_seconds * 1000);
      checkpointTimer.unref();
    }
    const metrics = makeMetrics({ bus, depths: () => j.depths() });
    const featureRoutes: RouteModule[] =
      config.role === 'worker'
        ? []
        : [
            // First: its hooks (protocol headers) then cover every route after it.
            ...cluster.routes,
            authRoutes({ accounts }),
            apiKeyRoutes({
              db: s.db,
              revoked: () => {
                cache.invalidate();
              },
            }),
            ...features.flatMap((f) => f.routes),
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
      routes: [systemRoutes({ version, store: s.kind, status, metrics }), ...featureRoutes],
    });
    const url = await http.listen({ host: config.http.host, port: config.http.port });
    listeningUrl = url;
    await cluster.start();
    // Made only once the server is up, so a failed first start cannot swallow the one printing.
    const bootstrapKey = await ensureBootstrapKey(s.db);
    return { url, store: s.kind, location: s.location, bootstrapKey };
  }

  /** Features stop taking work, then HTTP and the workers drain in parallel (bounded), then
   * features finish in reverse order before the store closes. */
  async function stop(): Promise<void> {
    clearInterval(checkpointTimer);
    // First: submissions are redirected while running parts move to other nodes.
    await cluster?.stop().catch((error: unknown) => {
      logger.warn({ err: error }, 'cluster drain failed');
    });
    for (const feature of features) await feature.stop();
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
    // After the workers: what they emitted while draining still reaches the topic log.
    for (const feature of [...features].reverse()) await feature.close?.();
    await credentials?.stop();
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
