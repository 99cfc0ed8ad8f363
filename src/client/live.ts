/**
 * A live-channel client: connects, keeps one session across drops (reconnecting with backoff
 * and jitter, resuming with its session token and last offset), acknowledges what it received,
 * drops replays it already has, and exposes what the server restored. Imports nothing from the
 * server: it runs wherever a WebSocket does (Node 24's global one, a browser's, or `ws`).
 */
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { makeEmitter, type Listener } from './emitter.ts';
import type {
  Established,
  LiveClientEvents,
  LiveEvent,
  Restored,
  ServerNotice,
  WireMessage,
} from './types.ts';

/** The part of the WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
}

/** Opens a WebSocket; the default uses the global `WebSocket`. */
export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export interface LiveClientOptions {
  /**
   * `ws(s)://host:port/api/v1/live`; an `http(s)://` base URL works too. A function is asked
   * again before every connect (the SDK moves to another node when one dies).
   */
  url: string | (() => string);
  /** API key or access token; a function is asked again before every connect (refresh). */
  token: string | (() => string | Promise<string>);
  /** Subscribed whenever the session is new (first connect, or after it expired). */
  topics?: readonly string[];
  /** Resume this session instead of starting one. */
  sessionToken?: string;
  lastOffset?: number;
  reconnect?: BackoffOptions;
  /** Randomness for the jitter (tests pass a fixed one). */
  random?: () => number;
  /** Timers (reconnect, acks, request timeouts); tests pass a fake clock. */
  clock?: Clock;
  connect?: WebSocketFactory;
  /** Acks are sent at most this often. Default 200 ms. */
  ackDelayMs?: number;
  /** A request without a reply after this long fails. Default 30 s. */
  requestTimeoutMs?: number;
  /** After a resume, fetch the conversation history and context into `state.restored`. */
  restore?: boolean;
}

export type LiveStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What the client knows now. */
export interface LiveState {
  status: LiveStatus;
  sessionToken: string | undefined;
  /** Highest offset received (and acknowledged, or about to be). */
  lastOffset: number;
  /** The current connection's connection_established payload. */
  established: Established | undefined;
  /** History and context as the server restored them (with `restore`, after each connect). */
  restored: Restored | undefined;
  /** Reconnect attempts since the last successful connect. */
  attempts: number;
}

/** An `error` reply to a request. */
export class LiveRequestError extends Error {
  readonly code: string;
  constructor(notice: ServerNotice) {
    super(notice.detail);
    this.name = 'LiveRequestError';
    this.code = notice.code;
  }
}

const open = 1;
/** Closes after which reconnecting cannot help: bad credentials (unless refreshable), abuse. */
const fatalCodes = new Set([1008, 4001]);

interface Pending {
  resolve(message: WireMessage): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

/** Resolves on the next connection_established; rejects when the client closes for good. */
function newReady() {
  const ready = Promise.withResolvers<Established>();
  // Nobody may be waiting when the client closes: that is not an unhandled rejection.
  ready.promise.catch(() => undefined);
  return ready;
}

function defaultFactory(url: string, protocols: string[]): WebSocketLike {
  return new WebSocket(url, protocols) as unknown as WebSocketLike;
}

function liveUrl(base: string, state: LiveState): string {
  const url = new URL(base.replace(/^http/, 'ws'));
  if (url.pathname === '/') url.pathname = '/api/v1/live';
  if (state.sessionToken) {
    url.searchParams.set('session_token', state.sessionToken);
    url.searchParams.set('last_offset', String(state.lastOffset));
  }
  return url.toString();
}

export type LiveClient = ReturnType<typeof makeLiveClient>;

/** Makes a client and starts connecting. */
export function makeLiveClient(options: LiveClientOptions) {
  const emitter = makeEmitter<LiveClientEvents>();
  const connectSocket = options.connect ?? defaultFactory;
  const clock = options.clock ?? systemClock;
  const state: LiveState = {
    status: 'connecting',
    sessionToken: options.sessionToken,
    lastOffset: options.lastOffset ?? 0,
    established: undefined,
    restored: undefined,
    attempts: 0,
  };
  const pending = new Map<string, Pending>();
  let socket: WebSocketLike | undefined;
  let nextId = 0;
  let ackTimer: TimerHandle;
  let ackedSent = state.lastOffset;
  let reconnectTimer: TimerHandle;
  let ready = newReady();

  async function connect(): Promise<void> {
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    if (state.status === 'closed') return;
    const base = typeof options.url === 'function' ? options.url() : options.url;
    // No credential (anonymous loopback access): offer none rather than an empty one.
    const protocols = token === '' ? ['ferry.v1'] : ['ferry.v1', `bearer.${token}`];
    const ws = connectSocket(liveUrl(base, state), protocols);
    socket = ws;
    ws.addEventListener('message', (event: { data: unknown }) => {
      if (socket === ws)
        onMessage(typeof event.data === 'string' ? event.data : String(event.data));
    });
    ws.addEventListener('close', (event: { code: number; reason: string }) => {
      if (socket === ws) onClose(event.code, event.reason);
    });
    // Every failure also ends in 'close'; nothing to do here but keep it from being unhandled.
    ws.addEventListener('error', () => undefined);
  }

  function start(): void {
    connect().catch((error: unknown) => {
      onClose(1006, error instanceof Error ? error.message : String(error));
    });
  }

  function onMessage(text: string): void {
    let message: WireMessage;
    try {
      message = JSON.parse(text) as WireMessage;
    } catch {
      return;
    }
    if (message.id !== undefined && pending.has(String(message.id))) {
      const waiter = pending.get(String(message.id));
      pending.delete(String(message.id));
      if (waiter) {
        clock.clearTimeout(waiter.timer);
        if (message.type === 'error')
          waiter.reject(new LiveRequestError(message.payload as ServerNotice));
        else waiter.resolve(message);
      }
      return;
    }
    dispatch(message);
  }

  function dispatch(message: WireMessage): void {
    switch (message.type) {
      case 'connection_established':
        onEstablished(message.payload as Established);
        return;
      case 'event':
        onEvent(message);
        return;
      case 'session_expired':
        emitter.emit('expired', message.payload as ServerNotice);
        return;
      case 'warning':
        emitter.emit('warning', message.payload as ServerNotice);
        return;
      case 'error':
        emitter.emit('error', message.payload as ServerNotice);
        return;
    }
  }

  function onEstablished(payload: Established): void {
    state.status = 'open';
    state.attempts = 0;
    state.sessionToken = payload.session_token;
    state.established = payload;
    // A new session numbers from where the log is now; a resumed one from where we were.
    if (payload.recovered === 'none') state.lastOffset = payload.last_offset;
    ackedSent = Math.max(ackedSent, payload.last_offset);
    emitter.emit('established', payload);
    ready.resolve(payload);
    void afterEstablished(payload).catch((error: unknown) => {
      emitter.emit('error', { code: 'CLIENT_RESTORE_FAILED', detail: String(error) });
    });
  }

  async function afterEstablished(payload: Established): Promise<void> {
    if (payload.recovered === 'none' && options.topics && options.topics.length > 0) {
      await request('subscribe', { topics: options.topics });
    }
    if (options.restore === false) return;
    const restored: Restored = payload.session_recognized
      ? {
          established: payload,
          history: (await request('get_conversation_history', {})).payload as Restored['history'],
          context: (await request('get_session_context', {})).payload as Restored['context'],
        }
      : { established: payload, history: { entries: [], total: 0 }, context: undefined };
    state.restored = restored;
    emitter.emit('restored', restored);
  }

  function onEvent(message: WireMessage): void {
    const offset = message.offset ?? 0;
    // A replay of something this client already handled (it resumed from an older ack).
    if (offset <= state.lastOffset) return;
    state.lastOffset = offset;
    emitter.emit('event', { offset, ...(message.payload as Omit<LiveEvent, 'offset'>) });
    ackTimer ??= clock.setTimeout(sendAck, options.ackDelayMs ?? 200);
  }

  function sendAck(): void {
    ackTimer = undefined;
    if (state.lastOffset <= ackedSent || socket?.readyState !== open) return;
    ackedSent = state.lastOffset;
    socket.send(JSON.stringify({ type: 'ack', payload: { offset: ackedSent } }));
  }

  function onClose(code: number, reason: string): void {
    socket = undefined;
    clock.clearTimeout(ackTimer);
    ackTimer = undefined;
    for (const [id, waiter] of pending) {
      clock.clearTimeout(waiter.timer);
      waiter.reject(new Error(`connection closed (${code} ${reason}) before a reply`));
      pending.delete(id);
    }
    const fatal = fatalCodes.has(code) && !(code === 4001 && typeof options.token === 'function');
    if (state.status === 'closed' || fatal) {
      state.status = 'closed';
      ready.reject(new Error(`live client closed (${String(code)} ${reason})`));
      emitter.emit('close', { code, reason, reconnectInMs: undefined });
      return;
    }
    const delay = backoffDelay(state.attempts, options.reconnect, options.random);
    state.attempts += 1;
    state.status = 'reconnecting';
    if (state.established) ready = newReady();
    state.established = undefined;
    emitter.emit('close', { code, reason, reconnectInMs: delay });
    reconnectTimer = clock.setTimeout(start, delay);
  }

  /** Sends a command and resolves with its reply (rejects with LiveRequestError on `error`). */
  async function request(type: string, payload: unknown = {}): Promise<WireMessage> {
    await ready.promise;
    const ws = socket;
    if (!ws || ws.readyState !== open) throw new Error('not connected');
    const id = `c${String(++nextId)}`;
    const { promise, resolve, reject } = Promise.withResolvers<WireMessage>();
    const timeoutMs = options.requestTimeoutMs ?? 30_000;
    const timer = clock.setTimeout(() => {
      pending.delete(id);
      reject(new Error(`no reply to ${type} within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    pending.set(id, { resolve, reject, timer });
    ws.send(JSON.stringify({ type, payload, id }));
    return promise;
  }

  start();
  return {
    state: state as Readonly<LiveState>,
    request,
    /** Resolves with the current (or next) connection_established payload. */
    ready: () => ready.promise,
    on<K extends keyof LiveClientEvents>(name: K, listener: Listener<LiveClientEvents[K]>) {
      return emitter.on(name, listener);
    },
    next<K extends keyof LiveClientEvents>(
      name: K,
      match?: (payload: LiveClientEvents[K]) => boolean,
      timeoutMs?: number,
    ) {
      return emitter.next(name, match, timeoutMs);
    },
    subscribe: (topics: readonly string[]) => request('subscribe', { topics }),
    unsubscribe: (topics: readonly string[]) => request('unsubscribe', { topics }),
    setContext: (change: Record<string, unknown>) => request('set_context', change),
    /** Closes for good: no reconnect. */
    close(): void {
      state.status = 'closed';
      clock.clearTimeout(reconnectTimer);
      sendAck();
      clock.clearTimeout(ackTimer);
      ackTimer = undefined;
      socket?.close(1000, 'client closed');
    },
  };
}
