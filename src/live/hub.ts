/**
 * The live hub on one node: accepts authenticated WebSocket connections, attaches each to its
 * session, runs commands, fans the topic log out to subscribers, and keeps heartbeats and the
 * memory tier tidy. Sessions live in the store; this node holds the attached ones and, for the
 * memory window, the recently detached ones.
 */
import type { Principal } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import { attachSession, type Attachment } from './attach.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { Clock } from '../clock/clock.ts';
import { runCommand, serverErrorFrame, type CommandDeps } from './commands.ts';
import { closeReason, makeConnection, type Connection, type LiveSocket } from './connection.ts';
import { makeFanout } from './fanout.ts';
import { greet } from './greeting.ts';
import { liveChannel, makeFeed, type ClaimNote } from './feed.ts';
import { closeCodes, parseMessage } from './protocol.ts';
import { ownerKey, type LiveSession } from './session.ts';
import { detachNodeSessions, detachSession, saveSession } from './sql/sessions.ts';
import { makeSweeper } from './sweep.ts';

export interface HubDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  nodeId: string;
  config: Config['live'];
  clock: Pick<Clock, 'now' | 'every'>;
  log: {
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

/** What a connecting client presented besides its credentials. */
export interface ConnectInfo {
  sessionToken: string | undefined;
  lastOffset: number | undefined;
  address: string | null;
  userAgent: string | null;
}

/** Counts for tests, benchmarks and metrics. */
export interface HubStats {
  connections: number;
  sessionsHeld: number;
  detachedHeld: number;
  outboxMessages: number;
  outboxChars: number;
  historyEntries: number;
}

export interface LiveHub {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Takes over an authenticated socket. */
  connect(socket: LiveSocket, principal: Principal, info: ConnectInfo): void;
  stats(): HubStats;
}

export function makeHub(deps: HubDeps): LiveHub {
  const { db, config, clock } = deps;
  const now = () => clock.now();
  const byToken = new Map<string, LiveSession>();
  const byId = new Map<string, LiveSession>();
  const perOwner = new Map<string, number>();
  const connections = new Set<Connection>();
  /** Each connection's message chain; closing appends the detach, so stop() can wait for it. */
  const inbound = new Map<Connection, Promise<void>>();
  const fanout = makeFanout();
  const feed = makeFeed({
    db,
    log: deps.log,
    onMessage(message) {
      fanout.deliver(message, receive);
    },
    onClaim,
  });
  let stopping = false;

  function receive(session: LiveSession, text: string, offset: number): void {
    session.outbox.push(offset, text);
    if (!session.restoring) session.link?.send(text);
  }

  function hold(session: LiveSession): void {
    byToken.set(session.tokenHash, session);
    byId.set(session.id, session);
    for (const topic of session.subscriptions.keys()) fanout.add(session, topic);
  }

  function release(session: LiveSession, options: { keepHeld?: boolean } = {}): void {
    if (!options.keepHeld) {
      fanout.removeAll(session);
      if (byId.get(session.id) === session) {
        byId.delete(session.id);
        byToken.delete(session.tokenHash);
      }
    }
    const link = session.link;
    session.link = undefined;
    link?.close(closeCodes.replaced, closeReason('FERRY_ERR_LIVE_REPLACED'));
  }

  /** Another node took a session over: let go of this node's copy. */
  function onClaim(note: ClaimNote): void {
    if (note.node === deps.nodeId) return;
    const session = byId.get(note.session);
    // A late note about an older claim must not take back a session attached here since.
    if (session && session.epoch < note.epoch) release(session);
  }

  function enqueueWrite(session: LiveSession, write: () => Promise<void>): Promise<void> {
    const result = session.writes.then(write);
    session.writes = result.catch((error: unknown) => {
      deps.log.warn({ err: error, session: session.id }, 'live: session write failed');
    });
    return result;
  }

  const pendingAcks = new Map<LiveSession, number>();
  const commandDeps: CommandDeps = {
    now,
    position: () => feed.position(),
    fanout,
    historyLimit: config.history_limit,
    contextLimitBytes: config.context_limit_bytes,
    save: (session, change) => enqueueWrite(session, () => saveSession(db, session.id, change)),
    ack(session, offset) {
      if (offset <= session.acked) return;
      session.acked = offset;
      session.outbox.ack(offset);
      // Acks come often; only the latest of a burst is written.
      if (pendingAcks.has(session)) {
        pendingAcks.set(session, offset);
        return;
      }
      pendingAcks.set(session, offset);
      void enqueueWrite(session, async () => {
        const acked = pendingAcks.get(session) ?? offset;
        pendingAcks.delete(session);
        await saveSession(db, session.id, { acked });
      });
    },
  };

  const sweeper = makeSweeper({
    db,
    nodeId: deps.nodeId,
    now,
    config,
    feed,
    log: deps.log,
    held: () => byId.values(),
    release,
  });

  /** Connections are counted per user (any credential of theirs), else per credential. */
  function connectionOwner(principal: Principal): string {
    return principal.userId !== undefined
      ? `user:${String(principal.userId)}`
      : ownerKey(principal);
  }

  function countOwner(owner: string, delta: number): number {
    const count = (perOwner.get(owner) ?? 0) + delta;
    if (count <= 0) perOwner.delete(owner);
    else perOwner.set(owner, count);
    return count;
  }

  function connect(socket: LiveSocket, principal: Principal, info: ConnectInfo): void {
    const owner = connectionOwner(principal);
    if (stopping || (perOwner.get(owner) ?? 0) >= config.connections_per_user) {
      const reason = stopping
        ? closeReason('FERRY_ERR_SHUTTING_DOWN')
        : closeReason('FERRY_ERR_LIVE_CONNECTION_LIMIT', {
            limit: config.connections_per_user,
          });
      socket.close(stopping ? closeCodes.goingAway : closeCodes.tooManyConnections, reason);
      return;
    }
    countOwner(owner, 1);
    let session: LiveSession | undefined;
    // Messages are handled one at a time, in order, and only once the session is attached.
    const schedule = (work: () => Promise<void> | void): void => {
      const next = (inbound.get(connection) ?? Promise.resolve())
        .then(work)
        .catch((error: unknown) => {
          deps.log.error({ err: error }, 'live: message handling failed');
        });
      inbound.set(connection, next);
    };
    const connection = makeConnection({
      socket,
      now,
      limits: {
        maxMessageBytes: config.max_message_bytes,
        messagesPerMinute: config.messages_per_minute,
        abuseLimit: config.abuse_limit,
        sendBufferBytes: config.send_buffer_bytes,
        heartbeatMs: config.heartbeat_seconds * 1000,
        idleMs: config.idle_timeout_seconds * 1000,
      },
      schedule,
      async onText(text) {
        if (session) await handleText(connection, session, text);
      },
      onClosed(code, reason) {
        connections.delete(connection);
        countOwner(owner, -1);
        schedule(() => {
          inbound.delete(connection);
          if (session) detach(session, connection, code, reason);
        });
      },
    });
    connections.add(connection);
    inbound.set(
      connection,
      open(connection, principal, info).then(
        (attached) => {
          session = attached;
        },
        (error: unknown) => {
          deps.log.error({ err: error }, 'live: could not open a session');
          connection.close(closeCodes.internal, closeReason('FERRY_ERR_STORE_UNAVAILABLE'));
        },
      ),
    );
  }

  async function open(
    connection: Connection,
    principal: Principal,
    info: ConnectInfo,
  ): Promise<LiveSession | undefined> {
    const attachment = await attachSession(
      {
        db,
        nodeId: deps.nodeId,
        now,
        config,
        feed,
        fanout,
        held: (hash) => byToken.get(hash),
        hold,
        release,
        announce: (note) => db.notify(liveChannel, JSON.stringify(note)),
      },
      {
        principal,
        token: info.sessionToken,
        lastOffset: info.lastOffset,
        address: info.address,
        userAgent: info.userAgent,
      },
    );
    const { session } = attachment;
    if (connection.closed) {
      // The client left while the session was being restored: keep it detached, as any other.
      session.restoring = false;
      detach(session, undefined, closeCodes.goingAway, 'closed during attach');
      return undefined;
    }
    sendAttached(connection, attachment);
    return session;
  }

  /** Sends what a (re)connected client gets first, then switches the session to live. */
  function sendAttached(connection: Connection, attachment: Attachment): void {
    const greeting = greet(attachment, connection, {
      now: now(),
      heartbeatSeconds: config.heartbeat_seconds,
      maxMessageBytes: config.max_message_bytes,
      messagesPerMinute: config.messages_per_minute,
    });
    for (const text of greeting.frames) connection.send(text);
    deps.bus.emit('live:connected', {
      sessionId: attachment.session.id,
      recovered: attachment.recovered,
      missed: greeting.missed,
    });
  }

  async function handleText(connection: Connection, session: LiveSession, text: string) {
    const parsed = parseMessage(text);
    if (!parsed.ok) {
      connection.refuse(parsed.problem.code, parsed.problem.params, parsed.id);
      return;
    }
    try {
      const reply = await runCommand(commandDeps, session, parsed.command, text);
      if (reply !== undefined) connection.send(reply);
    } catch (error) {
      deps.log.warn({ err: error, session: session.id }, 'live: command failed');
      connection.send(serverErrorFrame('FERRY_ERR_STORE_UNAVAILABLE', parsed.command.id));
    }
  }

  /** The connection is gone; the session stays, detached, in memory and in the store. */
  function detach(
    session: LiveSession,
    connection: Connection | undefined,
    code: number,
    reason: string,
  ): void {
    // A newer connection took the session over: the old one's close changes nothing.
    if (connection && session.link !== connection) return;
    session.link = undefined;
    session.detachedAt = now();
    const epoch = session.epoch;
    const at = session.detachedAt;
    void enqueueWrite(session, () => detachSession(db, session.id, epoch, at)).finally(() => {
      deps.bus.emit('live:disconnected', { sessionId: session.id, code, reason });
    });
  }

  let cancelTick: (() => void) | undefined;
  let stopped: Promise<void> | undefined;

  async function stopHub(): Promise<void> {
    stopping = true;
    cancelTick?.();
    const reason = closeReason('FERRY_ERR_SHUTTING_DOWN');
    for (const connection of connections) connection.close(closeCodes.goingAway, reason);
    await Promise.all(inbound.values());
    await Promise.all([...byId.values()].map((s) => s.writes));
    await detachNodeSessions(db, deps.nodeId, now()).catch((error: unknown) => {
      deps.log.warn({ err: error }, 'live: could not mark sessions disconnected');
    });
    await sweeper.stop();
    await feed.stop();
  }

  return {
    async start() {
      await feed.start();
      cancelTick = clock.every(1000, function tick() {
        const at = now();
        for (const connection of connections) connection.heartbeat(at);
        sweeper.maybeSweep(at);
      });
    },
    stop() {
      stopped ??= stopHub();
      return stopped;
    },
    connect,
    stats() {
      const held = [...byId.values()];
      return {
        connections: connections.size,
        sessionsHeld: held.length,
        detachedHeld: held.filter((s) => !s.link).length,
        outboxMessages: held.reduce((n, s) => n + s.outbox.size, 0),
        outboxChars: held.reduce((n, s) => n + s.outbox.chars, 0),
        historyEntries: held.reduce((n, s) => n + s.history.length, 0),
      };
    },
  };
}
