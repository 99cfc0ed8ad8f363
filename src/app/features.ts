/**
 * The adapters that turn each domain capability into a `Feature`: the capability itself (no
 * HTTP) plus its route modules and its place in the start/stop order. The composition root
 * builds the list and loops over it.
 */
import { dashboardRoutes } from '../api/routes/dashboard.ts';
import { eventRoutes } from '../api/routes/events.ts';
import { liveRoutes } from '../api/routes/live.ts';
import { pipelineRoutes } from '../api/routes/pipelines.ts';
import { transferRoutes } from '../api/routes/transfers.ts';
import type { RouteModule } from '../api/server.ts';
import { makeEvents, type Events } from '../events/index.ts';
import type { JobDefinition } from '../jobs/index.ts';
import type { Clock, Every } from '../clock/clock.ts';
import { makeLive, type Live } from '../live/index.ts';
import { makePipelines, type Pipelines, type PipelinesDeps } from '../pipelines/index.ts';
import type { Storage, VolumeGuard } from '../storage/index.ts';
import { recordAccountActions, serveDashboard } from '../dashboard/index.ts';
import { makeTransferCapability, type TransferCapability } from '../transfers/index.ts';
import type { Feature, FeatureContext } from './feature.ts';

/** The live channel: started first, so the first job's domain events reach live clients too. */
export function liveFeature(ctx: FeatureContext, every?: Every): Feature & { live: Live } {
  const live = makeLive({
    db: ctx.db,
    bus: ctx.bus,
    nodeId: ctx.nodeId,
    config: ctx.config,
    now: ctx.now,
    every,
    log: ctx.logger,
  });
  const hub = live.hub;
  const routes = hub ? [liveRoutes({ hub, resolvePrincipal: ctx.resolvePrincipal })] : [];
  return {
    name: 'live',
    live,
    definitions: [],
    routes,
    start: () => live.start(),
    // Clients hear why (1001) and their sessions are marked detached before HTTP closes.
    stop: () => live.closeConnections(),
    // After the jobs: what they emitted while draining still reaches the topic log.
    close: () => live.stop(),
  };
}

/** Event ingestion: the drain and sweep jobs and the events routes. */
export function eventsFeature(ctx: FeatureContext): Feature & { events: Events } {
  const events = makeEvents({
    db: ctx.db,
    bus: ctx.bus,
    now: ctx.now,
    log: ctx.logger,
    retryLimit: ctx.config.jobs.retry_limit,
  });
  return {
    name: 'events',
    events,
    definitions: events.definitions,
    // A single event may carry a 1 MB payload (rejected later with a clear processing error).
    routes: [
      eventRoutes({
        db: ctx.db,
        events,
        singleBodyLimit: 2 * 1024 * 1024,
        batchBodyLimit: 32 * 1024 * 1024,
      }),
    ],
    async start(jobs) {
      events.attach(jobs);
    },
    async stop() {},
  };
}

/** Transfers: one-off runs, watch profiles under leases, the transfer routes. */
export function transfersFeature(
  ctx: FeatureContext,
  storage?: { source?: Storage; destination?: Storage },
  clock?: Clock,
): Feature & { capability: TransferCapability } {
  const capability = makeTransferCapability({
    db: ctx.db,
    bus: ctx.bus,
    config: ctx.config,
    nodeId: ctx.nodeId,
    logError: (error, message) => {
      ctx.logger.error({ err: error }, message);
    },
    storage,
    clock,
  });
  const { transfers, supervisor } = capability;
  let working = false;
  let stopping: Promise<void> = Promise.resolve();
  return {
    name: 'transfers',
    capability,
    definitions: transfers.definitions,
    routes: [transferRoutes({ transfers, volumes: transfers.volumes })],
    async start(jobs) {
      transfers.attach(jobs);
      working = jobs.working;
    },
    async resume() {
      if (!working) return;
      await supervisor.start();
      await transfers.resumeUnfinished();
    },
    async stop() {
      // Watch loops wind down while HTTP closes and the workers drain.
      stopping = supervisor.stop();
    },
    // Then the endpoints' connections (an open SSH socket would keep the process alive).
    async close() {
      await stopping;
      await capability.close();
    },
  };
}

/** Pipeline doubles and clocks a test may pass (fetch, now, sleep, SMB opener, env). */
export type PipelineOverrides = Partial<
  Pick<PipelinesDeps, 'fetch' | 'now' | 'sleep' | 'openSmb' | 'env'>
>;

/** Intake pipelines: scheduled runs and the coordinator-compatible routes. */
export function pipelinesFeature(
  ctx: FeatureContext,
  overrides: PipelineOverrides = {},
): Feature & { pipelines: Pipelines } {
  const pipelines = makePipelines({
    pipelines: ctx.config.pipelines,
    db: ctx.db,
    bus: ctx.bus,
    log: ctx.logger,
    nodeId: ctx.nodeId,
    ...overrides,
  });
  return {
    name: 'pipelines',
    pipelines,
    definitions: pipelines.definitions,
    routes: [pipelineRoutes({ pipelines })],
    async start() {},
    async stop() {},
    // Pipeline runs still archiving finish before the store closes.
    close: () => pipelines.stop(),
  };
}

/** Job definitions and route modules a caller (a test, a benchmark) composes in. */
export function extraFeature(
  definitions: readonly JobDefinition<never>[] = [],
  routes: readonly RouteModule[] = [],
): Feature {
  return { name: 'extra', definitions, routes, async start() {}, async stop() {} };
}

/**
 * The dashboard: its read routes, the audit recorder for account actions and the built app's
 * static files. It has no jobs and nothing to start or stop; `distDir` overrides where the built
 * app is read from.
 */
export function dashboardFeature(
  ctx: FeatureContext,
  volumes: VolumeGuard,
  distDir?: string,
): Feature {
  return {
    name: 'dashboard',
    definitions: [],
    routes: [
      function registerAuditRecorder(app) {
        recordAccountActions(app, ctx.db, ctx.logger);
      },
      dashboardRoutes({ db: ctx.db, config: ctx.config, volumes }),
      function registerDashboardApp(app) {
        return serveDashboard(app, distDir);
      },
    ],
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
}
