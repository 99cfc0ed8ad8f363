/**
 * One WebSocket connection: the limits on what the client sends (size, rate, repeated abuse),
 * the bounded send buffer, and the heartbeat. What the messages mean is the hub's business.
 */
import type { WebSocket } from 'ws';
import { errorBody, FerryError, type ErrorCode } from '../errors/index.ts';
import { closeCodes, frame, type MessageId } from './protocol.ts';
import type { SessionLink } from './session.ts';

/** What a connection uses of a server-side `ws` socket. */
export type LiveSocket = Pick<
  WebSocket,
  'send' | 'close' | 'terminate' | 'ping' | 'on' | 'bufferedAmount' | 'readyState' | 'OPEN'
>;

/** Limits for one connection, from the `live.*` config. */
export interface ConnectionLimits {
  maxMessageBytes: number;
  messagesPerMinute: number;
  abuseLimit: number;
  sendBufferBytes: number;
  heartbeatMs: number;
  idleMs: number;
}

export interface Connection extends SessionLink {
  readonly closed: boolean;
  /** Sends an `error` message for a refused client message and counts it toward abuse. */
  refuse(code: ErrorCode, params: Record<string, unknown>, id: MessageId): void;
  /** Pings when due; closes a connection silent for the idle timeout. */
  heartbeat(now: number): void;
}

export interface ConnectionDeps {
  socket: LiveSocket;
  limits: ConnectionLimits;
  now: () => number;
  /**
   * Runs `work` after everything scheduled before it: replies, errors and an abuse close go
   * out in the order the client's messages came in.
   */
  schedule(work: () => Promise<void> | void): void;
  /** A text message within the limits, in arrival order (called through `schedule`). */
  onText(text: string): Promise<void>;
  /** The connection is gone (closed by either side, or dropped). */
  onClosed(code: number, reason: string): void;
}

const minuteMs = 60_000;
/** How long a closing connection may take to flush its close frame before it is cut. */
const closeGraceMs = 2_000;

/** A close reason names the error code first; WebSocket caps reasons at 123 bytes. */
export function closeReason(code: ErrorCode, params: Record<string, unknown> = {}): string {
  let reason = `${code}: ${new FerryError(code, params).message}`;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -2) + '…';
  return reason;
}

/** Counts events in a one-minute window that starts at the first event. */
function makeMinuteCounter(now: () => number) {
  let start = 0;
  let count = 0;
  return function hit(): number {
    const at = now();
    if (at - start >= minuteMs) {
      start = at;
      count = 0;
    }
    return ++count;
  };
}

export function makeConnection(deps: ConnectionDeps): Connection {
  const { socket, limits, now } = deps;
  const messageHit = makeMinuteCounter(now);
  const strikeHit = makeMinuteCounter(now);
  let lastHeard = now();
  let lastPing = now();
  let closed = false;
  let condemned = false;

  function close(code: number, reason: string): void {
    if (closed) return;
    closed = true;
    socket.close(code, reason);
    // A peer that stopped reading never answers the close handshake: cut it after a grace.
    setTimeout(() => {
      socket.terminate();
    }, closeGraceMs).unref();
    deps.onClosed(code, reason);
  }

  /** Counts a refused message; true once the abuse limit is reached. */
  function strike(): number {
    const strikes = strikeHit();
    if (strikes >= limits.abuseLimit) condemned = true;
    return strikes;
  }

  function answer(
    code: ErrorCode,
    params: Record<string, unknown>,
    id: MessageId,
    strikes: number,
  ) {
    send(frame('error', errorBody(new FerryError(code, params)), id));
    if (strikes >= limits.abuseLimit) {
      close(closeCodes.policy, closeReason('FERRY_ERR_LIVE_ABUSE', { count: strikes }));
    }
  }

  function refuse(code: ErrorCode, params: Record<string, unknown>, id: MessageId): void {
    answer(code, params, id, strike());
  }

  /** Refused on arrival (size, rate, binary): counted now, answered in turn. */
  function refuseOnArrival(code: ErrorCode, params: Record<string, unknown>): void {
    const strikes = strike();
    deps.schedule(() => {
      answer(code, params, undefined, strikes);
    });
  }

  function send(text: string): void {
    if (closed || socket.readyState !== socket.OPEN) return;
    // A frame larger than the limit still goes out to a client that has read everything else.
    const buffered = socket.bufferedAmount;
    if (buffered > 0 && buffered + text.length > limits.sendBufferBytes) {
      close(
        closeCodes.slowConsumer,
        closeReason('FERRY_ERR_LIVE_SLOW_CONSUMER', { limit: limits.sendBufferBytes }),
      );
      return;
    }
    socket.send(text);
  }

  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    lastHeard = now();
    // Once condemned, nothing more is read: a flood cannot queue work behind the close.
    if (closed || condemned) return;
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    if (messageHit() > limits.messagesPerMinute) {
      refuseOnArrival('FERRY_ERR_LIVE_RATE_LIMITED', { limit: limits.messagesPerMinute });
    } else if (bytes.length > limits.maxMessageBytes) {
      refuseOnArrival('FERRY_ERR_LIVE_MESSAGE_TOO_LARGE', {
        size: bytes.length,
        limit: limits.maxMessageBytes,
      });
    } else if (isBinary) {
      refuseOnArrival('FERRY_ERR_LIVE_MALFORMED', { reason: 'binary frames are not accepted' });
    } else {
      const text = bytes.toString('utf8');
      deps.schedule(() => deps.onText(text));
    }
  });
  socket.on('pong', () => {
    lastHeard = now();
  });
  socket.on('close', (code: number, reason: Buffer) => {
    if (closed) return;
    closed = true;
    deps.onClosed(code, reason.toString());
  });

  return {
    get closed() {
      return closed;
    },
    send,
    close,
    refuse,
    heartbeat(at) {
      if (closed) return;
      if (at - lastHeard >= limits.idleMs) {
        close(
          closeCodes.idle,
          closeReason('FERRY_ERR_LIVE_IDLE', { seconds: Math.round(limits.idleMs / 1000) }),
        );
      } else if (at - lastPing >= limits.heartbeatMs) {
        lastPing = at;
        socket.ping();
      }
    },
  };
}
