/**
 * This node's membership: registers it, beats its heartbeat, competes for the `cluster` lease
 * (the leader runs the sweeps: orphaned parts, parts past their job's deadline, long-dead nodes),
 * and runs the job coordinator and the part worker, at every heartbeat and again when another
 * node's lease on a part or job expires.
 */
import {
  acquireLease,
  fenced,
  releaseLease,
  type Db,
  type Lease,
  type Unlisten,
} from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { failWaitingParts, jobsPastDeadline } from './deadline-records.ts';
import { getJob, markOrphans } from './job-records.ts';
import {
  deregisterNode,
  forgetDeadNodes,
  heartbeat,
  listNodes,
  markDraining,
  registerNode,
  type NodeInfo,
} from './nodes.ts';
import type { Coordinator } from './coordinator.ts';
import { timeoutResult, type PartWorker } from './parts.ts';
import { publishSettled } from './publish.ts';

export interface MembershipDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  node: () => NodeInfo;
  heartbeatMs: number;
  orphanGraceMs: number;
  worker: PartWorker;
  coordinator: Coordinator;
  log: { warn(obj: object, msg: string): void };
}

/** The `cluster` lease and its token, as the ping route shows it. */
export interface LeaderInfo {
  node_id: string;
  fence_token: number;
}

/** How long after a lease's expiry (store clock) this node looks to take the part or job over. */
const takeoverMarginMs = 20;

export function makeMembership(deps: MembershipDeps) {
  const { db, bus } = deps;
  const leaseTtlMs = deps.heartbeatMs * 3;
  let timer: NodeJS.Timeout | undefined;
  /** The next look at this zone's parts, when another node's part lease expires. */
  let takeover: NodeJS.Timeout | undefined;
  let unlisten: Unlisten | undefined;
  let leader: Lease | undefined;
  let ticking: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let draining = false;
  let healthyNodes = 1;

  async function lead(): Promise<void> {
    const me = deps.node();
    const lease = await acquireLease(db, 'cluster', me.id, leaseTtlMs);
    if (lease && lease.token !== leader?.token) {
      bus.emit('cluster:leader', { nodeId: me.id, url: me.advertiseUrl, fenceToken: lease.token });
    }
    leader = lease;
    if (!lease) return;
    for (const part of await markOrphans(db, deps.heartbeatMs * 2, deps.orphanGraceMs)) {
      const job = await getJob(db, part.job_id);
      const base = { jobId: part.job_id, ownerId: job?.owner_user_id ?? null };
      const fenceToken = job?.fence_token ?? part.fence_token;
      bus.emit('job:orphaned', { ...base, zone: part.zone, fenceToken });
      bus.emit('job:status', { ...base, status: 'orphaned', zone: part.zone, fenceToken });
    }
    await timeOutWaitingParts(lease);
    await forgetDeadNodes(db, Math.max(3_600_000, deps.heartbeatMs * 100));
  }

  /**
   * Fails, with 504 FERRY_ERR_JOB_TIMEOUT, the parts still waiting for a node (queued or
   * orphaned) when their job's deadline has passed: no owner's timer stops those. Fenced by the
   * leader's lease; the job's coordinator settles the job when that was its last open part.
   */
  async function timeOutWaitingParts(lease: Lease): Promise<void> {
    for (const id of await jobsPastDeadline(db)) {
      const { job, failed } = await fenced(db, lease, (tx) =>
        failWaitingParts(tx, id, (j, part) => timeoutResult(j, part.zone, part.status)),
      );
      if (!job || failed.length === 0) continue;
      const base = { jobId: id, ownerId: job.owner_user_id, fenceToken: job.fence_token };
      const parts = failed.map((p) => ({ zone: p.zone, status: 'failed' }));
      publishSettled(bus, base, parts, undefined);
      await deps.coordinator.partSettled(id);
    }
  }

  async function tickOnce(): Promise<void> {
    if (!(await heartbeat(db, deps.node().id))) await registerNode(db, deps.node());
    const nodes = await listNodes(db, deps.heartbeatMs);
    healthyNodes = Math.max(1, nodes.filter((n) => n.health === 'healthy' && !n.draining).length);
    // Parts first: a new job's part starts without waiting for the coordination round.
    const takeIn = draining ? undefined : await deps.worker.scan();
    // Coordination trouble must not keep this node from its housekeeping: logged, it goes on.
    const adoptIn = await deps.coordinator.tick(draining).catch((error: unknown) => {
      deps.log.warn({ err: error }, 'job coordination failed');
      return undefined;
    });
    await lead();
    if (draining) return;
    schedule(
      adoptIn === undefined || takeIn === undefined
        ? (adoptIn ?? takeIn)
        : Math.min(adoptIn, takeIn),
    );
  }

  /**
   * Ticks again when the first lease another node holds on an open part of this zone, or on an
   * open job's coordination, expires (`inMs`, measured on the store's clock), plus a margin for
   * the store's answer to arrive: a dead owner's part or job is taken over at its lease's
   * expiry, not up to a heartbeat later.
   */
  function schedule(inMs: number | undefined): void {
    clearTimeout(takeover);
    takeover = undefined;
    if (inMs === undefined || stopped) return;
    takeover = setTimeout(() => void tick(), inMs + takeoverMarginMs);
    takeover.unref();
  }

  /** One tick at a time; a wake during a tick runs one more right after. */
  function tick(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (ticking) {
      again = true;
      return ticking;
    }
    ticking = tickOnce()
      .catch((error: unknown) => {
        deps.log.warn({ err: error }, 'cluster heartbeat failed');
      })
      .finally(() => {
        ticking = undefined;
        if (again) {
          again = false;
          void tick();
        }
      });
    return ticking;
  }

  return {
    async start(): Promise<void> {
      await registerNode(db, deps.node());
      unlisten = await db.listen('ferry_cluster_jobs', (payload) => {
        // A part settled elsewhere: its job's coordinator settles it without waiting for a tick.
        deps.coordinator.notified(payload);
        void tick();
      });
      timer = setInterval(() => void tick(), deps.heartbeatMs);
      timer.unref();
      await tick();
    },
    /** Healthy, non-draining nodes at the last heartbeat (at least 1: this one). */
    get healthyNodes(): number {
      return healthyNodes;
    },
    get draining(): boolean {
      return draining;
    },
    wake(): void {
      void tick();
    },
    /** Who holds the `cluster` lease now (from the store, so every node answers the same). */
    async leader(): Promise<LeaderInfo | null> {
      const { rows } = await db.query<{ holder: string; token: string }>(
        `SELECT holder, token FROM ferry.leases WHERE name = 'cluster' AND expires_at > now()`,
      );
      const row = rows[0];
      return row ? { node_id: row.holder, fence_token: Number(row.token) } : null;
    },
    /** Marks this node draining: no new parts; submissions are redirected. */
    async drain(): Promise<void> {
      draining = true;
      await markDraining(db, deps.node().id);
    },
    /** Hands running parts over, gives up the leader lease, deregisters. */
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      clearTimeout(takeover);
      await unlisten?.();
      await ticking;
      await deps.worker.handOver();
      await deps.coordinator.handOver();
      if (leader) await releaseLease(db, leader);
      await deregisterNode(db, deps.node().id);
    },
  };
}

export type Membership = ReturnType<typeof makeMembership>;
