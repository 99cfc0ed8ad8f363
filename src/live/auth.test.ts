/**
 * Who may connect and what they may see: credentials by header, subprotocol or query (both
 * paths); a bad, missing or expired credential closes with 4001 and a reason; topics are
 * authorized per topic — users see their own objects, admins everything, `pipeline:*` and
 * `jobs:*` are for admins.
 */
import { describe, expect, it } from 'vitest';
import {
  openLive,
  signUp,
  useLiveNode,
  type Msg,
  type TestSocket,
} from '../../test/helpers/live.ts';
import { storeKinds } from '../../test/helpers/stores.ts';

describe.each(storeKinds)('live channel authentication and topics on %s', (kind) => {
  const live = useLiveNode(kind);
  const { clock } = live;

  it.each([
    ['an Authorization header', 'header', '/api/v1/live'],
    ['a bearer subprotocol', 'protocol', '/api/v1/live'],
    ['the token query parameter', 'query', '/ws'],
  ] as const)('accepts credentials in %s (%s, %s)', async (_, via, path) => {
    const socket = openLive(live.node.base, { token: live.adminKey, via }, path);
    const { payload } = await socket.established();
    expect(payload.session_token).toMatch(/^fls_/);
    if (via === 'protocol') expect(socket.ws.protocol).toBe('ferry.v1');
    await socket.close();
  });

  it.each([
    ['an unknown API key', 'fry_not-a-real-key', /unknown, expired or revoked/],
    ['a malformed token', 'not.a.jwt', /unknown, expired or revoked/],
    ['no credentials', undefined, /no credentials were sent/],
  ])('closes with 4001 for %s', async (_, token, reason) => {
    const socket = openLive(live.node.base, token === undefined ? {} : { token });
    const closed = await socket.closed;
    expect(closed.code).toBe(4001);
    expect(closed.reason).toMatch(/^FERRY_ERR_UNAUTHENTICATED: /);
    expect(closed.reason).toMatch(reason);
    expect(socket.messages).toEqual([]);
  });

  it('closes with 4001 for an expired access token', async () => {
    const { token } = await signUp(live.node.app, 'late@example.com');
    const fresh = openLive(live.node.base, { token });
    await fresh.established();
    await fresh.close();
    clock.advance((live.env.config.auth.access_token_ttl_seconds + 1) * 1000);
    const late = openLive(live.node.base, { token, via: 'query' });
    const closed = await late.closed;
    expect(closed).toEqual({
      code: 4001,
      reason: expect.stringMatching(/unknown, expired or revoked/),
    });
  });

  /** Emits a marker and waits for it: every message emitted before it has been delivered. */
  async function settle(sockets: TestSocket[], marker: string): Promise<void> {
    live.node.ferry.bus.emit('system:notice', { level: 'info', message: marker });
    for (const socket of sockets) {
      await socket.next(
        'event',
        (m) => (m.payload.data as { message?: string }).message === marker,
      );
    }
  }

  const dataOf = (socket: TestSocket) =>
    socket.messages
      .filter((m: Msg) => m.type === 'event' && m.payload.event !== 'system:notice')
      .map((m) => ({ topic: m.payload.topic, data: m.payload.data }));

  it('authorizes topics: users see their own objects, admins all; pipeline and jobs are admin-only', async () => {
    const ada = await signUp(live.node.app, 'ada@example.com');
    const bob = await signUp(live.node.app, 'bob@example.com');
    const user = openLive(live.node.base, { token: ada.token });
    const admin = openLive(live.node.base, { token: live.adminKey });
    await Promise.all([user.established(), admin.established()]);

    const subscribed = await user.request('subscribe', {
      topics: [
        'transfer:*',
        'transfer:900',
        'events',
        'system',
        'pipeline:nightly',
        'queue:j1',
        'bogus',
        'watch:',
      ],
    });
    expect(subscribed.payload.topics).toEqual(['transfer:*', 'transfer:900', 'events', 'system']);
    expect(subscribed.payload.refused).toEqual([
      {
        topic: 'pipeline:nightly',
        code: 'FERRY_ERR_LIVE_TOPIC_FORBIDDEN',
        detail: expect.stringMatching(/admins only/),
      },
      {
        topic: 'queue:j1',
        code: 'FERRY_ERR_LIVE_TOPIC_FORBIDDEN',
        detail: expect.stringMatching(/admins only/),
      },
      { topic: 'bogus', code: 'FERRY_ERR_LIVE_TOPIC_UNKNOWN', detail: 'Unknown topic bogus' },
      { topic: 'watch:', code: 'FERRY_ERR_LIVE_TOPIC_UNKNOWN', detail: 'Unknown topic watch:' },
    ]);
    const adminSubscribed = await admin.request('subscribe', {
      topics: ['transfer:*', 'events', 'system', 'pipeline:nightly', 'queue:*'],
    });
    expect(adminSubscribed.payload.refused).toEqual([]);

    const progress = (transferId: number, ownerId: number | null) => ({
      transferId,
      ownerId,
      file: 'a.mov',
      bytes: 1,
      totalBytes: 2,
      percent: 50,
      bytesPerSecond: 1,
      etaSeconds: 1,
    });
    live.node.ferry.bus.emit('transfer:progress', progress(800, ada.userId));
    live.node.ferry.bus.emit('transfer:progress', progress(900, bob.userId)); // Bob's, named by Ada
    live.node.ferry.bus.emit('transfer:progress', progress(901, null)); // nobody's: admins only
    live.node.ferry.bus.emit('event:processed', {
      id: 1,
      userId: ada.userId,
      ok: true,
      error: null,
    });
    live.node.ferry.bus.emit('event:processed', {
      id: 2,
      userId: bob.userId,
      ok: true,
      error: null,
    });
    live.node.ferry.bus.emit('run:started', { pipeline: 'nightly', runId: 'r1' });
    live.node.ferry.bus.emit('job:failed', { name: 'x', id: 'j1', error: 'boom', retryCount: 0 });
    await settle([user, admin], 'marker-1');

    expect(dataOf(user)).toEqual([
      { topic: 'transfer:800', data: progress(800, ada.userId) },
      { topic: 'events', data: { id: 1, userId: ada.userId, ok: true, error: null } },
    ]);
    // Only this test's jobs: the node's own jobs may complete meanwhile.
    const topics = dataOf(admin).map((d) => d.topic as string);
    expect(topics.filter((t) => !t.startsWith('queue:') || t === 'queue:j1')).toEqual([
      'transfer:800',
      'transfer:900',
      'transfer:901',
      'events',
      'events',
      'pipeline:nightly',
      'queue:j1',
    ]);
    await Promise.all([user.close(), admin.close()]);
  });

  it('delivers a message on two subscribed topics once', async () => {
    const admin = openLive(live.node.base, { token: live.adminKey });
    await admin.established();
    await admin.request('subscribe', { topics: ['transfer:7', 'watch:7', 'system'] });
    live.node.ferry.bus.emit('transfer:status', {
      transferId: 7,
      ownerId: null,
      status: 'paused',
      error: null,
    });
    await settle([admin], 'marker-2');
    const events = admin.messages.filter((m) => m.payload.event === 'transfer:status');
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toMatchObject({
      topic: 'transfer:7',
      topics: ['transfer:7', 'watch:7'],
    });
    await admin.close();
  });
});
