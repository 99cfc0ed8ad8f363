/**
 * Cluster mode as one feature for the composition root: the node registry and heartbeats, the
 * cluster leader, jobs (each with its coordinator) and their per-zone parts, protocol negotiation and draining
 * (docs/cluster.md). `makeCluster(...)` returns `{definitions, routes, start, stop}`.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { VolumeGuard } from '../storage/index.ts';
import type { Events } from '../events/index.ts';
import type { Pipelines } from '../pipelines/index.ts';
import type { Transfers } from '../transfers/index.ts';
import { makeCoordinator } from './coordinator.ts';
import { makeJobsService } from './jobs.ts';
import { makeKinds, type JobKind } from './kinds.ts';
import { makeMembership } from './membership.ts';
import { listNodes, type NodeInfo } from './nodes.ts';
import { makePartWorker } from './parts.ts';
import { makeStatusBatcher } from './status-batch.ts';
import { capabilities, protocolVersion } from './protocol.ts';
import { makeLoadMonitor, type Priority } from './admission.ts';
import { realpath } from 'node:fs/promises';

export { capabilities, negotiate, protocolVersion } from './protocol.ts';
export { partLease } from './parts.ts';
export type { JobsService, SubmitJob, JobView } from './jobs.ts';
export type { JobKind, PartContext, PartOutcome } from './kinds.ts';

export interface ClusterDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  config: Pick<Config, 'cluster' | 'http' | 'role' | 'limits'>;
  nodeId: string;
  version: string;
  transfers: Transfers;
  events: Events;
  pipelines: Pipelines;
  /** Job kinds a caller composes in next to the built-in ones (tests). */
  extraKinds?: Readonly<Record<string, JobKind>>;
  volumes: VolumeGuard;
  /** The URL the HTTP server listens on, once it does (undefined on worker-only nodes). */
  listeningUrl: () => string | undefined;
  log: {
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

/** The cluster domain: jobs, this node's ping, draining; start/stop of the membership. */
export function makeCluster(deps: ClusterDeps) {
  const c = deps.config.cluster;
  const heartbeatMs = c.heartbeat_seconds * 1000;
  const startedAt = new Date();
  let volumes: string[] = [];
  let inFlight = 0;
  const monitor = makeLoadMonitor({
    inFlight: deps.config.limits.shed_in_flight,
    eventLoopDelayMs: deps.config.limits.shed_event_loop_delay_ms,
  });

  const statusBatches = makeStatusBatcher(deps.bus);
  const url = () => c.advertise_url || deps.listeningUrl() || '';
  const node = (): NodeInfo => ({
    id: deps.nodeId,
    advertiseUrl: url(),
    zone: c.zone,
    role: deps.config.role,
    version: deps.version,
    protocol: protocolVersion,
    cores: availableParallelism(),
    volumes,
    endpoints: [],
    startedAt,
  });
  const kinds = makeKinds({
    transfers: deps.transfers,
    events: deps.events,
    pipelines: deps.pipelines,
    bus: deps.bus,
    extra: deps.extraKinds,
  });
  const coordinator = makeCoordinator({
    db: deps.db,
    bus: deps.bus,
    nodeId: deps.nodeId,
    url,
    leaseTtlMs: heartbeatMs * 3,
    log: deps.log,
  });
  const worker = makePartWorker({
    db: deps.db,
    bus: deps.bus,
    nodeId: deps.nodeId,
    url,
    zone: c.zone,
    kinds,
    leaseTtlMs: heartbeatMs * 3,
    statsWindowMs: c.stats_window_ms,
    partSettled: (jobId) => coordinator.partSettled(jobId),
    log: deps.log,
  });
  const membership = makeMembership({
    db: deps.db,
    bus: deps.bus,
    node,
    heartbeatMs,
    orphanGraceMs: c.orphan_grace_seconds * 1000,
    worker,
    coordinator,
    log: deps.log,
  });
  const jobs = makeJobsService({
    db: deps.db,
    bus: deps.bus,
    nodeId: deps.nodeId,
    zone: c.zone,
    heartbeatMs,
    kinds,
    claim: (jobId) => coordinator.claim(jobId),
    wake: () => {
      membership.wake();
    },
    abortLocal: (jobId, zone) => {
      worker.abort(jobId, zone);
    },
  });

  /** This node as `GET /api/v1/cluster/ping` shows it. */
  async function ping() {
    return {
      node_id: deps.nodeId,
      url: url(),
      zone: c.zone,
      role: deps.config.role,
      version: deps.version,
      draining: membership.draining,
      load: loadavg()[0] ?? 0,
      cores: availableParallelism(),
      in_flight_requests: inFlight,
      running_parts: worker.running,
      coordinating_jobs: coordinator.coordinating,
      leader: await membership.leader(),
      protocol: protocolVersion,
      capabilities: [...capabilities],
    };
  }

  /** A healthy node to send a refused submission to (same zone first). */
  async function redirectTarget(): Promise<string | undefined> {
    const nodes = (await listNodes(deps.db, heartbeatMs)).filter(
      (n) => n.id !== deps.nodeId && n.health === 'healthy' && !n.draining && n.advertise_url,
    );
    return (nodes.find((n) => n.zone === c.zone) ?? nodes[0])?.advertise_url;
  }

  return {
    db: deps.db,
    jobs,
    heartbeatMs,
    ping,
    draining: () => membership.draining,
    redirectTarget,
    admission: {
      limits: deps.config.limits,
      healthyNodes: () => membership.healthyNodes,
      // The request asking is in flight too; it does not count against itself.
      load: () => monitor.load(Math.max(0, inFlight - 1)),
      rejected: (reason: 'rate_limited' | 'shed', priority: Priority) => {
        deps.bus.emit('admission:rejected', { reason, priority });
      },
    },
    requests: {
      started: () => {
        inFlight += 1;
      },
      finished: () => {
        inFlight -= 1;
      },
    },
    /** Registers the node and starts heartbeats, leadership and the part worker. */
    async start(): Promise<void> {
      volumes = await Promise.all(
        deps.volumes.volumes.map((v) => realpath(v.path).catch(() => v.path)),
      );
      monitor.start();
      statusBatches.start();
      await membership.start();
    },
    /** Drains: no new jobs here, running parts handed over, the node deregistered. */
    async stop(): Promise<void> {
      await membership.drain().catch(() => undefined);
      await membership.stop();
      monitor.stop();
      // The status changes of the handover go out before the live channel closes.
      statusBatches.stop();
    },
  };
}

export type Cluster = ReturnType<typeof makeCluster>;
