/**
 * Live-channel test kit: a WebSocket test client that records every message and waits on them,
 * a fake clock and fake periodic timers (fired by hand), and sign-in helpers.
 */
import type { FastifyInstance } from 'fastify';
import WebSocket, { type ClientOptions } from 'ws';
import { makeFerry, type Ferry } from '../../src/app/index.ts';
import type { Every } from '../../src/clock/clock.ts';
import type { HubStats } from '../../src/live/index.ts';
import { afterAll, beforeAll } from 'vitest';
import type { StoreKind } from '../../src/db/index.ts';
import { makeFakeClock as makeFakeTimeClock } from './clock.ts';
import { testEnv, type TestEnv } from './stores.ts';

export { signUp } from './principals.ts';

/** A message as received. */
export interface Msg {
  type: string;
  payload: Record<string, unknown>;
  id?: string | number;
  offset?: number;
}

export interface TestSocket {
  readonly ws: WebSocket;
  readonly messages: Msg[];
  /** The next message of `type` (matching `match`) not yet taken by an earlier next(). */
  next(type: string, match?: (m: Msg) => boolean, timeoutMs?: number): Promise<Msg>;
  send(message: object | string): void;
  /** Sends a command with a fresh id and waits for the reply with that id. */
  request(type: string, payload?: object): Promise<Msg>;
  /** Resolves when the connection closed, with the code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<{ code: number; reason: string }>;
  /** Resolves once connection_established arrived. */
  established(): Promise<Msg>;
}

export interface OpenOptions {
  token?: string;
  /** Where to put the token: the Authorization header (default), a subprotocol, or the query. */
  via?: 'header' | 'protocol' | 'query';
  sessionToken?: string;
  lastOffset?: number;
  headers?: Record<string, string>;
  ws?: ClientOptions;
}

let ids = 0;

/** Opens a WebSocket to the live endpoint of `base` (http://host:port). */
export function openLive(
  base: string,
  options: OpenOptions = {},
  path = '/api/v1/live',
): TestSocket {
  const url = new URL(path, base.replace(/^http/, 'ws'));
  if (options.sessionToken) url.searchParams.set('session_token', options.sessionToken);
  if (options.lastOffset !== undefined)
    url.searchParams.set('last_offset', String(options.lastOffset));
  const headers: Record<string, string> = { ...options.headers };
  const protocols: string[] = [];
  const via = options.via ?? 'header';
  if (options.token !== undefined) {
    if (via === 'header') headers.authorization = `Bearer ${options.token}`;
    if (via === 'protocol') protocols.push('ferry.v1', `bearer.${options.token}`);
    if (via === 'query') url.searchParams.set('token', options.token);
  }
  const ws = new WebSocket(url, protocols, { headers, ...options.ws });
  const messages: Msg[] = [];
  const taken = new Set<Msg>();
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString()) as Msg);
    for (const w of [...waiters]) w();
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const w of [...waiters]) w();
    });
  });

  /** The first message matching `match` not taken by an earlier wait. */
  function take(match: (m: Msg) => boolean, what: string, timeoutMs = 15_000) {
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        const seen = messages.map((m) => m.type).join(', ');
        reject(new Error(`no ${what} within ${timeoutMs} ms; received: ${seen}`));
      }, timeoutMs);
      function check() {
        const found = messages.find((m) => !taken.has(m) && match(m));
        if (!found) return;
        taken.add(found);
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      }
      waiters.add(check);
      check();
    });
  }

  const socket: TestSocket = {
    ws,
    messages,
    next: (type, match = () => true, timeoutMs) =>
      take((m) => m.type === type && match(m), `${type} message`, timeoutMs),
    send(message) {
      ws.send(typeof message === 'string' ? message : JSON.stringify(message));
    },
    request(type, payload = {}) {
      const id = `t${++ids}`;
      socket.send({ type, payload, id });
      return take((m) => m.id === id, `reply to ${type} (${id})`);
    },
    closed,
    async close() {
      ws.close();
      return closed;
    },
    established: () => socket.next('connection_established'),
  };
  return socket;
}

/** A clock tests move by hand, read as the composition root's `() => Date` (./clock.ts). */
export function makeFakeClock(start = Date.now()) {
  const clock = makeFakeTimeClock(start);
  return {
    now: () => new Date(clock.now()),
    advance(ms: number) {
      clock.advance(ms);
    },
  };
}

/** Periodic timers that run only when the test fires them. */
export function makeFakeTimers() {
  const fns = new Set<() => void>();
  const every: Every = (_ms, fn) => {
    fns.add(fn);
    return () => {
      fns.delete(fn);
    };
  };
  return {
    every,
    fire() {
      for (const fn of fns) fn();
    },
  };
}

/** A Ferry under test with a fake clock and fake timers, and what tests reach for. */
export interface LiveNode {
  ferry: Ferry;
  base: string;
  app: FastifyInstance;
  /** The bootstrap admin API key (first start on a store only). */
  adminKey: string | undefined;
  stats(): HubStats;
}

/** Starts a Ferry on `env` with the given fake clock and timers. */
export async function startLiveNode(
  env: TestEnv,
  clock: { now: () => Date },
  timers: { every: Every },
): Promise<LiveNode> {
  const ferry = makeFerry(env.config, { now: clock.now, every: timers.every });
  const info = await ferry.start();
  const app = ferry.http;
  const hub = ferry.live.hub;
  if (!app || !info.url || !hub) throw new Error('ferry started without HTTP');
  return { ferry, base: info.url, app, adminKey: info.bootstrapKey, stats: () => hub.stats() };
}

/**
 * An admin connection subscribed to `events` and `system`: once it has received a message, the
 * node's fan-out has handled that message for every session (one pass delivers to all).
 */
export async function makeObserver(node: LiveNode, adminKey: string) {
  const socket = openLive(node.base, { token: adminKey });
  await socket.established();
  await socket.request('subscribe', { topics: ['events', 'system', 'transfer:*'] });
  // Acknowledged at once, so the observer's own outbox stays empty.
  const ack = (offset: number) => {
    socket.send({ type: 'ack', payload: { offset } });
    return offset;
  };
  return {
    socket,
    /** Emits `system:notice` with `message` and resolves with its offset once fanned out. */
    async notice(message: string): Promise<number> {
      node.ferry.bus.emit('system:notice', { level: 'info', message });
      const got = await socket.next(
        'event',
        (m) => (m.payload.data as { message?: string }).message === message,
      );
      return ack(got.offset ?? 0);
    },
    /** Emits `event:processed` for `userId` and resolves with its offset once fanned out. */
    async userEvent(userId: number, id: number): Promise<number> {
      node.ferry.bus.emit('event:processed', { id, userId, ok: true, error: null });
      const got = await socket.next('event', (m) => (m.payload.data as { id?: number }).id === id);
      return ack(got.offset ?? 0);
    },
    /** Sends a ping: after the test moved the clock, the observer is not idle. */
    async touch(): Promise<void> {
      await socket.request('ping');
    },
    close: () => socket.close(),
  };
}

/** Closes a test socket and waits until the node recorded the disconnect (store included). */
export async function disconnect(
  node: LiveNode,
  socket: TestSocket,
  sessionId: string,
): Promise<void> {
  const gone = node.ferry.bus.next('live:disconnected', (e) => e.sessionId === sessionId);
  await socket.close();
  await gone;
}

/** What `useLiveNode` gives a test file: the node, its admin key, an observer, clock and timers. */
export interface LiveSetup {
  readonly clock: ReturnType<typeof makeFakeClock>;
  readonly timers: ReturnType<typeof makeFakeTimers>;
  readonly env: TestEnv;
  readonly node: LiveNode;
  /** The bootstrap admin API key. */
  readonly adminKey: string;
  /** Available when asked for with `observer: true`. */
  readonly observer: Observer;
  /** Stops the node (and observer) and starts a new one on the same store, clock and timers. */
  restart(): Promise<void>;
}

/** An admin connection subscribed to `events` and `system` (see makeObserver). */
export type Observer = Awaited<ReturnType<typeof makeObserver>>;

/**
 * The live tests' one setup: registers hooks that start a Ferry with a fake clock and fake
 * timers on a fresh store of `kind` (with `env` overrides, computed once before the start),
 * optionally open an observer, and stop and clean everything after the file.
 */
export function useLiveNode(
  kind: StoreKind,
  options: {
    env?: Record<string, string> | (() => Promise<Record<string, string>>);
    observer?: boolean;
  } = {},
): LiveSetup {
  const clock = makeFakeClock();
  const timers = makeFakeTimers();
  let state:
    { env: TestEnv; node: LiveNode; adminKey: string; observer: Observer | undefined } | undefined;
  const observe = (node: LiveNode, adminKey: string) =>
    options.observer ? makeObserver(node, adminKey) : Promise.resolve(undefined);
  beforeAll(async () => {
    const overrides = typeof options.env === 'function' ? await options.env() : options.env;
    const env = await testEnv(kind, overrides);
    const node = await startLiveNode(env, clock, timers);
    const adminKey = node.adminKey ?? '';
    state = { env, node, adminKey, observer: await observe(node, adminKey) };
  });
  afterAll(async () => {
    await state?.observer?.close();
    await state?.node.ferry.stop();
    await state?.env.cleanup();
  });
  function current() {
    if (!state) throw new Error('the live node is available inside tests only');
    return state;
  }
  return {
    clock,
    timers,
    get env() {
      return current().env;
    },
    get node() {
      return current().node;
    },
    get adminKey() {
      return current().adminKey;
    },
    get observer() {
      const { observer } = current();
      if (!observer) throw new Error('pass observer: true to useLiveNode');
      return observer;
    },
    async restart() {
      const now = current();
      await now.observer?.close();
      await now.node.ferry.stop();
      now.node = await startLiveNode(now.env, clock, timers);
      now.observer = await observe(now.node, now.adminKey);
    },
  };
}
