/**
 * The client helper against a real node: it reconnects with backoff, resumes with its session
 * token and last offset, receives what it missed once, exposes the restored history and context,
 * survives a server restart, and stops on bad credentials. Uses Node's global WebSocket, as a
 * browser would use its own.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { makeObserver, useLiveNode } from '../../test/helpers/live.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import { backoffDelay, makeLiveClient, type LiveEvent } from './index.ts';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 0.999_999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(3, options, () => 0.5)).toBe(400);
    expect(backoffDelay(3, options, () => 0)).toBe(0);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe.each(storeKinds)('live client on %s', (kind) => {
  const live = useLiveNode(kind, {
    env: async () => ({ FERRY_HTTP_PORT: String(await freePort()) }),
  });

  it('reconnects, resumes with its token and last offset, and exposes the restored state', async () => {
    let gate = Promise.resolve();
    const client = makeLiveClient({
      url: `${live.node.base}/api/v1/live`,
      // Asked before every connect: the test holds reconnects here while it publishes.
      token: async () => {
        await gate;
        return live.adminKey;
      },
      topics: ['system'],
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
      ackDelayMs: 5,
    });
    const events: LiveEvent[] = [];
    client.on('event', (e) => events.push(e));
    const first = await client.next('restored');
    expect(first.established).toMatchObject({ recovered: 'none', session_recognized: false });
    await client.setContext({ variables: { mood: 'calm' }, workflow_state: { current_step: 1 } });
    live.node.ferry.bus.emit('system:notice', { level: 'info', message: 'one' });
    const e1 = (await client.next('event')).offset;

    let release: () => void = () => undefined;
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const closed = client.next('close');
    // The client's connection is the only one: drop it as a network failure would.
    for (const socket of live.node.app.websocketServer.clients) socket.terminate();
    expect((await closed).reconnectInMs).toBeGreaterThanOrEqual(0);
    const observer = await makeObserver(live.node, live.adminKey);
    const e2 = await observer.notice('two');
    const e3 = await observer.notice('three');
    const restored = client.next('restored');
    release();

    const again = await restored;
    expect(again.established).toMatchObject({
      session_recognized: true,
      recovered: 'full',
      missed_count: 2,
      last_offset: e1,
    });
    expect(again.context?.variables).toEqual({ mood: 'calm' });
    expect(again.context?.subscriptions).toEqual(['system']);
    expect(again.history.entries.map((h) => h.role)).toEqual([
      'client',
      'server',
      'client',
      'server',
    ]);
    await client.request('ping');
    expect(events.map((e) => e.offset)).toEqual([e1, e2, e3]);
    expect(client.state).toMatchObject({ status: 'open', lastOffset: e3, attempts: 0 });
    await observer.close();
    client.close();
    await client.next('close');
  });

  it('survives a server restart: retries with backoff, then resumes from the store', async () => {
    const client = makeLiveClient({
      url: live.node.base,
      token: live.adminKey,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    await client.next('restored');
    await client.setContext({ user_preferences: { units: 'metric' } });
    const closes: { code: number; reconnectInMs: number | undefined }[] = [];
    client.on('close', (c) => closes.push(c));
    // Listening before the restart: the client may be back before restart() returns.
    const restoredAgain = client.next('restored', () => true, 60_000);
    await live.restart();
    const restored = await restoredAgain;
    expect(restored.established).toMatchObject({ session_recognized: true, recovered: 'partial' });
    expect(restored.context?.user_preferences).toEqual({ units: 'metric' });
    expect(closes[0]?.code).toBe(1001);
    expect(closes.every((c) => c.reconnectInMs !== undefined)).toBe(true);
    client.close();
    await client.next('close');
  });

  it('stops for good on bad credentials (4001)', async () => {
    const client = makeLiveClient({ url: live.node.base, token: 'fry_wrong' });
    const closed = await client.next('close');
    expect(closed).toMatchObject({ code: 4001, reconnectInMs: undefined });
    expect(client.state.status).toBe('closed');
  });
});
