/**
 * Two Ferry processes on one PostgreSQL: a client connected to one receives the events produced
 * on the other (fan-out through LISTEN/NOTIFY and the topic log), resumes its session on the
 * other with history and context intact, and a resume on one node closes the session's old
 * connection on the other.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openLive, type TestSocket } from '../../test/helpers/live.ts';
import { runNode, type Child } from '../../test/helpers/process.ts';
import { freshDatabase, storeKinds, tempDir } from '../../test/helpers/stores.ts';

const children: Child[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGTERM');
    await child.exited;
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts `ferry start` on the database; resolves with its base URL. */
async function startNode(databaseUrl: string): Promise<string> {
  const data = tempDir();
  cleanups.push(data.remove);
  const child = runNode('src/cli/main.ts', ['start'], {
    FERRY_DATA_DIR: data.dir,
    FERRY_HTTP_PORT: '0',
    FERRY_DATABASE_URL: databaseUrl,
  });
  children.push(child);
  const [, url] = await child.waitFor(/listening on (http:\/\/\S+)/, 60_000);
  if (!url) throw new Error('no url');
  return url;
}

async function post(url: string, body: object, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function accessToken(base: string, email: string): Promise<string> {
  const password = 'cluster-pass-1';
  expect((await post(`${base}/api/auth/register`, { email, password })).status).toBe(201);
  const login = await post(`${base}/api/auth/login`, { email, password });
  return ((await login.json()) as { access_token: string }).access_token;
}

/** Submits an event on `base`; resolves with its id. */
async function submit(base: string, token: string, name: string): Promise<number> {
  const res = await post(`${base}/api/v1/events`, { event_name: name, event_type: 'test' }, token);
  expect(res.status).toBe(202);
  return ((await res.json()) as { event_id: number }).event_id;
}

/** The next `event:accepted` message for event `id`. */
function accepted(socket: TestSocket, id: number) {
  return socket.next(
    'event',
    (m) =>
      m.payload.event === 'event:accepted' &&
      (m.payload.data as { ids: number[] }).ids.includes(id),
    30_000,
  );
}

describe.runIf(storeKinds.includes('postgres'))('live channel across two processes', () => {
  it('delivers events produced on the other node and resumes the session there', async () => {
    const database = await freshDatabase();
    cleanups.push(database.drop);
    const a = await startNode(database.url);
    const b = await startNode(database.url);
    const token = await accessToken(a, 'cluster@example.com');

    const onA = openLive(a, { token });
    const established = (await onA.established()).payload;
    await onA.request('subscribe', { topics: ['events'] });
    await onA.request('set_context', { variables: { node: 'a' }, operation: 'start on a' });
    const history = await onA.request('get_conversation_history');

    // Produced on B (its HTTP handler emits event:accepted there), received on A.
    const first = await submit(b, token, 'made-on-b');
    const got = await accepted(onA, first);
    onA.send({ type: 'ack', payload: { offset: got.offset } });
    await onA.request('ping');
    await onA.close();

    // Missed while away; a watcher on B shows B has it before the session resumes there.
    const watcher = openLive(b, { token });
    await watcher.established();
    await watcher.request('subscribe', { topics: ['events'] });
    const second = await submit(b, token, 'missed');
    await accepted(watcher, second);

    const onB = openLive(b, { token, sessionToken: established.session_token as string });
    const resumed = (await onB.established()).payload;
    expect(resumed).toMatchObject({
      session_id: established.session_id,
      session_recognized: true,
      context_available: true,
      recovered: 'partial',
      security_checks_passed: true,
      subscriptions: ['events'],
    });
    const replayed = await accepted(onB, second);
    expect(replayed.offset).toBeGreaterThan(got.offset ?? 0);
    const restored = await onB.request('get_conversation_history');
    const before = history.payload.entries as unknown[];
    expect((restored.payload.entries as unknown[]).slice(0, before.length)).toEqual(before);
    const context = await onB.request('get_session_context');
    expect(context.payload.variables).toEqual({ node: 'a' });
    // Exactly once: the first event was acknowledged on A and is not replayed on B.
    expect(
      onB.messages.filter(
        (m) => m.type === 'event' && (m.payload.data as { ids?: number[] }).ids?.includes(first),
      ),
    ).toEqual([]);

    // And back: an event produced on A reaches the session now on B.
    const third = await submit(a, token, 'made-on-a');
    await accepted(onB, third);
    await Promise.all([onB.close(), watcher.close()]);
  }, 180_000);

  it('closes the old connection on one node when the session resumes on the other', async () => {
    const database = await freshDatabase();
    cleanups.push(database.drop);
    const a = await startNode(database.url);
    const b = await startNode(database.url);
    const token = await accessToken(a, 'takeover@example.com');

    const onA = openLive(a, { token });
    const sessionToken = (await onA.established()).payload.session_token as string;
    const onB = openLive(b, { token, sessionToken });
    expect((await onB.established()).payload).toMatchObject({ session_recognized: true });
    const closed = await onA.closed;
    expect(closed.code).toBe(4000);
    expect(closed.reason).toMatch(/^FERRY_ERR_LIVE_REPLACED/);
    expect((await onB.request('ping')).type).toBe('pong');
    await onB.close();
  }, 180_000);
});
