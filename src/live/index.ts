/**
 * The live channel: a publisher on every node (domain events → topic log → NOTIFY) and, on nodes
 * that serve HTTP, the WebSocket hub. docs/live.md describes the protocol.
 */
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { makeClock, type Every } from '../clock/clock.ts';
import { makeHub, type LiveHub } from './hub.ts';
import { makePublisher, type Publisher } from './publisher.ts';

export { makeHub, type ConnectInfo, type HubStats, type LiveHub } from './hub.ts';
export { makePublisher, type Publisher } from './publisher.ts';
export { closeCodes, commandSchemas, type CommandType } from './protocol.ts';
export { eventTopics, topicFamilies, type TopicAccess } from './topics.ts';

export interface LiveDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  nodeId: string;
  config: Config;
  now: () => Date;
  /** Periodic timers (heartbeats, sweeps); tests pass fake ones they fire by hand. */
  every?: Every | undefined;
  log: {
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

/** The live channel on one node. */
export interface Live {
  readonly publisher: Publisher;
  /** Undefined on `worker` nodes: they publish but serve no connections. */
  readonly hub: LiveHub | undefined;
  start(): Promise<void>;
  /** Tells connected clients the node is going (1001) and marks their sessions detached. */
  closeConnections(): Promise<void>;
  /** Closes connections if still open, then writes what was emitted until now. */
  stop(): Promise<void>;
}

/** Makes the live channel for one node; nothing runs until start(). */
export function makeLive(deps: LiveDeps): Live {
  const clock = makeClock(deps.now, { every: deps.every });
  const publisher = makePublisher({
    db: deps.db,
    bus: deps.bus,
    now: () => clock.now(),
    log: deps.log,
  });
  const hub =
    deps.config.role === 'worker'
      ? undefined
      : makeHub({
          db: deps.db,
          bus: deps.bus,
          nodeId: deps.nodeId,
          config: deps.config.live,
          clock,
          log: deps.log,
        });
  return {
    publisher,
    hub,
    async start() {
      publisher.start();
      await hub?.start();
    },
    async closeConnections() {
      await hub?.stop();
    },
    async stop() {
      await hub?.stop();
      await publisher.stop();
    },
  };
}
