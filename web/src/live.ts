/**
 * The page's one live-channel connection (the SDK's client, shared with Node), and hooks that
 * let pages react to its events, show its status and refetch after every (re)connect, which is
 * how a page catches up with what it missed while the server was away.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { makeLiveClient, type LiveClient, type LiveEvent } from '../../src/client/index.ts';
import { freshToken } from './api.ts';

/** What the status banner shows. */
export type LinkStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

let client: LiveClient | undefined;
let status: LinkStatus = 'closed';
/** Bumped on every successful (re)connect: data hooks refetch when it changes. */
let generation = 0;
const statusListeners = new Set<() => void>();
const eventListeners = new Set<(e: LiveEvent) => void>();

function setStatus(next: LinkStatus): void {
  status = next;
  for (const l of statusListeners) l();
}

/** Opens the connection for the signed-in principal (admins also watch pipelines). */
export function connectLive(admin: boolean): void {
  disconnectLive();
  const topics = ['transfer:*', 'watch:*', 'events', 'system', ...(admin ? ['pipeline:*'] : [])];
  // Retries at most 5 s apart: a page should catch up soon after the server is back.
  const c = makeLiveClient({
    url: location.origin,
    token: freshToken,
    topics,
    restore: false,
    reconnect: { maxDelayMs: 5000 },
  });
  client = c;
  setStatus('connecting');
  c.on('established', () => {
    generation += 1;
    setStatus('open');
  });
  c.on('close', (info) => {
    setStatus(info.reconnectInMs === undefined ? 'closed' : 'reconnecting');
  });
  c.on('event', (e) => {
    for (const l of eventListeners) l(e);
  });
}

/** Closes the connection (on sign-out). */
export function disconnectLive(): void {
  client?.close();
  client = undefined;
  setStatus('closed');
}

/** The connection's status and generation, re-rendering on change. */
export function useLiveStatus(): { status: LinkStatus; generation: number } {
  const [, force] = useState(0);
  const seen = { status, generation };
  useEffect(() => {
    const l = () => {
      force((n) => n + 1);
    };
    statusListeners.add(l);
    // Effects run after paint: a change between this render and now (the link opening, say)
    // reached no listener, so catch up with it here.
    if (status !== seen.status || generation !== seen.generation) l();
    return () => statusListeners.delete(l);
  }, []);
  return seen;
}

/** Calls the latest `handler` for each live event, for as long as the component is mounted. */
export function useLiveEvents(handler: (e: LiveEvent) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const l = (e: LiveEvent) => {
      ref.current(e);
    };
    eventListeners.add(l);
    return () => eventListeners.delete(l);
  }, []);
}

export type { LiveEvent };
