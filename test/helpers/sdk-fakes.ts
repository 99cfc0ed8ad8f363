/**
 * Doubles for the client SDK's unit tests: a fake clock (timers fire only when the test advances
 * time), a fake cluster behind `fetch` (jobs, idempotency keys, nodes that die or answer with
 * scripted errors) and a fake live channel behind the WebSocket factory.
 */
import type { Clock, FetchLike, JobView, WebSocketLike } from '../../src/client/index.ts';

/** Lets every pending promise callback run (the fake servers answer through microtasks). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in order (and letting their promises run). */
  advance(ms: number): Promise<void>;
  /** Timers not fired or cleared yet. */
  pending(): number;
}

export function makeFakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      seq += 1;
      timers.set(seq, { at: now + Math.max(0, ms), fn });
      return seq;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    pending: () => timers.size,
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        await flush();
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) {
          if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
        }
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = target;
      await flush();
    },
  };
}

/** A recorded request. */
export interface Seen {
  node: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown> | undefined;
  at: number;
}

/** A scripted answer: status, body, headers. */
export interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A cluster behind fetch. Every node answers from one job table (as nodes on one PostgreSQL
 * do); `down` nodes refuse connections; `script(node)` queues answers a node gives first.
 */
export function makeFakeCluster(urls: string[], clock: Clock, zones: Record<string, string> = {}) {
  const down = new Set<string>();
  const queued = new Map<string, Scripted[]>();
  const protocol = new Map<string, string>();
  const offered = new Map<string, string>();
  const allCapabilities =
    'jobs,jobs.idempotency,jobs.wait,jobs.cancel,jobs.zones,live.jobs,live.batch,fencing,redirect';
  const seen: Seen[] = [];
  const jobs = new Map<string, JobView>();
  const byKey = new Map<string, string>();
  let seq = 0;

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers: new Headers({ 'content-type': 'application/json', ...headers }),
    text: async () => (body === undefined ? '' : JSON.stringify(body)),
  });
  const error = (status: number, code: string, retryable: boolean, headers = {}) =>
    json(status, { detail: `${code} detail`, code, retryable }, headers);

  function newJob(node: string, body: Record<string, unknown>): JobView {
    seq += 1;
    const id = `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`;
    const zonesOf = (body.zones as string[] | undefined) ?? [zones[node] ?? 'default'];
    return {
      job_id: id,
      kind: String(body.kind),
      status: 'queued',
      priority: (body.priority as string | undefined) ?? 'normal',
      labels: (body.labels as Record<string, string> | undefined) ?? {},
      idempotency_key: (body.idempotency_key as string | undefined) ?? null,
      fence_token: 0,
      leader: { node_id: `id-${node}`, url: node, fence_token: 0 },
      zones: zonesOf.map((zone) => ({
        zone,
        status: 'queued',
        node_id: null,
        url: null,
        fence_token: 0,
        orphaned_at: null,
        result: null,
      })),
      result: null,
      created_at: null,
      updated_at: null,
      completed_at: null,
    };
  }

  function route(
    node: string,
    method: string,
    path: string,
    body: Record<string, unknown> | undefined,
  ) {
    if (path === '/api/v1/cluster/ping') {
      return json(200, {
        node_id: `id-${node}`,
        url: node,
        zone: zones[node] ?? 'default',
        protocol: '1.0',
      });
    }
    if (method === 'POST' && path === '/api/v1/jobs') {
      const key = body?.idempotency_key as string | undefined;
      const earlier = key === undefined ? undefined : byKey.get(key);
      if (earlier) return json(202, jobs.get(earlier));
      const job = newJob(node, body ?? {});
      jobs.set(job.job_id, job);
      if (key !== undefined) byKey.set(key, job.job_id);
      return json(202, job);
    }
    const cancel = /^\/api\/v1\/jobs\/([^/]+)\/cancel$/.exec(path);
    if (method === 'POST' && cancel) {
      const job = jobs.get(decodeURIComponent(cancel[1] ?? ''));
      if (!job) return error(404, 'FERRY_ERR_JOB_NOT_FOUND', false);
      const outcome =
        job.status === 'cancelled'
          ? 'already_cancelled'
          : job.status === 'queued' || job.status === 'running'
            ? 'cancelled'
            : 'already_completed';
      if (outcome === 'cancelled') job.status = 'cancelled';
      return json(200, {
        job_id: job.job_id,
        outcome,
        status: job.status,
        fence_token: job.fence_token,
      });
    }
    const read = /^\/api\/v1\/jobs\/([^/?]+)$/.exec(path);
    if (method === 'GET' && read) {
      const job = jobs.get(decodeURIComponent(read[1] ?? ''));
      return job ? json(200, job) : error(404, 'FERRY_ERR_JOB_NOT_FOUND', false);
    }
    if (method === 'GET' && path.startsWith('/api/v1/jobs')) {
      return json(200, { total: jobs.size, items: [...jobs.values()] });
    }
    return error(404, 'FERRY_ERR_NOT_FOUND', false);
  }

  const fetch: FetchLike = async (url, init) => {
    const parsed = new URL(url);
    const node = parsed.origin;
    const path = `${parsed.pathname}${parsed.search}`;
    const body =
      init.body === undefined ? undefined : (JSON.parse(init.body) as Record<string, unknown>);
    seen.push({ node, method: init.method, path, headers: init.headers, body, at: clock.now() });
    await Promise.resolve();
    if (down.has(node)) {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    }
    const headers = {
      'ferry-protocol': protocol.get(node) ?? '1.0',
      'ferry-capabilities': offered.get(node) ?? allCapabilities,
    };
    const next = queued.get(node)?.shift();
    if (next) {
      return {
        ...json(next.status, next.body, { ...headers, ...next.headers }),
      };
    }
    const answer = route(node, init.method, path, body);
    for (const [k, v] of Object.entries(headers)) answer.headers.set(k, v);
    return answer;
  };

  return {
    fetch,
    seen,
    jobs,
    error,
    /** Requests to `path` (optionally of one method). */
    calls: (path: string, method?: string) =>
      seen.filter((s) => s.path === path && (method === undefined || s.method === method)),
    kill: (node: string) => down.add(node),
    revive: (node: string) => down.delete(node),
    /** The node answers these first, in order. */
    script: (node: string, ...answers: Scripted[]) => {
      queued.set(node, [...(queued.get(node) ?? []), ...answers]);
    },
    speaks: (node: string, version: string) => protocol.set(node, version),
    /** The capabilities the node negotiates (default: all of protocol 1.0's). */
    offers: (node: string, capabilities: string) => offered.set(node, capabilities),
  };
}

/** A live channel behind the WebSocket factory: answers commands, lets the test push and cut. */
export function makeFakeLive() {
  const sockets: FakeSocket[] = [];
  let offset = 0;
  let session = 0;

  class FakeSocket implements WebSocketLike {
    readyState = 0;
    readonly url: string;
    readonly sent: { type: string; payload: unknown; id?: string }[] = [];
    readonly listeners = new Map<string, ((event: never) => void)[]>();
    constructor(url: string) {
      this.url = url;
    }
    addEventListener(type: string, listener: (event: never) => void): void {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
    }
    fire(type: string, event: unknown): void {
      for (const l of this.listeners.get(type) ?? []) (l as (e: unknown) => void)(event);
    }
    receive(message: unknown): void {
      this.fire('message', { data: JSON.stringify(message) });
    }
    send(data: string): void {
      const message = JSON.parse(data) as { type: string; payload: unknown; id?: string };
      this.sent.push(message);
      if (message.id !== undefined) {
        queueMicrotask(() => {
          this.receive({ type: `${message.type}_ok`, payload: {}, id: message.id });
        });
      }
    }
    close(code = 1000, reason = ''): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      queueMicrotask(() => {
        this.fire('close', { code, reason });
      });
    }
    /** The server accepts the connection. */
    open(recovered: 'full' | 'none' = 'none'): void {
      this.readyState = 1;
      session += 1;
      this.receive({
        type: 'connection_established',
        payload: {
          session_token: `s${String(session)}`,
          session_id: `s${String(session)}`,
          session_recognized: recovered !== 'none',
          recovered,
          last_offset: offset,
          subscriptions: [],
        },
      });
    }
  }

  return {
    sockets,
    connect: (url: string) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    /** The newest socket. */
    get socket(): FakeSocket | undefined {
      return sockets.at(-1);
    },
    /** Pushes a job event on the newest open socket. */
    push(event: string, data: Record<string, unknown>): void {
      offset += 1;
      sockets.at(-1)?.receive({
        type: 'event',
        offset,
        payload: {
          topic: 'jobs',
          topics: ['jobs'],
          event,
          data,
          timestamp: new Date(0).toISOString(),
        },
      });
    },
    /** The server drops the connection. */
    cut(): void {
      sockets.at(-1)?.close(1006, 'cut');
    },
  };
}
