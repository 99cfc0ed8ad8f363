/**
 * The part worker: every node looks for open parts of its own zone whose lease is free, takes
 * one under the part's lease (`job:{id}:{zone}`, token + 1 on every takeover), runs it through
 * its kind, renews the lease while it runs, and settles it fenced, so a stale owner cannot. The
 * job's coordinator (coordinator.ts) then settles the job.
 */
import {
  acquireLease,
  fenced,
  isLeaseLost,
  releaseLease,
  keepLease,
  type Db,
  type Lease,
} from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { FerryError } from '../errors/index.ts';
import {
  getJob,
  getPart,
  nextPartLeaseExpiryMs,
  openPartsOfZone,
  settlePart,
  takePart,
  type JobRow,
  type PartRow,
} from './job-records.ts';
import type { JobKind, PartOutcome } from './kinds.ts';
import { jobTimeLeftMs } from './deadline-records.ts';
import { publishSettled } from './publish.ts';
import { makeStatsWindow } from './stats.ts';

export interface PartWorkerDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  nodeId: string;
  url: () => string;
  zone: string;
  kinds: Readonly<Record<string, JobKind>>;
  leaseTtlMs: number;
  statsWindowMs: number;
  /** A part of this job settled here: its coordinator may settle the job now. */
  partSettled: (jobId: string) => Promise<void>;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * What a part failed by its job's timeout holds in its result: the error's message and code.
 * `state` is what the part was doing then (running; or queued or orphaned, waiting for a node).
 */
export function timeoutResult(
  job: Pick<JobRow, 'timeout_seconds'>,
  zone: string,
  state: string,
): { error: string; code: string } {
  const error = new FerryError('FERRY_ERR_JOB_TIMEOUT', {
    zone,
    state,
    timeout_seconds: job.timeout_seconds,
  });
  return { error: error.message, code: error.code };
}

/** The lease name of one zone's part of a job. */
export const partLease = (jobId: string, zone: string) => `job:${jobId}:${zone}`;

export function makePartWorker(deps: PartWorkerDeps) {
  const { db, bus, nodeId } = deps;
  const running = new Map<string, Running>();

  /**
   * Takes every free open part of this zone it can. Answers in how many ms (store clock) the
   * first lease another node holds on an open part of this zone expires, so the caller can look
   * again right then instead of a heartbeat later (a dead owner's part is taken within its TTL).
   */
  async function scan(): Promise<number | undefined> {
    for (const part of await openPartsOfZone(db, deps.zone)) {
      const key = partLease(part.job_id, part.zone);
      if (running.has(key)) continue;
      const lease = await acquireLease(db, key, nodeId, deps.leaseTtlMs);
      if (!lease) continue;
      const taken = await fenced(db, lease, (tx) =>
        takePart(tx, {
          jobId: part.job_id,
          zone: part.zone,
          node: nodeId,
          url: deps.url(),
          token: lease.token,
        }),
      );
      if (!taken) {
        await releaseLease(db, lease);
        continue;
      }
      announce(taken.job, taken.part);
      start(taken.job, taken.part, lease);
    }
    return nextPartLeaseExpiryMs(db, deps.zone, nodeId);
  }

  function announce(job: JobRow, part: PartRow): void {
    const base = { jobId: job.id, ownerId: job.owner_user_id, fenceToken: job.fence_token };
    bus.emit('job:leader-transfer', { ...base, zone: part.zone, nodeId, url: deps.url() });
    bus.emit('job:status', { ...base, status: 'running', zone: part.zone });
  }

  function start(job: JobRow, part: PartRow, lease: Lease): void {
    const key = partLease(job.id, part.zone);
    const controller = new AbortController();
    const done = runPart(job, part, lease, controller)
      .catch((error: unknown) => {
        // A stale owner's write was refused: the part's new owner goes on from the records.
        if (isLeaseLost(error) || controller.signal.reason === 'lease-lost')
          deps.log.warn({ job: job.id, zone: part.zone }, 'job part lease lost');
        else deps.log.error({ err: error, job: job.id, zone: part.zone }, 'job part failed to run');
      })
      .finally(() => running.delete(key));
    running.set(key, { controller, done });
  }

  /**
   * Keeps the lease (db/leases `keepLease`: what a failed renewal means is decided there) and
   * watches for cancellation; aborts the run when either is lost.
   */
  function keep(job: JobRow, part: PartRow, lease: Lease, controller: AbortController) {
    const stopKeeping = keepLease(db, lease, {
      ttlMs: deps.leaseTtlMs,
      onLost: () => {
        controller.abort('lease-lost');
      },
      onRenewalError: (error) => {
        deps.log.warn({ err: error, job: job.id }, 'job part lease renewal failed');
      },
    });
    const watch = setInterval(
      () => {
        getPart(db, job.id, part.zone).then(
          (now) => {
            if (now?.status === 'cancelled') controller.abort('cancelled');
          },
          (error: unknown) => {
            deps.log.warn({ err: error, job: job.id }, 'job part cancellation check failed');
          },
        );
      },
      Math.max(50, deps.leaseTtlMs / 3),
    );
    watch.unref();
    return {
      lease: () => lease,
      stop: () => {
        stopKeeping();
        clearInterval(watch);
      },
    };
  }

  async function runPart(
    job: JobRow,
    part: PartRow,
    lease: Lease,
    controller: AbortController,
  ): Promise<void> {
    const kind = deps.kinds[job.kind];
    const keeper = keep(job, part, lease, controller);
    const stats = makeStatsWindow(deps.statsWindowMs, (s) => {
      bus.emit('job:stats', {
        jobId: job.id,
        ownerId: job.owner_user_id,
        zone: part.zone,
        fenceToken: job.fence_token,
        ...s,
      });
    });
    // A job's timeout stops its part like a cancel does; the part then settles `failed`.
    const left = job.timeout_seconds === null ? undefined : await jobTimeLeftMs(db, job.id);
    // Taken up after its timeout (a takeover, say): stopped before it starts.
    if (left === 0) controller.abort('timeout');
    const timer =
      left === undefined || left === 0
        ? undefined
        : setTimeout(() => {
            controller.abort('timeout');
          }, left);
    try {
      const outcome = controller.signal.aborted
        ? undefined
        : kind
          ? await kind.run({
              jobId: job.id,
              zone: part.zone,
              spec: part.spec,
              ownerUserId: job.owner_user_id,
              signal: controller.signal,
              lease,
              progress: (delta) => {
                stats.add(delta);
              },
            })
          : { status: 'failed' as const, result: { error: `unknown kind ${job.kind}` }, items: [] };
      stats.flush();
      await finish(job, part, keeper.lease(), controller, outcome);
    } finally {
      clearTimeout(timer);
      stats.stop();
      keeper.stop();
    }
  }

  async function finish(
    job: JobRow,
    part: PartRow,
    lease: Lease,
    controller: AbortController,
    outcome: Awaited<ReturnType<JobKind['run']>>,
  ): Promise<void> {
    const latest = (await getJob(db, job.id)) ?? job;
    const base = { jobId: job.id, ownerId: job.owner_user_id, fenceToken: latest.fence_token };
    // A timeout settles the part (failed, unless its work completed just in time); other stops
    // (cancel, handover, lost lease) leave the settling to the cancel or the next owner.
    const timedOut = controller.signal.reason === 'timeout' && latest.status !== 'cancelled';
    if (!timedOut && (controller.signal.aborted || !outcome)) {
      if (controller.signal.reason === 'cancelled' || latest.status === 'cancelled') {
        bus.emit('job:cancelled', { ...base, zone: part.zone });
        await releaseLease(db, lease);
      } else if (controller.signal.reason === 'handover') {
        await releaseLease(db, lease);
      }
      return;
    }
    const settling =
      timedOut && outcome?.status !== 'completed' ? timeoutOutcome(job, part, outcome) : outcome;
    if (!settling) return;
    for (let i = 0; i < settling.items.length; i += 1000) {
      bus.emit('job:items', { ...base, zone: part.zone, items: settling.items.slice(i, i + 1000) });
    }
    const settled = await fenced(db, lease, (tx) =>
      settlePart(tx, job.id, part.zone, settling.status, {
        ...settling.result,
        items: settling.items.slice(0, 1000),
      }),
    );
    await releaseLease(db, lease);
    if (!settled) {
      // Cancelled meanwhile: the cancel won the race, the work is done either way.
      bus.emit('job:cancelled', { ...base, zone: part.zone });
      return;
    }
    publishSettled(bus, base, [{ zone: part.zone, status: settling.status }], undefined);
    await deps.partSettled(job.id);
  }

  /** A part stopped by its job's timeout: failed, with the timeout error and what it had. */
  function timeoutOutcome(
    job: JobRow,
    part: PartRow,
    outcome: Awaited<ReturnType<JobKind['run']>>,
  ): PartOutcome {
    return {
      status: 'failed',
      result: { ...outcome?.result, ...timeoutResult(job, part.zone, 'running') },
      items: outcome?.items ?? [],
    };
  }

  return {
    scan,
    /** Parts this node runs now. */
    get running(): number {
      return running.size;
    },
    /** Aborts a local part at once (its job was cancelled here). */
    abort(jobId: string, zone: string): void {
      running.get(partLease(jobId, zone))?.controller.abort('cancelled');
    },
    /** Stops every local part and gives its lease up, so another node takes over at once. */
    async handOver(): Promise<void> {
      const all = [...running.values()];
      for (const r of all) r.controller.abort('handover');
      await Promise.all(all.map((r) => r.done));
    },
  };
}

export type PartWorker = ReturnType<typeof makePartWorker>;
