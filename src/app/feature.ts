/**
 * The one shape every feature plugs into the composition root with (events, transfers,
 * pipelines, live, and the ones to come: cluster, dashboard), so `makeFerry` composes them in a
 * loop. A feature is built from a `FeatureContext` by an adapter in `features.ts`; the domain
 * module behind it knows nothing about HTTP, the adapter pairs it with its route modules.
 */
import type { Logger } from 'pino';
import type { RouteModule } from '../api/server.ts';
import type { PrincipalResolver } from '../api/auth-hook.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import type { JobDefinition, Jobs } from '../jobs/index.ts';

/** What the composition root hands every feature when it builds it (after migrations). */
export interface FeatureContext {
  readonly db: Db;
  readonly bus: Bus<FerryEvents>;
  readonly config: Config;
  readonly nodeId: string;
  readonly logger: Logger;
  /** The clock for time-window logic; tests pass a fake one. */
  readonly now: () => Date;
  /** Resolves a request's credential to a principal, as the HTTP auth hook does. */
  readonly resolvePrincipal: PrincipalResolver;
}

/** A feature as the composition root sees it. */
export interface Feature {
  /** For logs and errors (`events`, `transfers`, …). */
  readonly name: string;
  /** Job definitions registered with the queue. */
  readonly definitions: readonly JobDefinition<never>[];
  /** Route modules, mounted on nodes that serve the API (not on `worker` nodes). */
  readonly routes: readonly RouteModule[];
  /**
   * Called in list order once the queue exists and before its workers start, so what a feature
   * subscribes to here hears the first job. `jobs.working` says whether this node runs handlers.
   */
  start(jobs: Jobs): Promise<void>;
  /**
   * Optional, called in list order once the workers run (on nodes that run them): work that
   * sends jobs, such as resuming what a previous process left unfinished.
   */
  resume?(): Promise<void>;
  /**
   * Called in list order when the node stops, before HTTP closes and the workers drain: refuse
   * new work and start winding down (the live channel tells its clients why). Resolves once that
   * is under way; waiting for what is in flight belongs in `close`.
   */
  stop(): Promise<void>;
  /**
   * Optional, called in reverse list order after HTTP closed and the workers drained, before the
   * store closes: wait for work still in flight, flush what was emitted.
   */
  close?(): Promise<void>;
}
