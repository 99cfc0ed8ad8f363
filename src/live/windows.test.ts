/**
 * The disconnection windows, on a fake clock: back within the memory window → everything from
 * memory (`full`); later → from the store (`partial`, with a warning when replay_limit dropped
 * messages); after session_ttl → `session_expired` and a clean session. Missed messages are
 * replayed once, in order, after the last acknowledged offset; a restarted node restores
 * sessions from the store.
 */
import { describe, expect, it } from 'vitest';
import {
  disconnect,
  openLive,
  signUp,
  useLiveNode,
  type Msg,
  type TestSocket,
} from '../../test/helpers/live.ts';
import { storeKinds } from '../../test/helpers/stores.ts';

const replayLimit = 5;

describe.each(storeKinds)('live disconnection windows on %s', (kind) => {
  const live = useLiveNode(kind, {
    env: { FERRY_LIVE_REPLAY_LIMIT: String(replayLimit) },
    observer: true,
  });
  const { clock, timers } = live;

  /** A user's session subscribed to `events`, with some context; returns how to resume it. */
  async function session(email: string) {
    const user = await signUp(live.node.app, email);
    const socket = openLive(live.node.base, { token: user.token });
    const established = (await socket.established()).payload;
    await socket.request('subscribe', { topics: ['events'] });
    await socket.request('set_context', {
      variables: { step: 'import' },
      workflow_state: { current_step: 1, total_steps: 3, pending_steps: ['b', 'c'] },
    });
    return {
      user,
      socket,
      id: established.session_id as string,
      sessionToken: established.session_token as string,
    };
  }

  /** Publishes `count` events for the user while nobody is connected; returns their offsets. */
  async function missWhileAway(userId: number, count: number, from: number): Promise<number[]> {
    const offsets: number[] = [];
    for (let i = 0; i < count; i++) offsets.push(await live.observer.userEvent(userId, from + i));
    return offsets;
  }

  /** Moves the clock; the sweep runs (the live.observer pings first so it is not the idle one). */
  async function waitFor(ms: number) {
    clock.advance(ms);
    await live.observer.touch();
    timers.fire();
  }

  function offsetsOf(messages: readonly Msg[]): number[] {
    return messages.filter((m) => m.type === 'event').map((m) => m.offset ?? -1);
  }

  /** Connects with the token and waits for the established message and `replayed` events. */
  async function resume(
    token: string,
    sessionToken: string,
    replayed: number,
  ): Promise<{ socket: TestSocket; payload: Record<string, unknown> }> {
    const socket = openLive(live.node.base, { token, sessionToken });
    const { payload } = await socket.established();
    for (let i = 0; i < replayed; i++) await socket.next('event');
    // The greeting and replay go out before any reply: after this, nothing more is coming.
    await socket.request('ping');
    return { socket, payload };
  }

  it('restores everything from memory within the memory window (full)', async () => {
    const s = await session('full@example.com');
    await disconnect(live.node, s.socket, s.id);
    const missed = await missWhileAway(s.user.userId, 3, 100);
    await waitFor(20_000);
    const { socket, payload } = await resume(s.user.token, s.sessionToken, 3);
    expect(payload).toMatchObject({
      recovered: 'full',
      missed_count: 3,
      replayed_count: 3,
      dropped_count: 0,
    });
    expect(offsetsOf(socket.messages)).toEqual(missed);
    expect(socket.messages.some((m) => m.type === 'warning')).toBe(false);
    await socket.close();
  });

  it('restores from the store after the memory window (partial), all context kept', async () => {
    const s = await session('partial@example.com');
    await disconnect(live.node, s.socket, s.id);
    const missed = await missWhileAway(s.user.userId, 2, 200);
    await waitFor(45_000);
    const { socket, payload } = await resume(s.user.token, s.sessionToken, 2);
    expect(payload).toMatchObject({ recovered: 'partial', missed_count: 2, dropped_count: 0 });
    expect(offsetsOf(socket.messages)).toEqual(missed);
    expect(socket.messages.some((m) => m.type === 'warning')).toBe(false);
    const context = await socket.request('get_session_context');
    expect(context.payload).toMatchObject({
      variables: { step: 'import' },
      workflow_state: { current_step: 1, total_steps: 3, pending_steps: ['b', 'c'] },
      subscriptions: ['events'],
    });
    await socket.close();
  });

  it('warns when the bounded replay dropped messages (partial with warning)', async () => {
    const s = await session('dropped@example.com');
    await disconnect(live.node, s.socket, s.id);
    const missed = await missWhileAway(s.user.userId, replayLimit + 3, 300);
    await waitFor(120_000);
    const { socket, payload } = await resume(s.user.token, s.sessionToken, replayLimit);
    expect(payload).toMatchObject({
      recovered: 'partial',
      missed_count: replayLimit + 3,
      replayed_count: replayLimit,
      dropped_count: 3,
    });
    const warning = socket.messages.find((m) => m.type === 'warning');
    expect(warning?.payload).toMatchObject({
      code: 'FERRY_ERR_LIVE_REPLAY_TRUNCATED',
      dropped: 3,
      replayed: replayLimit,
    });
    // The newest ones, in order; the warning comes before them.
    expect(offsetsOf(socket.messages)).toEqual(missed.slice(3));
    const types = socket.messages.map((m) => m.type);
    expect(types.indexOf('warning')).toBeLessThan(types.indexOf('event'));
    await socket.close();
  });

  it('expires a session after session_ttl: session_expired, then a clean session', async () => {
    const s = await session('expired@example.com');
    await disconnect(live.node, s.socket, s.id);
    await missWhileAway(s.user.userId, 1, 400);
    await waitFor(301_000);
    const socket = openLive(live.node.base, { token: s.user.token, sessionToken: s.sessionToken });
    const expired = await socket.next('session_expired');
    expect(expired.payload).toMatchObject({ code: 'FERRY_ERR_LIVE_SESSION_EXPIRED' });
    expect(expired.payload.resync).toMatch(/REST/);
    const { payload } = await socket.established();
    expect(payload).toMatchObject({
      session_recognized: false,
      context_available: false,
      recovered: 'none',
      missed_count: 0,
      subscriptions: [],
    });
    expect(payload.session_token).not.toBe(s.sessionToken);
    // Order: the expiry notice first, then the new session; nothing from the old one.
    expect(socket.messages.map((m) => m.type)).toEqual([
      'session_expired',
      'connection_established',
    ]);
    const context = await socket.request('get_session_context');
    expect(context.payload.variables).toEqual({});
    await socket.close();
  });

  it('replays missed messages exactly once and in order after the last ack', async () => {
    const s = await session('ack@example.com');
    const seen = await missWhileAway(s.user.userId, 4, 500);
    for (let i = 0; i < 4; i++) await s.socket.next('event');
    expect(offsetsOf(s.socket.messages)).toEqual(seen);
    s.socket.send({ type: 'ack', payload: { offset: seen[1] } });
    await s.socket.request('ping');
    await disconnect(live.node, s.socket, s.id);
    const away = await missWhileAway(s.user.userId, 3, 600);

    // Unacknowledged (3rd, 4th) and missed (3): five, once each, in order.
    const first = await resume(s.user.token, s.sessionToken, 5);
    const expected = [...seen.slice(2), ...away];
    expect(offsetsOf(first.socket.messages)).toEqual(expected);
    first.socket.send({ type: 'ack', payload: { offset: away.at(-1) } });
    await first.socket.request('ping');
    await disconnect(live.node, first.socket, s.id);

    const second = await resume(s.user.token, s.sessionToken, 0);
    expect(second.payload).toMatchObject({ missed_count: 0, replayed_count: 0 });
    const later = await missWhileAway(s.user.userId, 1, 700);
    await second.socket.next('event');
    expect(offsetsOf(second.socket.messages)).toEqual(later);
    await second.socket.close();
  });

  it('recovers a session from the store after a server restart', async () => {
    const s = await session('restart@example.com');
    await s.socket.request('set_context', { user_preferences: { units: 'metric' } });
    const history = await s.socket.request('get_conversation_history');
    await disconnect(live.node, s.socket, s.id);
    const missed = await missWhileAway(s.user.userId, 2, 800);
    await live.restart();
    await waitFor(10_000);
    const { socket, payload } = await resume(s.user.token, s.sessionToken, 2);
    expect(payload).toMatchObject({
      session_recognized: true,
      context_available: true,
      recovered: 'partial',
      missed_count: 2,
      dropped_count: 0,
    });
    expect(offsetsOf(socket.messages)).toEqual(missed);
    const after = await socket.request('get_conversation_history');
    const before = history.payload.entries as unknown[];
    expect((after.payload.entries as unknown[]).slice(0, before.length)).toEqual(before);
    const context = await socket.request('get_session_context');
    expect(context.payload).toMatchObject({
      variables: { step: 'import' },
      user_preferences: { units: 'metric' },
      subscriptions: ['events'],
    });
    await socket.close();
  });
});
