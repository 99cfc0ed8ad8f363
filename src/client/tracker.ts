/**
 * Local job state: what every push or poll said, applied under the fencing rule (an update
 * carrying a lower token than the one known is ignored; job-wide updates against the job's
 * token, a zone's against that zone's), callbacks (a throwing callback is reported, never
 * rethrown) and waiters (any number per job; a timeout rejects only its own waiter).
 */
import type { Clock, TimerHandle } from './clock.ts';
import { FerryClientError } from './errors.ts';
import type {
  JobCallbacks,
  JobState,
  JobStatus,
  JobView,
  LeaderTransfer,
  PartStatus,
  ZoneState,
} from './jobs-types.ts';

export const finalStatuses: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

interface Waiter {
  resolve(state: JobState): void;
  reject(error: Error): void;
  timer: TimerHandle;
  /** Resolve when this holds (default: the job is final). */
  until: (state: JobState) => boolean;
}

interface Entry {
  state: JobState;
  callbacks: JobCallbacks[];
  waiters: Set<Waiter>;
  finalFired: boolean;
  /** A route's answer or a push has been applied (the state is not just a placeholder). */
  known: boolean;
  /** The job's coordinator as last seen, fenced by its coordination lease's token. */
  coordinator: { url: string; token: number } | undefined;
}

export interface TrackerDeps {
  clock: Clock;
  /** A callback threw: report it (the client's `error` event). */
  report: (error: unknown) => void;
  /** A part got a new owner: calls about the job go there now. */
  onLeader: (jobId: string, url: string) => void;
  /** Counted in the client's metrics. */
  staleDropped: () => void;
  orphaned: () => void;
}

export type Tracker = ReturnType<typeof makeTracker>;

const snapshot = (state: JobState): JobState => structuredClone(state);
const signature = (state: JobState) =>
  JSON.stringify([
    state.status,
    state.fenceToken,
    Object.values(state.zones).map((z) => [z.status, z.url, z.fenceToken]),
  ]);

export function makeTracker(deps: TrackerDeps) {
  const jobs = new Map<string, Entry>();
  let closed: Error | undefined;

  function call<T>(callback: ((payload: T) => void) | undefined, payload: T): void {
    if (!callback) return;
    try {
      callback(payload);
    } catch (error) {
      deps.report(error);
    }
  }
  function each(entry: Entry, use: (callbacks: JobCallbacks) => void): void {
    for (const callbacks of entry.callbacks) use(callbacks);
  }

  function track(jobId: string, callbacks?: JobCallbacks): Entry {
    let entry = jobs.get(jobId);
    if (!entry) {
      entry = {
        state: {
          jobId,
          status: 'queued',
          fenceToken: 0,
          zones: {},
          result: null,
          final: false,
          orphaned: false,
          updatedAt: deps.clock.now(),
        },
        callbacks: [],
        waiters: new Set(),
        coordinator: undefined,
        finalFired: false,
        known: false,
      };
      jobs.set(jobId, entry);
    }
    if (callbacks) entry.callbacks.push(callbacks);
    return entry;
  }

  function zoneOf(entry: Entry, zone: string): ZoneState {
    entry.state.zones[zone] ??= {
      zone,
      status: 'queued',
      nodeId: null,
      url: null,
      fenceToken: 0,
      cancelled: false,
      items: 0,
    };
    return entry.state.zones[zone];
  }

  /** Re-checks waiters and fires onFinal once. */
  function settle(entry: Entry): void {
    const state = entry.state;
    for (const waiter of [...entry.waiters]) {
      if (!waiter.until(state)) continue;
      entry.waiters.delete(waiter);
      if (waiter.timer !== undefined) deps.clock.clearTimeout(waiter.timer);
      waiter.resolve(snapshot(state));
    }
    if (state.final && !entry.finalFired) {
      entry.finalFired = true;
      const copy = snapshot(state);
      each(entry, (c) => {
        call(c.onFinal, copy);
      });
    }
  }

  function setStatus(entry: Entry, status: JobStatus): void {
    if (entry.state.final) return;
    entry.state.final = finalStatuses.includes(status);
    if (entry.state.status === status) return;
    entry.state.status = status;
    const copy = snapshot(entry.state);
    each(entry, (c) => {
      call(c.onStatus, copy);
    });
  }

  function leader(entry: Entry, transfer: LeaderTransfer): void {
    const zone = zoneOf(entry, transfer.zone);
    if (transfer.fenceToken < zone.fenceToken) {
      deps.staleDropped();
      return;
    }
    const changed = zone.url !== transfer.url || zone.fenceToken !== transfer.fenceToken;
    zone.fenceToken = transfer.fenceToken;
    zone.nodeId = transfer.nodeId;
    zone.url = transfer.url;
    if (zone.status === 'orphaned' || zone.status === 'queued') zone.status = 'running';
    // A new owner re-attaches an orphaned job.
    entry.state.orphaned = Object.values(entry.state.zones).some((z) => z.status === 'orphaned');
    if (!changed) return;
    deps.onLeader(entry.state.jobId, transfer.url);
    each(entry, (c) => {
      call(c.onLeaderTransfer, transfer);
    });
  }

  /**
   * A newer coordinator (by its lease's token) becomes the job's sticky target while no zone has
   * an owner of its own to read from: when it changes, or on every route answer (`restick`).
   */
  function coordinator(entry: Entry, url: string, token: number, restick = false): void {
    const known = entry.coordinator;
    if (!url || (known && token < known.token)) return;
    entry.coordinator = { url, token };
    const zones = Object.values(entry.state.zones);
    if ((restick || known?.url !== url) && zones.every((z) => z.url === null)) {
      deps.onLeader(entry.state.jobId, url);
    }
  }

  /** Applies a job as a route answered it (submit, read, wait, poll). */
  function applyView(view: JobView): JobState {
    const entry = track(view.job_id);
    entry.known = true;
    const state = entry.state;
    if (view.fence_token < state.fenceToken) {
      deps.staleDropped();
      return snapshot(state);
    }
    const before = signature(state);
    state.fenceToken = view.fence_token;
    for (const part of view.zones) {
      if (part.url !== null && part.node_id !== null) {
        leader(entry, {
          zone: part.zone,
          nodeId: part.node_id,
          url: part.url,
          fenceToken: part.fence_token,
        });
      }
      const zone = zoneOf(entry, part.zone);
      if (part.fence_token >= zone.fenceToken) {
        zone.status = part.status;
        if (part.status === 'cancelled') zone.cancelled ||= part.url === null;
      }
    }
    coordinator(entry, view.leader.url, view.leader.fence_token, true);
    if (view.result !== null) state.result = view.result;
    setStatus(entry, view.status);
    // A poll that shows nothing new is not an update (orphan detection counts silence).
    if (signature(state) !== before) state.updatedAt = deps.clock.now();
    settle(entry);
    return snapshot(state);
  }

  /** Applies one live-channel job event; false when it is not about a tracked job. */
  function applyEvent(name: string, data: unknown): boolean {
    if (typeof data !== 'object' || data === null) return false;
    const d = data as Record<string, unknown>;
    const jobId = typeof d.jobId === 'string' ? d.jobId : undefined;
    const entry = jobId === undefined ? undefined : jobs.get(jobId);
    if (!entry) return false;
    entry.known = true;
    const token = typeof d.fenceToken === 'number' ? d.fenceToken : 0;
    const zoneName = typeof d.zone === 'string' ? d.zone : undefined;
    // A zone's update is fenced by the zone's token, a job-wide one by the job's.
    const known =
      zoneName === undefined
        ? entry.state.fenceToken
        : (entry.state.zones[zoneName]?.fenceToken ?? 0);
    if (name !== 'job:leader-transfer' && token < known) {
      deps.staleDropped();
      return true;
    }
    if (zoneName === undefined) entry.state.fenceToken = Math.max(entry.state.fenceToken, token);
    entry.state.updatedAt = deps.clock.now();
    const zone = zoneName === undefined ? undefined : zoneOf(entry, zoneName);
    switch (name) {
      case 'job:status': {
        const status = d.status as PartStatus;
        if (zone) {
          zone.status = status;
          if (status === 'orphaned') orphan(entry);
        } else if (status !== 'orphaned') setStatus(entry, status);
        break;
      }
      case 'job:leader-transfer':
        if (zone) {
          leader(entry, {
            zone: zone.zone,
            nodeId: String(d.nodeId),
            url: String(d.url),
            fenceToken: token,
          });
        } else if (typeof d.url === 'string' && typeof d.leaderToken === 'number') {
          // Another node adopted the job's coordination (its accepting node died).
          coordinator(entry, d.url, d.leaderToken);
        }
        break;
      case 'job:items':
        if (zone && Array.isArray(d.items)) {
          zone.items += d.items.length;
          const batch = { zone: zone.zone, items: d.items as unknown[] };
          const progress = { zone: zone.zone, items: zone.items };
          each(entry, (c) => {
            call(c.onItemResult, batch);
            call(c.onProgress, progress);
          });
        }
        break;
      case 'job:stats':
        if (zone) {
          const stats = {
            zone: zone.zone,
            windowMs: Number(d.windowMs),
            itemsPerSecond: Number(d.itemsPerSecond),
            bytesPerSecond: Number(d.bytesPerSecond),
            errors: Number(d.errors),
          };
          each(entry, (c) => {
            call(c.onStats, stats);
          });
        }
        break;
      case 'job:cancelled':
        if (zone) zone.cancelled = true;
        break;
      case 'job:orphaned':
        if (zone) {
          zone.status = 'orphaned';
          orphan(entry);
        }
        break;
      case 'job:final':
        if (d.result !== undefined) entry.state.result = d.result;
        setStatus(entry, d.status as JobStatus);
        break;
    }
    settle(entry);
    return true;
  }

  /** Marks the job orphaned (once per orphaning) and tells its callbacks. */
  function orphan(entry: Entry): void {
    if (entry.state.orphaned || entry.state.final) return;
    entry.state.orphaned = true;
    deps.orphaned();
    const copy = snapshot(entry.state);
    each(entry, (c) => {
      call(c.onOrphaned, copy);
    });
  }

  /** Resolves when `until` holds (default: final); `timeoutMs` rejects this waiter only. */
  function waitFor(
    jobId: string,
    timeoutMs: number | undefined,
    until: (state: JobState) => boolean = (s) => s.final,
  ): Promise<JobState> {
    if (closed) return Promise.reject(closed);
    const entry = track(jobId);
    if (until(entry.state)) return Promise.resolve(snapshot(entry.state));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, until };
      if (timeoutMs !== undefined) {
        waiter.timer = deps.clock.setTimeout(() => {
          entry.waiters.delete(waiter);
          reject(
            new FerryClientError(
              'FERRY_CLIENT_ERR_WAIT_TIMEOUT',
              `job ${jobId} is still ${entry.state.status} after ${String(timeoutMs)} ms`,
            ),
          );
        }, timeoutMs);
      }
      entry.waiters.add(waiter);
    });
  }

  return {
    track,
    applyView,
    applyEvent,
    waitFor,
    orphan: (jobId: string) => {
      const entry = jobs.get(jobId);
      if (entry) orphan(entry);
    },
    /** Whether anything about the job has been applied yet. */
    known: (jobId: string) => jobs.get(jobId)?.known ?? false,
    get: (jobId: string) => {
      const entry = jobs.get(jobId);
      return entry ? snapshot(entry.state) : undefined;
    },
    /** Jobs not final yet (to poll, or to check for orphans). */
    open: () => [...jobs.values()].filter((e) => !e.state.final).map((e) => e.state),
    /** Rejects every waiter (the client stops). */
    close(error: Error): void {
      closed = error;
      for (const entry of jobs.values()) {
        for (const waiter of entry.waiters) {
          if (waiter.timer !== undefined) deps.clock.clearTimeout(waiter.timer);
          waiter.reject(error);
        }
        entry.waiters.clear();
      }
    },
  };
}

/**
 * The job events one live message carries: a `job:status-batch` (the `jobs` topic's status
 * changes of many jobs, up to 1000) is one `job:status` per job; any other message is itself.
 */
export function unbatch(name: string, data: unknown): { name: string; data: unknown }[] {
  if (name !== 'job:status-batch') return [{ name, data }];
  const items = (data as { items?: unknown } | null)?.items;
  return Array.isArray(items)
    ? items.map((item: unknown) => ({ name: 'job:status', data: item }))
    : [];
}
