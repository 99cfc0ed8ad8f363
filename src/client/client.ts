/**
 * `FerryClient`: the SDK's one entry point. Knows every node, submits jobs exactly once (an
 * idempotency key per submission), retries only what the server calls transient, follows each
 * job to its end through live pushes (polling while the socket is down), and keeps going when
 * nodes die. `start()`/`stop()` are idempotent; `stop()` leaves no timer or socket behind.
 */
import { makeRetryBudget } from './budget.ts';
import { systemClock, type Clock } from './clock.ts';
import {
  resolveClientConfig,
  processEnv,
  type ClientConfig,
  type ClientConfigInput,
} from './config.ts';
import { makeEmitter, type Listener } from './emitter.ts';
import { FerryClientError } from './errors.ts';
import { makeHttp, type FetchLike, type Http } from './http.ts';
import type { CancelAnswer, JobCallbacks, JobSpec, JobState, JobView } from './jobs-types.ts';
import { makeLiveClient, type LiveClient, type WebSocketFactory } from './live.ts';
import { makeMetrics, type Metrics } from './metrics.ts';
import { repeat } from './repeat.ts';
import { makeTargets, type NodeState, type Targets } from './targets.ts';
import { makeTracker, unbatch, type Tracker } from './tracker.ts';

/** Everything the constructor takes: the config (docs/sdk.md) and the doubles tests pass. */
export interface FerryClientOptions extends ClientConfigInput {
  /** Environment to read FERRY_SERVER / FERRY_API_KEY / FERRY_CLIENT_* from (Node: process.env). */
  env?: Record<string, string | undefined>;
  fetch?: FetchLike;
  /** Opens the live channel's WebSocket (default: the global WebSocket). */
  connect?: WebSocketFactory;
  clock?: Clock;
  /** Randomness for jitter. */
  random?: () => number;
  /** Makes idempotency keys (default: crypto.randomUUID). */
  newKey?: () => string;
}

export interface SubmitOptions extends JobCallbacks {
  /** Reuse a key to make a retried submission (even from a restarted process) the same job. */
  idempotencyKey?: string;
}

export interface Submitted {
  jobId: string;
  idempotencyKey: string;
  /** The node that accepted it. */
  node: string;
  state: JobState;
}

/** One node's answer to a ping, or why there was none. */
export type PingResult =
  | { node: string; ok: true; nodeId: string; zone: string; protocol: string; info: unknown }
  | { node: string; ok: false; error: FerryClientError };

/** What the client emits. */
export interface ClientEvents {
  /** A callback or background task failed; the client went on. */
  error: unknown;
  /** A job's part moved to another node. */
  'leader-transfer': { jobId: string; url: string };
  /** The live channel opened (pushes) or closed (polling). */
  live: { open: boolean };
}

const jobEvents = new Set([
  'job:status',
  'job:leader-transfer',
  'job:items',
  'job:stats',
  'job:final',
  'job:cancelled',
  'job:orphaned',
]);
/** Pushes for jobs not tracked yet (submit answered after they arrived) are kept this long. */
const earlyLimit = 1000;

export class FerryClient {
  /** The resolved configuration (frozen). */
  readonly config: Readonly<ClientConfig>;
  readonly #clock: Clock;
  readonly #targets: Targets;
  readonly #http: Http;
  readonly #tracker: Tracker;
  readonly #metrics: Metrics = makeMetrics();
  readonly #events = makeEmitter<ClientEvents>((error) => {
    // A throwing `error` listener must not loop back into itself.
    queueMicrotask(() => {
      throw error;
    });
  });
  readonly #stop = new AbortController();
  readonly #options: FerryClientOptions;
  readonly #early = new Map<string, { name: string; data: unknown }[]>();
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #live: LiveClient | undefined;
  #timers: { stop(): void }[] = [];
  #liveNode: string | undefined;

  constructor(options: FerryClientOptions = {}) {
    const { env, fetch, connect: _connect, clock, random, newKey: _newKey, ...input } = options;
    this.#options = options;
    this.config = resolveClientConfig(input, env ?? processEnv());
    this.#clock = clock ?? systemClock;
    this.#targets = makeTargets(this.config.nodes, this.config.zone);
    this.#http = makeHttp({
      config: this.config,
      targets: this.#targets,
      clock: this.#clock,
      fetch: fetch ?? globalThis.fetch,
      random: random ?? Math.random,
      budget: makeRetryBudget({
        capacity: this.config.budgetCapacity,
        retryCost: this.config.budgetRetryCost,
        timeoutCost: this.config.budgetTimeoutCost,
        successRefund: this.config.budgetSuccessRefund,
      }),
      metrics: this.#metrics,
      stopped: this.#stop.signal,
      revive: () => this.#pingDown(),
    });
    this.#tracker = makeTracker({
      clock: this.#clock,
      report: (error) => {
        this.#metrics.callbackErrors += 1;
        this.#report(error);
      },
      onLeader: (jobId, url) => {
        this.#targets.stick(jobId, url);
        this.#events.emit('leader-transfer', { jobId, url });
      },
      staleDropped: () => {
        this.#metrics.staleDropped += 1;
      },
      orphaned: () => {
        this.#metrics.orphaned += 1;
      },
    });
  }

  /** Pings every node (protocol, zone), opens the live channel, starts the timers. Idempotent. */
  start(): Promise<void> {
    if (this.#stopped) {
      return Promise.reject(
        new FerryClientError('FERRY_CLIENT_ERR_STOPPED', 'the client was stopped'),
      );
    }
    this.#started ??= this.#doStart();
    return this.#started;
  }

  async #doStart(): Promise<void> {
    const report = (error: unknown) => {
      this.#report(error);
    };
    this.#timers.push(
      repeat(this.#clock, this.config.pingIntervalMs, () => this.#pingDown(), report),
      repeat(this.#clock, this.config.pollIntervalMs, () => this.#poll(false), report),
      repeat(
        this.#clock,
        this.config.orphanCheckSeconds * 1000,
        () => this.#checkOrphans(),
        report,
      ),
    );
    if (this.config.live) this.#live = this.#openLive();
    await this.pingAll();
  }

  /** Closes the live channel, clears every timer, rejects pending waiters. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#doStop();
    return this.#stopped;
  }

  async #doStop(): Promise<void> {
    this.#stop.abort(new FerryClientError('FERRY_CLIENT_ERR_STOPPED', 'the client was stopped'));
    for (const timer of this.#timers) timer.stop();
    this.#timers = [];
    this.#live?.close();
    this.#live = undefined;
    this.#tracker.close(new FerryClientError('FERRY_CLIENT_ERR_STOPPED', 'the client was stopped'));
    await this.#started?.catch(() => undefined);
  }

  /** Listens to client events (`error`, `leader-transfer`, `live`); returns the unsubscribe. */
  on<K extends keyof ClientEvents>(name: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.#events.on(name, listener);
  }

  /** The counters so far (a copy). */
  metrics(): Metrics {
    return { ...this.#metrics };
  }

  /** What the client knows about each node. */
  /** The live channel: whether pushes flow now, and the node it is (or was last) connected to. */
  liveStatus(): { open: boolean; node: string | undefined } {
    return { open: this.#live?.state.status === 'open', node: this.#liveNode };
  }

  nodeStates(): NodeState[] {
    return this.#targets.all().map((n) => ({ ...n }));
  }

  /**
   * Submits a job. The idempotency key (yours, or a new one) makes retries — also from a
   * restarted process with the same key — answer the same job. Refused locally when over the
   * size limit; transient failures are retried, permanent ones fail at once.
   */
  async submit(job: JobSpec, options: SubmitOptions = {}): Promise<Submitted> {
    await this.start();
    const { idempotencyKey, ...callbacks } = options;
    const key =
      idempotencyKey ?? (this.#options.newKey ?? (() => globalThis.crypto.randomUUID()))();
    const body = { ...job, idempotency_key: key };
    const bytes = new TextEncoder().encode(JSON.stringify(body)).length;
    if (bytes > this.config.maxSubmitBytes) {
      throw new FerryClientError(
        'FERRY_CLIENT_ERR_PAYLOAD_TOO_LARGE',
        `the submission is ${String(bytes)} bytes of JSON; the limit is ${String(this.config.maxSubmitBytes)}`,
      );
    }
    const answer = await this.#http.call<JobView>({
      method: 'POST',
      path: '/api/v1/jobs',
      body,
      capability: 'jobs.idempotency',
      ...(job.priority ? { priority: job.priority } : {}),
    });
    this.#metrics.submitted += 1;
    const jobId = answer.body.job_id;
    this.#tracker.track(jobId, callbacks);
    this.#targets.stick(jobId, answer.node);
    this.#tracker.applyView(answer.body);
    this.#replayEarly(jobId);
    return { jobId, idempotencyKey: key, node: answer.node, state: this.#state(jobId) };
  }

  /** The job as the client knows it now (no request); undefined for a job it never saw. */
  status(jobId: string): JobState | undefined {
    return this.#tracker.get(jobId);
  }

  /** Reads the job from the cluster, updates the local state, and returns it. */
  async refresh(jobId: string): Promise<JobState> {
    await this.start();
    const answer = await this.#http.call<JobView>({
      method: 'GET',
      path: `/api/v1/jobs/${encodeURIComponent(jobId)}`,
      jobId,
    });
    this.#tracker.track(jobId);
    this.#tracker.applyView(answer.body);
    this.#replayEarly(jobId);
    return this.#state(jobId);
  }

  /**
   * Resolves with the job's final state (completed, failed or cancelled). Any number of callers
   * may wait on one job; `timeoutMs` rejects only this waiter (FERRY_CLIENT_ERR_WAIT_TIMEOUT).
   */
  async wait(
    jobId: string,
    options: { timeoutMs?: number } & JobCallbacks = {},
  ): Promise<JobState> {
    const { timeoutMs, ...callbacks } = options;
    this.#tracker.track(jobId, callbacks);
    if (!this.#tracker.known(jobId)) await this.refresh(jobId);
    return this.#tracker.waitFor(jobId, timeoutMs);
  }

  /** Cancels a job: `cancelled`, `already_cancelled` or `already_completed`; retried like submit. */
  async cancel(jobId: string): Promise<CancelAnswer> {
    await this.start();
    const answer = await this.#http.call<CancelAnswer>({
      method: 'POST',
      path: `/api/v1/jobs/${encodeURIComponent(jobId)}/cancel`,
      jobId,
      capability: 'jobs.cancel',
    });
    this.#tracker.track(jobId);
    this.#tracker.applyEvent('job:final', {
      jobId,
      status: answer.body.status,
      fenceToken: answer.body.fence_token,
    });
    return answer.body;
  }

  /**
   * Resolves when a cancelled job's running work has stopped in every zone (`job:cancelled`
   * pushes), or at once when the job completed before the cancel won.
   */
  async awaitCancellation(jobId: string, options: { timeoutMs?: number } = {}): Promise<JobState> {
    const stopped = (s: JobState) =>
      s.final && (s.status !== 'cancelled' || Object.values(s.zones).every((z) => z.cancelled));
    this.#tracker.track(jobId);
    if (!this.#tracker.known(jobId)) await this.refresh(jobId);
    return this.#tracker.waitFor(jobId, options.timeoutMs, stopped);
  }

  /** Pings one node: never throws; a failure is in the result and marks the node failed. */
  async ping(node: string): Promise<PingResult> {
    const url = node.replace(/\/+$/, '');
    this.#targets.add(url);
    try {
      const answer = await this.#http.direct<{ node_id: string; zone: string; protocol: string }>(
        url,
        {
          method: 'GET',
          path: '/api/v1/cluster/ping',
        },
      );
      const { node_id: nodeId, zone, protocol } = answer.body;
      this.#targets.markHealthy(url, { nodeId, zone });
      return { node: url, ok: true, nodeId, zone, protocol, info: answer.body };
    } catch (error) {
      const failure =
        error instanceof FerryClientError
          ? error
          : new FerryClientError('FERRY_CLIENT_ERR_NETWORK', String(error), { node: url });
      // Only a node that cannot be reached is skipped; one that answers (even 503) is alive.
      if (
        failure.code === 'FERRY_CLIENT_ERR_NETWORK' ||
        failure.code === 'FERRY_CLIENT_ERR_TIMEOUT'
      )
        this.#targets.markFailed(url, this.#clock.now());
      return { node: url, ok: false, error: failure };
    }
  }

  /** Pings every known node; partial failures are reported per node, never thrown. */
  pingAll(): Promise<PingResult[]> {
    return Promise.all(this.#targets.all().map((n) => this.ping(n.url)));
  }

  /** The cluster's nodes (`GET /api/v1/cluster/nodes`); healthy ones become targets too. */
  async nodes(): Promise<{
    total: number;
    items: { id: string; url: string; zone: string; health: string }[];
  }> {
    await this.start();
    const answer = await this.#http.call<{
      total: number;
      items: { id: string; url: string; zone: string; health: string }[];
    }>({ method: 'GET', path: '/api/v1/cluster/nodes' });
    for (const n of answer.body.items) {
      if (n.health === 'healthy' && n.url)
        this.#targets.markHealthy(n.url.replace(/\/+$/, ''), { nodeId: n.id, zone: n.zone });
    }
    return answer.body;
  }

  /** Healthy nodes and cores per zone (`GET /api/v1/cluster/zones`). */
  async zones(): Promise<{ total: number; items: Record<string, unknown>[] }> {
    await this.start();
    return (
      await this.#http.call<{ total: number; items: Record<string, unknown>[] }>({
        method: 'GET',
        path: '/api/v1/cluster/zones',
      })
    ).body;
  }

  /** Lists jobs (every node reads the same store): `status`, `zone`, `label` (`k=v`), paging. */
  async queryJobs(
    filter: {
      status?: string;
      zone?: string;
      label?: string;
      limit?: number;
      offset?: number;
    } = {},
  ): Promise<{ total: number; items: JobView[] }> {
    await this.start();
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) query.set(k, String(v));
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return (
      await this.#http.call<{ total: number; items: JobView[] }>({
        method: 'GET',
        path: `/api/v1/jobs${suffix}`,
      })
    ).body;
  }

  #state(jobId: string): JobState {
    const state = this.#tracker.get(jobId);
    if (!state) throw new Error(`job ${jobId} is not tracked`);
    return state;
  }

  #report(error: unknown): void {
    this.#events.emit('error', error);
  }

  #openLive(): LiveClient {
    const token = this.config.token ?? this.config.apiKey ?? '';
    const live = makeLiveClient({
      url: () => {
        this.#liveNode = this.#targets.pick()?.url ?? this.config.nodes[0] ?? '';
        return this.#liveNode;
      },
      token,
      topics: ['jobs'],
      restore: false,
      clock: this.#clock,
      ...(this.#options.connect ? { connect: this.#options.connect } : {}),
      ...(this.#options.random ? { random: this.#options.random } : {}),
    });
    live.on('event', (event) => {
      for (const { name, data } of unbatch(event.event, event.data)) {
        if (!jobEvents.has(name)) continue;
        if (!this.#tracker.applyEvent(name, data)) this.#keepEarly(name, data);
      }
    });
    live.on('established', (established) => {
      this.#events.emit('live', { open: true });
      // Anything the session could not replay is read over REST once.
      if (established.recovered !== 'full')
        void this.#poll(true).catch((e: unknown) => {
          this.#report(e);
        });
    });
    live.on('close', () => {
      this.#events.emit('live', { open: false });
    });
    return live;
  }

  /** Keeps pushes about a job not tracked yet (its submit answer is on its way). */
  #keepEarly(name: string, data: unknown): void {
    const jobId = (data as { jobId?: unknown }).jobId;
    if (typeof jobId !== 'string') return;
    const list = this.#early.get(jobId) ?? [];
    list.push({ name, data });
    this.#early.delete(jobId);
    this.#early.set(jobId, list);
    while (this.#early.size > earlyLimit) {
      const oldest = this.#early.keys().next().value;
      if (oldest === undefined) break;
      this.#early.delete(oldest);
    }
  }

  #replayEarly(jobId: string): void {
    const list = this.#early.get(jobId);
    if (!list) return;
    this.#early.delete(jobId);
    for (const { name, data } of list) this.#tracker.applyEvent(name, data);
  }

  /** Reads open jobs over REST while the live channel is down (or always, when `force`). */
  async #poll(force: boolean): Promise<void> {
    if (!force && this.#live?.state.status === 'open') return;
    for (const job of this.#tracker.open()) {
      if (this.#stop.signal.aborted) return;
      try {
        const answer = await this.#http.call<JobView>({
          method: 'GET',
          path: `/api/v1/jobs/${encodeURIComponent(job.jobId)}`,
          jobId: job.jobId,
          attempts: 1,
        });
        this.#tracker.applyView(answer.body);
      } catch (error) {
        // The next poll is the retry; a job that is gone is not polled again.
        if (error instanceof FerryClientError && !error.retryable) this.#report(error);
      }
    }
  }

  /**
   * A job whose owners are all unreachable (or unknown) and that had no update for the grace
   * period is reported orphaned; a new owner's announcement re-attaches it.
   */
  async #checkOrphans(): Promise<void> {
    const now = this.#clock.now();
    const silent = this.#tracker
      .open()
      .filter((j) => !j.orphaned && now - j.updatedAt >= this.config.orphanGraceSeconds * 1000)
      .map((j) => ({
        jobId: j.jobId,
        owners: Object.values(j.zones).flatMap((z) => (z.url === null ? [] : [z.url])),
      }));
    const owners = [...new Set(silent.flatMap((j) => j.owners))];
    const answers = await Promise.all(owners.map((url) => this.ping(url)));
    const reachable = new Set(answers.filter((a) => a.ok).map((a) => a.node));
    for (const job of silent) {
      if (!job.owners.some((url) => reachable.has(url))) this.#tracker.orphan(job.jobId);
    }
  }

  async #pingDown(): Promise<void> {
    await Promise.all(this.#targets.down().map((n) => this.ping(n.url)));
  }
}
