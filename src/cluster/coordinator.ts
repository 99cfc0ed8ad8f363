/**
 * Job coordination: every open job has one coordinator, the node holding its `job:{id}` lease
 * (the accepting node first; the lease's token + 1 on every takeover). The coordinator settles the job once
 * no part is open and publishes its final status and result, fenced, so a stale coordinator
 * cannot. A node adopts the open jobs whose coordinator's lease has expired, at that expiry.
 */
import {
  acquireLease,
  fenced,
  isLeaseLost,
  keepLeases,
  releaseLease,
  type Db,
  type Lease,
  type LeaseKeeper,
} from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import {
  coordinatedState,
  jobLease,
  jobsWithoutCoordinator,
  nextCoordinationExpiryMs,
} from './coordination-records.ts';
import { finalJobStatuses, getJob, settleJob } from './job-records.ts';
import { publishSettled } from './publish.ts';

export interface CoordinatorDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  nodeId: string;
  url: () => string;
  leaseTtlMs: number;
  log: { warn(obj: object, msg: string): void };
}

/** The `ferry_cluster_jobs` payload saying a part of a job settled (the rest name new jobs). */
const settledPrefix = 'settled:';

export function makeCoordinator(deps: CoordinatorDeps) {
  const { db, bus, nodeId } = deps;
  const held = new Map<string, Lease>();
  // Made on the first job held, so a node that never coordinates runs no renewal timer.
  let keeper: LeaseKeeper | undefined;

  function hold(jobId: string, lease: Lease): void {
    held.set(jobId, lease);
    keeper ??= keepLeases(db, {
      ttlMs: deps.leaseTtlMs,
      onRenewalError: (error) => {
        deps.log.warn({ err: error }, 'job coordination lease renewal failed');
      },
    });
    keeper.add(lease, () => {
      held.delete(jobId);
      deps.log.warn({ job: jobId }, 'job coordination lease lost');
    });
  }

  async function drop(jobId: string, release: boolean): Promise<void> {
    const lease = held.get(jobId);
    if (!lease) return;
    held.delete(jobId);
    keeper?.remove(lease.name);
    if (release) await releaseLease(db, lease);
  }

  /** Takes a job's coordination: at submission (token 1) or adopting it (token + 1). */
  async function take(jobId: string): Promise<boolean> {
    if (held.has(jobId)) return true;
    const lease = await acquireLease(db, jobLease(jobId), nodeId, deps.leaseTtlMs);
    if (!lease) return false;
    const job = await getJob(db, jobId);
    if (!job || finalJobStatuses.includes(job.status)) {
      await releaseLease(db, lease);
      return false;
    }
    hold(jobId, lease);
    // A takeover (a first holder has nothing to announce). Like every job message it carries
    // the job's token; `leaderToken` is the coordination lease's, which orders coordinators.
    if (lease.token > 1) {
      bus.emit('job:leader-transfer', {
        jobId,
        ownerId: job.owner_user_id,
        zone: null,
        nodeId,
        url: deps.url(),
        fenceToken: job.fence_token,
        leaderToken: lease.token,
      });
    }
    return true;
  }

  /** Settles a job this node coordinates if no part is open; publishes its final state. */
  async function settle(jobId: string): Promise<void> {
    const lease = held.get(jobId);
    if (!lease) return;
    try {
      const final = await fenced(db, lease, (tx) => settleJob(tx, jobId));
      if (!final) return;
      const base = { jobId, ownerId: final.owner_user_id, fenceToken: final.fence_token };
      publishSettled(bus, base, [], final);
      await drop(jobId, true);
    } catch (error) {
      if (!isLeaseLost(error)) throw error;
      // Another node coordinates it now and settles it.
      await drop(jobId, false);
    }
  }

  return {
    /** Coordinates a job this node just accepted. */
    claim: (jobId: string) => take(jobId),
    /**
     * A part of `jobId` settled: settles the job here if this node coordinates it, else tells
     * the cluster (its coordinator looks on the notification).
     */
    async partSettled(jobId: string): Promise<void> {
      if (held.has(jobId)) await settle(jobId);
      else await db.notify('ferry_cluster_jobs', `${settledPrefix}${jobId}`);
    },
    /** A cluster notification: a part settled elsewhere settles its job if coordinated here. */
    notified(payload: string): void {
      if (!payload.startsWith(settledPrefix)) return;
      const jobId = payload.slice(settledPrefix.length);
      if (!held.has(jobId)) return;
      settle(jobId).catch((error: unknown) => {
        deps.log.warn({ err: error, job: jobId }, 'job settling failed');
      });
    },
    /**
     * One round: settles or lets go of the jobs coordinated here, adopts the open jobs whose
     * coordinator is gone (not while draining). Answers in how many ms (store clock) the first
     * coordination lease another node holds expires.
     */
    async tick(draining: boolean): Promise<number | undefined> {
      for (const job of await coordinatedState(db, [...held.keys()])) {
        if (job.final) await drop(job.id, true);
        else if (job.parts_done) await settle(job.id);
      }
      if (draining) return undefined;
      for (const id of await jobsWithoutCoordinator(db)) {
        if (await take(id)) await settle(id);
      }
      return nextCoordinationExpiryMs(db, nodeId);
    },
    /** Jobs this node coordinates now. */
    get coordinating(): number {
      return held.size;
    },
    /** Gives every coordination lease up, so other nodes adopt the jobs at once. */
    async handOver(): Promise<void> {
      const ids = [...held.keys()];
      keeper?.stop();
      keeper = undefined;
      for (const id of ids) {
        const lease = held.get(id);
        held.delete(id);
        if (lease) await releaseLease(db, lease).catch(() => false);
      }
    },
  };
}

export type Coordinator = ReturnType<typeof makeCoordinator>;
