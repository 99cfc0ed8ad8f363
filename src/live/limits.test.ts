/**
 * What the live channel refuses and how: oversize, malformed and excess messages get an `error`
 * and the connection stays; repeated abuse closes it (1008); a slow consumer is dropped (4008)
 * with its session kept; silence closes (4002) after the idle timeout, on a fake clock; a user
 * gets a bounded number of connections (4029).
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openLive, signUp, useLiveNode } from '../../test/helpers/live.ts';
import { storeKinds } from '../../test/helpers/stores.ts';

const limits = {
  FERRY_LIVE_MAX_MESSAGE_BYTES: '1024',
  FERRY_LIVE_MESSAGES_PER_MINUTE: '30',
  FERRY_LIVE_ABUSE_LIMIT: '5',
  FERRY_LIVE_SEND_BUFFER_BYTES: '65536',
  FERRY_LIVE_CONNECTIONS_PER_USER: '3',
  FERRY_LIVE_REPLAY_LIMIT: '20',
};

describe.each(storeKinds)('live channel limits on %s', (kind) => {
  const live = useLiveNode(kind, { env: limits });
  const { clock, timers } = live;

  async function admin() {
    const socket = openLive(live.node.base, { token: live.adminKey });
    await socket.established();
    return socket;
  }

  it('answers an oversize message with an error and keeps the connection', async () => {
    const socket = await admin();
    socket.send({ type: 'set_context', payload: { variables: { blob: 'x'.repeat(2000) } } });
    const error = await socket.next('error');
    expect(error.payload).toMatchObject({ code: 'FERRY_ERR_LIVE_MESSAGE_TOO_LARGE' });
    expect(error.payload.detail).toMatch(/the limit is 1024/);
    expect((await socket.request('ping')).type).toBe('pong');
    await socket.close();
  });

  it('closes with 1009 on a frame far beyond the limit', async () => {
    const socket = await admin();
    socket.send('x'.repeat(70_000));
    expect((await socket.closed).code).toBe(1009);
  });

  it('names the problem of malformed messages and keeps the connection', async () => {
    const socket = await admin();
    const cases: [string, string, RegExp][] = [
      ['{"type": "ping",', 'FERRY_ERR_LIVE_MALFORMED', /not valid JSON/],
      ['[1, 2]', 'FERRY_ERR_LIVE_MALFORMED', /must be a JSON object/],
      ['{"type": "launch", "id": "a"}', 'FERRY_ERR_LIVE_UNKNOWN_TYPE', /launch.*known: ping/],
      [
        '{"type": "subscribe", "payload": {"topics": "events"}, "id": "b"}',
        'FERRY_ERR_LIVE_INVALID_PAYLOAD',
        /payload\.topics/,
      ],
    ];
    for (const [text, code, detail] of cases) {
      socket.send(text);
      const error = await socket.next('error');
      expect(error.payload.code).toBe(code);
      expect(error.payload.detail).toMatch(detail);
    }
    // The id is echoed when it could be read, so a client matches the error to its request.
    expect(socket.messages.filter((m) => m.type === 'error').map((m) => m.id)).toEqual([
      undefined,
      undefined,
      'a',
      'b',
    ]);
    expect((await socket.request('ping')).type).toBe('pong');
    await socket.close();
  });

  it('refuses a flood beyond messages_per_minute, then closes on repeated abuse (1008)', async () => {
    const socket = await admin();
    for (let i = 0; i < 40; i++) socket.send({ type: 'ping', id: i });
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^FERRY_ERR_LIVE_ABUSE: 5 refused messages/);
    const pongs = socket.messages.filter((m) => m.type === 'pong');
    const refused = socket.messages.filter((m) => m.type === 'error');
    expect(pongs).toHaveLength(30);
    expect(refused).toHaveLength(5);
    expect(refused[0]?.payload.code).toBe('FERRY_ERR_LIVE_RATE_LIMITED');
  });

  it('allows messages again in the next minute', async () => {
    const socket = await admin();
    for (let i = 0; i < 30; i++) await socket.request('ping');
    socket.send({ type: 'ping' });
    expect((await socket.next('error')).payload.code).toBe('FERRY_ERR_LIVE_RATE_LIMITED');
    clock.advance(60_000);
    expect((await socket.request('ping')).type).toBe('pong');
    await socket.close();
  });

  it('drops a slow consumer (4008) and keeps its session for recovery', async () => {
    const socket = await admin();
    const established = socket.messages[0]?.payload ?? {};
    await socket.request('subscribe', { topics: ['queue:slow'] });
    // Stop reading: the kernel buffers fill, then the server's send buffer does.
    const raw = (socket.ws as unknown as { _socket: Socket })._socket;
    raw.pause();
    const dropped = live.node.ferry.bus.next(
      'live:disconnected',
      (e) => e.sessionId === established.session_id,
      60_000,
    );
    const state = { gone: false };
    void dropped.then(() => {
      state.gone = true;
    });
    const output = 'y'.repeat(16_000);
    for (let batch = 0; batch < 100 && !state.gone; batch++) {
      for (let i = 0; i < 50; i++) {
        live.node.ferry.bus.emit('job:completed', { name: 'test', id: 'slow', output });
      }
      await live.node.ferry.live.publisher.flushed();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const event = await dropped;
    expect(event.code).toBe(4008);
    expect(event.reason).toMatch(/^FERRY_ERR_LIVE_SLOW_CONSUMER/);
    raw.resume();
    await socket.closed;

    const again = openLive(live.node.base, {
      token: live.adminKey,
      sessionToken: established.session_token as string,
    });
    const resumed = (await again.established()).payload;
    expect(resumed).toMatchObject({ session_recognized: true, subscriptions: ['queue:slow'] });
    expect(resumed.missed_count).toBeGreaterThan(0);
    await again.close();
  });

  it('pings every heartbeat and closes a connection silent for the idle timeout (4002)', async () => {
    const silent = openLive(live.node.base, { token: live.adminKey, ws: { autoPong: false } });
    const lively = openLive(live.node.base, { token: live.adminKey });
    await silent.established();
    await lively.established();
    // Server side: the lively client's automatic pong must arrive before time moves again.
    const serverSockets = [...live.node.app.websocketServer.clients];
    const pongs = Promise.race(
      serverSockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            ws.once('pong', () => {
              resolve();
            });
          }),
      ),
    );
    const pinged = new Promise<void>((resolve) => {
      silent.ws.once('ping', () => {
        resolve();
      });
    });

    clock.advance(25_000);
    timers.fire();
    await Promise.all([pinged, pongs]);

    clock.advance(20_000);
    timers.fire();
    clock.advance(16_000);
    timers.fire();
    const closed = await silent.closed;
    expect(closed.code).toBe(4002);
    expect(closed.reason).toMatch(/^FERRY_ERR_LIVE_IDLE: Nothing received for 60 s/);
    expect((await lively.request('ping')).type).toBe('pong');
    await lively.close();
  });

  it('limits connections per user (4029)', async () => {
    const { token } = await signUp(live.node.app, 'many@example.com');
    const open = [];
    for (let i = 0; i < 3; i++) {
      const socket = openLive(live.node.base, { token });
      await socket.established();
      open.push(socket);
    }
    const extra = openLive(live.node.base, { token });
    const refused = await extra.closed;
    expect(refused.code).toBe(4029);
    expect(refused.reason).toMatch(/^FERRY_ERR_LIVE_CONNECTION_LIMIT/);
    await open[0]?.close();
    const replacement = openLive(live.node.base, { token });
    await replacement.established();
    for (const socket of [...open.slice(1), replacement]) await socket.close();
  });
});

describe.each(storeKinds)('live channel: deep and unstorable commands on %s', (kind) => {
  // Default message size (a 15,000-level array fits in it); a small abuse limit.
  const live = useLiveNode(kind, { env: { FERRY_LIVE_ABUSE_LIMIT: '3' } });

  it('a set_context nested 15,000 levels deep is bad input counted towards abuse, never a retry', async () => {
    const socket = openLive(live.node.base, { token: live.adminKey });
    await socket.established();
    const deep = '['.repeat(15_000) + ']'.repeat(15_000);
    const setContext = (variables: string) =>
      `{"type":"set_context","id":"c","payload":{"variables":{"a":${variables}}}}`;
    socket.send(setContext(deep));
    const first = await socket.next('error');
    expect(first.payload.code).toBe('FERRY_ERR_LIVE_MALFORMED');
    expect(first.payload.detail).toMatch(/nest/);
    socket.send(setContext('"x\\u0000"'));
    expect((await socket.next('error')).payload.code).toBe('FERRY_ERR_LIVE_INVALID_PAYLOAD');
    expect((await socket.request('ping')).type).toBe('pong');
    // The third refused message reaches the abuse limit: the connection closes (1008).
    socket.send(setContext(deep));
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^FERRY_ERR_LIVE_ABUSE: 3 refused messages/);
    const codes = socket.messages.filter((m) => m.type === 'error').map((m) => m.payload.code);
    expect(codes).not.toContain('FERRY_ERR_STORE_UNAVAILABLE');
  });
});
