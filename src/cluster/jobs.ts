/**
 * Cluster jobs, the domain side: submit (idempotent per principal, refused for a zone no healthy
 * node can serve), read, list, wait for the final state, cancel. Knows nothing about HTTP.
 */
import { randomUUID } from 'node:crypto';
import { listOwner, mayAccess, ownerFor, type Scope } from '../auth/index.ts';
import type { Db } from '../db/index.ts';
import { FerryError } from '../errors/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import {
  cancelJob,
  finalJobStatuses,
  getJob,
  getParts,
  insertJob,
  jobByKey,
  listJobs,
  type JobRow,
  type PartRow,
} from './job-records.ts';
import { jobLeaders, type JobLeader } from './coordination-records.ts';
import type { JobKind } from './kinds.ts';
import { listNodes, reaches } from './nodes.ts';

/** A job request after schema validation. */
export interface SubmitJob {
  kind: string;
  spec: Record<string, unknown>;
  zones?: string[];
  zone_specs?: Record<string, Record<string, unknown>>;
  priority?: 'critical' | 'high' | 'normal' | 'low';
  timeout_seconds?: number;
  idempotency_key?: string;
  labels?: Record<string, string>;
}

/**
 * Who asks: the ownership scope (src/auth/ownership.ts, the rule every resource uses) and the
 * principal's stable name, which idempotency keys are scoped to.
 */
export interface JobCaller {
  scope: Scope;
  key: string;
}

/** A job with its parts and coordinator (none yet: nobody holds its lease), as reads answer it. */
export interface JobView {
  job: JobRow;
  parts: PartRow[];
  leader: JobLeader | undefined;
}

export interface JobsServiceDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  nodeId: string;
  zone: string;
  heartbeatMs: number;
  kinds: Readonly<Record<string, JobKind>>;
  /** Takes the coordination of a job this node just accepted (its `job:{id}` lease). */
  claim: (jobId: string) => Promise<boolean>;
  /** Wakes this node's part worker (a job for its zone just arrived). */
  wake: () => void;
  /** Stops a part running here at once (its job was cancelled). */
  abortLocal: (jobId: string, zone: string) => void;
}

export function makeJobsService(deps: JobsServiceDeps) {
  const { db, bus } = deps;

  /** Refuses a zone where no healthy node has a volume holding every path of its part. */
  async function checkZones(
    kind: JobKind,
    parts: { zone: string; spec: Record<string, unknown> }[],
  ) {
    const nodes = (await listNodes(db, deps.heartbeatMs)).filter(
      (n) => n.health === 'healthy' && !n.draining,
    );
    for (const part of parts) {
      const paths = kind.paths(part.spec);
      const able = nodes.some(
        (n) => n.zone === part.zone && paths.every((p) => reaches(n.volumes, p)),
      );
      if (!able) {
        throw new FerryError('FERRY_ERR_JOB_ZONE_UNREACHABLE', {
          zone: part.zone,
          paths: paths.join(', ') || 'its paths',
        });
      }
    }
  }

  async function submit(
    input: SubmitJob,
    caller: JobCaller,
  ): Promise<JobView & { created: boolean }> {
    const kind = deps.kinds[input.kind];
    if (!kind) {
      throw new FerryError('FERRY_ERR_JOB_KIND_UNKNOWN', {
        kind: input.kind,
        known: Object.keys(deps.kinds).join(', '),
      });
    }
    const zones = [...new Set(input.zones ?? [deps.zone])];
    const parts = zones.map((zone) => ({
      zone,
      spec: { ...input.spec, ...(input.zone_specs?.[zone] ?? {}) },
    }));
    for (const part of parts) kind.check(part.spec, `body.zone_specs.${part.zone}`);
    const { key } = caller;
    // A retried submission answers the first job even if its zones changed since.
    const earlier =
      input.idempotency_key === undefined
        ? undefined
        : await jobByKey(db, key, input.idempotency_key);
    if (earlier) return { ...(await view(earlier)), created: false };
    await checkZones(kind, parts);
    const { job, created } = await insertJob(
      db,
      {
        id: randomUUID(),
        kind: input.kind,
        spec: input.spec,
        zone_specs: input.zone_specs ?? {},
        priority: input.priority ?? 'normal',
        timeout_seconds: input.timeout_seconds ?? null,
        principal: key,
        owner_user_id: ownerFor(caller.scope),
        idempotency_key: input.idempotency_key ?? null,
        labels: input.labels ?? {},
        accepted_by: deps.nodeId,
      },
      parts,
    );
    if (created) {
      await deps.claim(job.id);
      bus.emit('job:status', {
        jobId: job.id,
        ownerId: job.owner_user_id,
        status: job.status,
        zone: null,
        fenceToken: job.fence_token,
      });
      await db.notify('ferry_cluster_jobs', job.id);
      deps.wake();
    }
    return { ...(await view(job)), created };
  }

  /** A job with its parts and coordinator. */
  async function view(job: JobRow): Promise<JobView> {
    const [parts, leaders] = await Promise.all([getParts(db, [job.id]), jobLeaders(db, [job.id])]);
    return { job, parts, leader: leaders.get(job.id) };
  }

  async function read(id: string, viewer: Scope): Promise<JobView> {
    const job = await getJob(db, id);
    if (!job) throw new FerryError('FERRY_ERR_JOB_NOT_FOUND', { id });
    if (!mayAccess(viewer, job.owner_user_id)) {
      throw new FerryError('FERRY_ERR_JOB_FORBIDDEN', { id: job.id });
    }
    return view(job);
  }

  async function list(
    filter: { status?: string; zone?: string; label?: string; limit: number; offset: number },
    viewer: Scope,
  ): Promise<{ total: number; items: JobView[] }> {
    const page = await listJobs(db, { ...filter, ownerUserId: listOwner(viewer) });
    const ids = page.items.map((j) => j.id);
    const [parts, leaders] = await Promise.all([getParts(db, ids), jobLeaders(db, ids)]);
    return {
      total: page.total,
      items: page.items.map((job) => ({
        job,
        parts: parts.filter((p) => p.job_id === job.id),
        leader: leaders.get(job.id),
      })),
    };
  }

  /** Resolves at the final state, or with the current one when `timeoutMs` runs out. */
  async function wait(
    id: string,
    viewer: Scope,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await read(id, viewer);
      const left = deadline - Date.now();
      if (finalJobStatuses.includes(view.job.status) || left <= 0 || signal?.aborted) return view;
      // The final push wakes a waiter on this node; jobs settled elsewhere are seen by polling.
      await bus
        .next('job:final', (p) => p.jobId === id, Math.min(left, 250))
        .catch(() => undefined);
    }
  }

  async function cancel(id: string, viewer: Scope) {
    await read(id, viewer);
    const { outcome, job } = await db.transaction((tx) => cancelJob(tx, id));
    if (outcome === 'cancelled') {
      const base = { jobId: id, ownerId: job.owner_user_id, fenceToken: job.fence_token };
      bus.emit('job:status', { ...base, status: 'cancelled', zone: null });
      const parts = await getParts(db, [id]);
      for (const part of parts) {
        deps.abortLocal(id, part.zone);
        // A part nobody ran has no work to stop: its cancellation is complete now.
        if (part.owner_node === null) bus.emit('job:cancelled', { ...base, zone: part.zone });
      }
      await db.notify('ferry_cluster_jobs', id);
    }
    return { outcome, job };
  }

  return { submit, read, list, wait, cancel };
}

export type JobsService = ReturnType<typeof makeJobsService>;
