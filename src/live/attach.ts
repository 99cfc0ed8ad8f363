/**
 * Attaching a connection to a session: a new one, or the one its token names — restored from
 * this node's memory within the memory window (`full`), from the store after it, after a
 * restart or on another node (`partial`), or not at all once expired (`none`, a clean session).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import { eventFrame, matchTopic, type Fanout } from './fanout.ts';
import type { ClaimNote, Feed } from './feed.ts';
import { makeOutbox } from './outbox.ts';
import {
  emptyContext,
  ownerKey,
  parseContext,
  parseSubscriptions,
  type LiveSession,
} from './session.ts';
import { readReplayCandidates } from './sql/messages.ts';
import {
  claimSession,
  deleteSession,
  insertSession,
  lockSessionByToken,
  readHistory,
  type SessionRow,
} from './sql/sessions.ts';

/** How a resumed session came back. */
export type Recovered = 'full' | 'partial' | 'none';

export interface AttachDeps {
  db: Db;
  nodeId: string;
  now: () => number;
  config: Config['live'];
  feed: Feed;
  fanout: Fanout;
  /** This node's memory tier, by token hash. */
  held(tokenHash: string): LiveSession | undefined;
  hold(session: LiveSession): void;
  /**
   * Closes the session's connection, if any (4000), and drops the memory copy (stale or
   * expired) unless `keepHeld`.
   */
  release(session: LiveSession, options?: { keepHeld?: boolean }): void;
  announce(note: ClaimNote): Promise<void>;
}

/** Who connects, from where, and what they resume. */
export interface AttachRequest {
  principal: Principal;
  token: string | undefined;
  lastOffset: number | undefined;
  address: string | null;
  userAgent: string | null;
}

/** The outcome, before anything is sent: what connection_established reports. */
export interface Attachment {
  session: LiveSession;
  token: string;
  recognized: boolean;
  recovered: Recovered;
  /** Missed messages the store had but replay_limit left out. */
  dropped: number;
  locationChanged: boolean;
  securityPassed: boolean;
  /** Why an earlier session could not be resumed (`session_expired`), if it could not. */
  expired: string | undefined;
  /** Replay everything after this offset. */
  cursor: number;
}

/** Session tokens are bearer secrets: the store keeps only their hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

type Verdict =
  | { kind: 'expired'; reason: string }
  | { kind: 'foreign' }
  | { kind: 'claimed'; row: SessionRow; epoch: number; elapsed: number };

/** Resolves the session for a new connection; see the file comment for the three outcomes. */
export async function attachSession(deps: AttachDeps, request: AttachRequest): Promise<Attachment> {
  if (request.token === undefined) return fresh(deps, request, { expired: undefined });
  const tokenHash = hashToken(request.token);
  const memory = deps.held(tokenHash);
  // A disconnect still being written must land before the store is asked how long ago it was.
  if (memory) await memory.writes;
  const verdict = await judge(deps, request, tokenHash);
  if (verdict.kind === 'foreign') {
    return fresh(deps, request, { expired: undefined, securityPassed: false });
  }
  if (verdict.kind === 'expired') {
    if (memory) deps.release(memory);
    return fresh(deps, request, { expired: verdict.reason });
  }
  const { row, epoch, elapsed } = verdict;
  if (row.connected && row.nodeId !== deps.nodeId) {
    await deps.announce({ k: 'claim', session: row.id, node: deps.nodeId, epoch });
  }
  const base = {
    token: request.token,
    recognized: true,
    locationChanged:
      row.address !== null &&
      (row.address !== request.address || row.userAgent !== request.userAgent),
    securityPassed: true,
    expired: undefined,
  };
  const inMemory =
    memory !== undefined &&
    memory.epoch === epoch - 1 &&
    elapsed <= deps.config.memory_window_seconds * 1000;
  if (memory && inMemory) {
    // Resumed while still connected here (the client saw a drop the server did not): the old
    // connection goes; its close no longer touches the session.
    deps.release(memory, { keepHeld: true });
    memory.epoch = epoch;
    memory.principal = request.principal;
    const cursor = resumeCursor(memory, request.lastOffset);
    if (!memory.outbox.lostAfter(cursor)) {
      return { ...base, session: memory, recovered: 'full', dropped: 0, cursor };
    }
    const dropped = await replayFromStore(deps, memory, cursor);
    return { ...base, session: memory, recovered: 'partial', dropped, cursor };
  }
  if (memory) deps.release(memory);
  const session = await loadSession(deps, row, tokenHash, epoch, request.principal);
  deps.hold(session);
  const cursor = resumeCursor(session, request.lastOffset);
  const dropped = await replayFromStore(deps, session, cursor);
  return { ...base, session, recovered: 'partial', dropped, cursor };
}

/** In one transaction: find the session, check its owner and age, and claim it (or delete it). */
function judge(deps: AttachDeps, request: AttachRequest, tokenHash: string): Promise<Verdict> {
  const now = deps.now();
  return deps.db.transaction(async (tx): Promise<Verdict> => {
    const row = await lockSessionByToken(tx, tokenHash);
    if (!row) return { kind: 'expired', reason: 'unknown session token' };
    // Bound to the principal, not the address: another user's token restores nothing.
    if (row.owner !== ownerKey(request.principal)) return { kind: 'foreign' };
    const elapsed = Math.max(0, now - row.seenAt);
    if (elapsed > deps.config.session_ttl_seconds * 1000) {
      await deleteSession(tx, row.id);
      return { kind: 'expired', reason: `away ${Math.round(elapsed / 1000)} s` };
    }
    const epoch = await claimSession(tx, row.id, {
      nodeId: deps.nodeId,
      address: request.address,
      userAgent: request.userAgent,
      now,
    });
    return { kind: 'claimed', row, epoch, elapsed };
  });
}

/** Replay starts after what the client acknowledged, or the last offset it says it has. */
function resumeCursor(session: LiveSession, lastOffset: number | undefined): number {
  if (lastOffset !== undefined && lastOffset > session.acked) {
    session.acked = lastOffset;
    session.outbox.ack(lastOffset);
  }
  return session.acked;
}

/** A new session, stored before anything is sent (so its token works on every node at once). */
async function fresh(
  deps: AttachDeps,
  request: AttachRequest,
  extra: { expired: string | undefined; securityPassed?: boolean },
): Promise<Attachment> {
  const token = `fls_${randomBytes(32).toString('base64url')}`;
  const session = newSession(deps, randomUUID(), hashToken(token), request.principal);
  session.acked = deps.feed.position();
  await insertSession(
    deps.db,
    {
      id: session.id,
      tokenHash: session.tokenHash,
      owner: session.owner,
      context: JSON.stringify(session.context),
      acked: session.acked,
    },
    {
      nodeId: deps.nodeId,
      address: request.address,
      userAgent: request.userAgent,
      now: deps.now(),
    },
  );
  deps.hold(session);
  return {
    session,
    token,
    recognized: false,
    recovered: 'none',
    dropped: 0,
    locationChanged: false,
    securityPassed: extra.securityPassed ?? true,
    expired: extra.expired,
    cursor: session.acked,
  };
}

function newSession(
  deps: AttachDeps,
  id: string,
  tokenHash: string,
  principal: Principal,
): LiveSession {
  return {
    id,
    tokenHash,
    owner: ownerKey(principal),
    principal,
    epoch: 1,
    subscriptions: new Map(),
    context: emptyContext(),
    history: [],
    historySeq: 0,
    acked: 0,
    outbox: makeOutbox(deps.config.replay_limit),
    link: undefined,
    restoring: false,
    detachedAt: undefined,
    writes: Promise.resolve(),
  };
}

/** Rebuilds a session from its row and history. */
async function loadSession(
  deps: AttachDeps,
  row: SessionRow,
  tokenHash: string,
  epoch: number,
  principal: Principal,
): Promise<LiveSession> {
  const session = newSession(deps, row.id, tokenHash, principal);
  session.epoch = epoch;
  session.subscriptions = parseSubscriptions(row.subscriptions);
  session.context = parseContext(row.context);
  session.history = await readHistory(deps.db, row.id);
  session.historySeq = row.historySeq;
  session.acked = row.acked;
  return session;
}

/**
 * Puts the missed messages the store has into the outbox: the newest replay_limit of those the
 * session's subscriptions cover and its principal may see. Messages the feed delivers meanwhile
 * go to the outbox too (the session is held and `restoring`), so none is missed or doubled.
 * Returns how many were left out.
 */
async function replayFromStore(
  deps: AttachDeps,
  session: LiveSession,
  cursor: number,
): Promise<number> {
  session.restoring = true;
  const upTo = deps.feed.position();
  const topics = [...session.subscriptions.keys()];
  if (topics.length === 0 || upTo <= cursor) return 0;
  const exact = topics.filter((t) => !t.endsWith(':*'));
  const prefixes = topics.filter((t) => t.endsWith(':*')).map((t) => t.slice(0, -1));
  const rows = await readReplayCandidates(deps.db, { after: cursor, upTo }, exact, prefixes);
  const matched = rows.flatMap((row) => {
    const topic = matchTopic(session, row);
    return topic === undefined ? [] : [{ row, topic }];
  });
  const kept = matched.slice(-deps.config.replay_limit);
  for (const { row, topic } of kept) session.outbox.push(row.id, eventFrame(row, topic));
  return matched.length - kept.length;
}
