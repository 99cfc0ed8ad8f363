/**
 * Topics: what live clients subscribe to, who may see each, and the one table that says which
 * domain events feed which topics. A capability that adds a domain event adds one line to
 * `eventTopics`; nothing else in the live channel changes.
 */
import { mayAccess, scopeOrNone, type Principal } from '../auth/index.ts';
import type { FerryEvents } from '../bus/bus.ts';

/**
 * Who may see a topic family's messages: `any` authenticated principal; `owner` — admins, and
 * the user whose id the message carries (`ownerId`/`userId` of the domain event); `admin` only.
 */
export type TopicAccess = 'any' | 'owner' | 'admin';

interface TopicFamily {
  /** `transfer:{id}` has an id part; `events` and `system` do not; `jobs` and `jobs:{id}` both exist. */
  readonly withId: boolean | 'optional';
  readonly access: TopicAccess;
}

/** Every topic family. `transfer:7`, `transfer:*` (every transfer the principal may see), `events`. */
export const topicFamilies = {
  transfer: { withId: true, access: 'owner' },
  watch: { withId: true, access: 'owner' },
  pipeline: { withId: true, access: 'admin' },
  /** The queue's own (pg-boss) job events; this family was called `jobs` before cluster mode. */
  queue: { withId: true, access: 'admin' },
  /** Cluster jobs: `jobs:{id}` one job, `jobs` every job the principal may see. */
  jobs: { withId: 'optional', access: 'owner' },
  cluster: { withId: false, access: 'any' },
  events: { withId: false, access: 'owner' },
  system: { withId: false, access: 'any' },
} as const satisfies Record<string, TopicFamily>;

export type TopicFamilyName = keyof typeof topicFamilies;

/** Where one domain event goes: its topics, and the user it belongs to (null: nobody's). */
export interface Routed {
  readonly topics: readonly string[];
  readonly ownerId: number | null;
}

type Router<K extends keyof FerryEvents> = (payload: FerryEvents[K]) => Routed;

const transferOf = (p: { transferId: number; ownerId: number | null }): Routed => ({
  topics: [`transfer:${p.transferId}`],
  ownerId: p.ownerId,
});
const watchOf = (p: { transferId: number; ownerId: number | null }): Routed => ({
  topics: [`watch:${p.transferId}`],
  ownerId: p.ownerId,
});
const pipelineOf = (p: { pipeline: string }): Routed => ({
  topics: [`pipeline:${p.pipeline}`],
  ownerId: null,
});
const eventsOf = (p: { userId: number | null }): Routed => ({
  topics: ['events'],
  ownerId: p.userId,
});
const jobOf = (p: { id: string }): Routed => ({ topics: [`queue:${p.id}`], ownerId: null });
const clusterJobOf = (p: { jobId: string; ownerId: number | null }): Routed => ({
  topics: [`jobs:${p.jobId}`, 'jobs'],
  ownerId: p.ownerId,
});

/**
 * THE table: domain event → topics. Events not listed (lease:lost, live:*) are not carried.
 * A watch profile is a transfer, so its status reaches both `transfer:{id}` and `watch:{id}`;
 * a client subscribed to both still receives each message once.
 */
export const eventTopics: { readonly [K in keyof FerryEvents]?: Router<K> } = {
  'transfer:progress': transferOf,
  'transfer:status': (p) => ({
    topics: [`transfer:${p.transferId}`, `watch:${p.transferId}`],
    ownerId: p.ownerId,
  }),
  'watch:file-detected': watchOf,
  'watch:file-finished': watchOf,
  'watch:cycle': watchOf,
  'run:started': pipelineOf,
  'run:file': pipelineOf,
  'run:completed': pipelineOf,
  'event:accepted': eventsOf,
  'event:processed': eventsOf,
  'job:completed': jobOf,
  'job:failed': jobOf,
  'system:notice': () => ({ topics: ['system'], ownerId: null }),
  'cluster:leader': () => ({ topics: ['cluster'], ownerId: null }),
  // One job's status on its own topic; the `jobs` topic carries them batched, many jobs a message.
  'job:status': (p) => ({ topics: [`jobs:${p.jobId}`], ownerId: p.ownerId }),
  'job:status-batch': (p) => ({ topics: ['jobs'], ownerId: p.ownerId }),
  'job:items': clusterJobOf,
  'job:stats': clusterJobOf,
  'job:final': clusterJobOf,
  'job:cancelled': clusterJobOf,
  'job:leader-transfer': clusterJobOf,
  'job:orphaned': clusterJobOf,
};

/** The domain events the live channel carries. */
export function carriedEvents(): (keyof FerryEvents)[] {
  return Object.keys(eventTopics) as (keyof FerryEvents)[];
}

/** Routes one domain event; undefined when the table does not carry it. */
export function routeEvent<K extends keyof FerryEvents>(
  name: K,
  payload: FerryEvents[K],
): Routed | undefined {
  const router: Router<K> | undefined = eventTopics[name];
  return router?.(payload);
}

const idPattern = /^[\w.:@-]{1,200}$/;

/** A parsed subscription: a family, and an id, `*` for every id, or undefined for id-less families. */
export interface TopicName {
  readonly topic: string;
  readonly family: TopicFamilyName;
  readonly id: string | undefined;
}

/** Parses a topic a client named; undefined when it is not a known family or well-formed id. */
export function parseTopic(topic: string): TopicName | undefined {
  const colon = topic.indexOf(':');
  const familyName = colon === -1 ? topic : topic.slice(0, colon);
  if (!Object.hasOwn(topicFamilies, familyName)) return undefined;
  const family = familyName as TopicFamilyName;
  const withId: boolean | 'optional' = topicFamilies[family].withId;
  if (colon === -1 && withId !== true) return { topic, family, id: undefined };
  if (withId === false) return undefined;
  const id = topic.slice(colon + 1);
  if (colon === -1 || !(id === '*' || idPattern.test(id))) return undefined;
  return { topic, family, id };
}

/** The family part of a message topic (`transfer:7` → `transfer`). */
export function familyOf(topic: string): string {
  const colon = topic.indexOf(':');
  return colon === -1 ? topic : topic.slice(0, colon);
}

/** Why a principal may not subscribe to a topic, or undefined when it may. */
export function subscribeProblem(principal: Principal, name: TopicName): string | undefined {
  const access = topicFamilies[name.family].access;
  const scope = scopeOrNone(principal);
  if (scope?.all || access === 'any') return undefined;
  if (access === 'admin') return `topic ${name.topic} is for admins only`;
  if (!scope) {
    return `topic ${name.topic} carries a user's own objects, and this credential has no user`;
  }
  return undefined;
}

/** Whether a principal may see a message on `topic` that belongs to `ownerId`. */
export function maySee(principal: Principal, topic: string, ownerId: number | null): boolean {
  const scope = scopeOrNone(principal);
  if (scope?.all) return true;
  const family = topicFamilies[familyOf(topic) as TopicFamilyName] as TopicFamily | undefined;
  if (!family) return false;
  if (family.access === 'any') return true;
  if (family.access === 'admin') return false;
  return scope !== undefined && mayAccess(scope, ownerId);
}

/** Whether a subscription (`transfer:7`, `transfer:*`, `events`) covers a message topic. */
export function covers(subscription: string, topic: string): boolean {
  if (subscription === topic) return true;
  return subscription.endsWith(':*') && topic.startsWith(subscription.slice(0, -1));
}
