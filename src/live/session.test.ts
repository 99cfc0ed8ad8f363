/**
 * Sessions across reconnects: history, context and subscriptions come back identical; a new
 * address or user agent is accepted and flagged; ten reconnect cycles leave nothing behind but
 * the session's own state; another principal's token restores nothing.
 */
import { describe, expect, it } from 'vitest';
import {
  disconnect,
  openLive,
  signUp,
  useLiveNode,
  type LiveNode,
  type OpenOptions,
} from '../../test/helpers/live.ts';
import { storeKinds } from '../../test/helpers/stores.ts';

describe.each(storeKinds)('live sessions on %s', (kind) => {
  const live = useLiveNode(kind, {
    // Loopback is a trusted proxy here, so a test can present another client address.
    env: { FERRY_HTTP_TRUSTED_PROXIES: '127.0.0.1' },
    observer: true,
  });
  const { clock, timers } = live;

  async function connect(options: OpenOptions) {
    const socket = openLive(live.node.base, options);
    const established = await socket.established();
    const payload = established.payload as {
      session_token: string;
      session_id: string;
      [key: string]: unknown;
    };
    return { socket, payload };
  }

  it('starts a session on first connect', async () => {
    const { token } = await signUp(live.node.app, 'first@example.com');
    const { socket, payload } = await connect({ token });
    expect(payload).toMatchObject({
      session_token: expect.stringMatching(/^fls_/),
      session_recognized: false,
      context_available: false,
      recovered: 'none',
      missed_count: 0,
      security_checks_passed: true,
      subscriptions: [],
    });
    await socket.close();
  });

  it.each([
    ['within the memory window', 5_000, 'full'],
    ['after the memory window (from the store)', 90_000, 'partial'],
  ])('restores history and context identically %s', async (_, gap, recovered) => {
    const { token } = await signUp(live.node.app, `restore-${gap}@example.com`);
    const { socket, payload } = await connect({ token });
    await socket.request('subscribe', { topics: ['events', 'system'] });
    await socket.request('set_context', {
      variables: { project: 'apollo', count: 3 },
      user_preferences: { theme: 'dark', language: 'de' },
      workflow_state: { current_step: 2, total_steps: 5, pending_steps: ['verify', 'archive'] },
      operation: 'plan',
    });
    await socket.request('set_context', { variables: { count: 4 } });
    await socket.request('ping', { timestamp: 1 });
    const history = await socket.request('get_conversation_history');
    const context = await socket.request('get_session_context');
    await disconnect(live.node, socket, payload.session_id);
    clock.advance(gap);
    // The sweep drops the memory copy after the window (the restore below does not need it to).
    await live.observer.touch();
    timers.fire();

    const again = await connect({ token, sessionToken: payload.session_token });
    expect(again.payload).toMatchObject({
      session_token: payload.session_token,
      session_id: payload.session_id,
      session_recognized: true,
      context_available: true,
      recovered,
      security_checks_passed: true,
      subscriptions: ['events', 'system'],
    });
    // Available at once: the first command after the reconnect answers with all of it.
    const restored = await again.socket.request('get_conversation_history');
    const entries = (restored.payload.entries as { id: number; role: string }[]).slice(0, -2);
    const before = history.payload.entries as object[];
    // What was there before, then the two reads made before the disconnect, in order.
    expect(entries.slice(0, before.length)).toEqual(before);
    expect(entries.map((e) => e.id)).toEqual(entries.map((_e, i) => i + 1));
    expect(entries.map((e) => e.role)).toEqual(
      entries.map((_e, i) => (i % 2 ? 'server' : 'client')),
    );
    expect(entries).toHaveLength(before.length + 2);
    expect(before).toHaveLength(6); // subscribe, two set_context; ping is not recorded
    expect((before[0] as { content: unknown }).content).toEqual({
      type: 'subscribe',
      payload: { topics: ['events', 'system'] },
      id: expect.any(String),
    });
    const contextAfter = await again.socket.request('get_session_context');
    expect(contextAfter.payload).toEqual(context.payload);
    expect(contextAfter.payload).toMatchObject({
      variables: { project: 'apollo', count: 4 },
      user_preferences: { theme: 'dark', language: 'de' },
      workflow_state: { current_step: 2, total_steps: 5, pending_steps: ['verify', 'archive'] },
      operation_history: [
        { operation: 'subscribe', timestamp: expect.any(String) },
        { operation: 'plan', timestamp: expect.any(String) },
        { operation: 'set_context', timestamp: expect.any(String) },
      ],
    });
    await again.socket.close();
  });

  it('accepts a reconnect from another address or user agent and flags it', async () => {
    const { token } = await signUp(live.node.app, 'traveller@example.com');
    const home = { 'user-agent': 'laptop/1', 'x-forwarded-for': '198.51.100.7' };
    const first = await connect({ token, headers: home });
    const sessionToken = first.payload.session_token;
    const id = first.payload.session_id;
    await first.socket.request('set_context', { variables: { where: 'home' } });
    await disconnect(live.node, first.socket, id);

    const same = await connect({ token, sessionToken, headers: home });
    expect(same.payload).toMatchObject({ recovered: 'full', location_change_detected: false });
    await disconnect(live.node, same.socket, id);

    const phone = await connect({
      token,
      sessionToken,
      headers: { 'user-agent': 'phone/2', 'x-forwarded-for': '198.51.100.7' },
    });
    expect(phone.payload).toMatchObject({
      session_recognized: true,
      location_change_detected: true,
      security_checks_passed: true,
    });
    await disconnect(live.node, phone.socket, id);

    const elsewhere = await connect({
      token,
      sessionToken,
      headers: { 'user-agent': 'phone/2', 'x-forwarded-for': '203.0.113.50' },
    });
    expect(elsewhere.payload).toMatchObject({
      session_recognized: true,
      location_change_detected: true,
    });
    const context = await elsewhere.socket.request('get_session_context');
    expect(context.payload.variables).toEqual({ where: 'home' });
    await elsewhere.socket.close();
  });

  it('keeps state consistent over 10 reconnect cycles with nothing left behind', async () => {
    const { token, userId } = await signUp(live.node.app, 'cycles@example.com');
    const first = await connect({ token });
    const sessionToken = first.payload.session_token;
    const id = first.payload.session_id;
    await first.socket.request('subscribe', { topics: ['events'] });
    await disconnect(live.node, first.socket, id);
    let baseline: ReturnType<LiveNode['stats']> | undefined;
    for (let cycle = 1; cycle <= 10; cycle++) {
      const missed = await live.observer.userEvent(userId, 10_000 + cycle);
      const { socket, payload } = await connect({ token, sessionToken });
      expect(payload).toMatchObject({ recovered: 'full', missed_count: 1, session_id: id });
      const replayed = await socket.next('event');
      expect(replayed.offset).toBe(missed);
      socket.send({ type: 'ack', payload: { offset: missed } });
      const context = await socket.request('get_session_context');
      expect(context.payload.variables).toEqual(cycle === 1 ? {} : { cycle: cycle - 1 });
      await socket.request('set_context', { variables: { cycle } });
      const history = await socket.request('get_conversation_history');
      // subscribe + (read, set, read) per earlier cycle, + this cycle's read and set: 2 entries each.
      expect(history.payload.total).toBe(2 + 6 * (cycle - 1) + 4);
      await disconnect(live.node, socket, id);
      const stats = live.node.stats();
      baseline ??= stats;
      // Only the session's own history grows; sessions, connections and buffers stay the same.
      expect({ ...stats, historyEntries: 0 }).toEqual({ ...baseline, historyEntries: 0 });
      expect(stats.historyEntries - baseline.historyEntries).toBe(6 * (cycle - 1));
    }
    const rows = await live.node.ferry.store.db.query<{ sessions: number; entries: number }>(
      `SELECT (SELECT count(*)::int FROM ferry.live_sessions WHERE owner = $1) AS sessions,
              (SELECT count(*)::int FROM ferry.live_history WHERE session_id = $2) AS entries`,
      [`user:${userId}`, id],
    );
    expect(rows.rows[0]).toEqual({ sessions: 1, entries: 2 + 6 * 10 });
  });

  it('hands a session still connected here to the newer connection (4000 for the old)', async () => {
    const { token } = await signUp(live.node.app, 'twice@example.com');
    const first = await connect({ token });
    await first.socket.request('set_context', { variables: { kept: true } });
    const second = await connect({ token, sessionToken: first.payload.session_token });
    expect(second.payload).toMatchObject({ session_recognized: true, recovered: 'full' });
    const closed = await first.socket.closed;
    expect(closed.code).toBe(4000);
    expect(closed.reason).toMatch(/^FERRY_ERR_LIVE_REPLACED/);
    expect((await second.socket.request('get_session_context')).payload.variables).toEqual({
      kept: true,
    });
    // The old connection's close did not detach the session from the new one.
    const id = first.payload.session_id;
    const { rows } = await live.node.ferry.store.db.query<{ connected: boolean }>(
      'SELECT connected FROM ferry.live_sessions WHERE id = $1',
      [id],
    );
    expect(rows).toEqual([{ connected: true }]);
    await disconnect(live.node, second.socket, id);
  });

  it('restores nothing from a token bound to another principal', async () => {
    const owner = await signUp(live.node.app, 'owner@example.com');
    const thief = await signUp(live.node.app, 'thief@example.com');
    const first = await connect({ token: owner.token });
    await first.socket.request('set_context', { variables: { secret: 'plans' } });
    await disconnect(live.node, first.socket, first.payload.session_id);

    const stolen = await connect({ token: thief.token, sessionToken: first.payload.session_token });
    expect(stolen.payload).toMatchObject({
      session_recognized: false,
      recovered: 'none',
      security_checks_passed: false,
    });
    expect(stolen.payload.session_token).not.toBe(first.payload.session_token);
    const warning = await stolen.socket.next('warning');
    expect(warning.payload.code).toBe('FERRY_ERR_LIVE_SESSION_FOREIGN');
    expect((await stolen.socket.request('get_session_context')).payload.variables).toEqual({});
    await stolen.socket.close();

    const back = await connect({ token: owner.token, sessionToken: first.payload.session_token });
    expect(back.payload).toMatchObject({ session_recognized: true });
    expect((await back.socket.request('get_session_context')).payload.variables).toEqual({
      secret: 'plans',
    });
    await back.socket.close();
  });
});
