import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds, testEnv, type TestEnv } from '../../../test/helpers/stores.ts';
import { signedIn } from '../../../test/helpers/principals.ts';
import { makeFerry, type Ferry } from '../../app/index.ts';

interface Accepted {
  event_id: number;
  task_id: string;
  status: string;
}

describe.each(storeKinds)('events API on %s', (kind) => {
  let env: TestEnv;
  let ferry: Ferry;
  let app: FastifyInstance;
  let alice: Record<string, string>;
  let bob: Record<string, string>;

  beforeAll(async () => {
    env = await testEnv(kind);
    ferry = makeFerry(env.config);
    ferry.bus.on('event:processed', (e) => outcomes.set(e.id, e));
    await ferry.start();
    if (!ferry.http) throw new Error('no http');
    app = ferry.http;
    alice = await signedIn(app, 'alice@example.com', 'analytical1');
    bob = await signedIn(app, 'bob@example.com', 'analytical1');
  });
  afterAll(async () => {
    await ferry.stop();
    await env.cleanup();
  });

  const submit = (payload: unknown, headers = alice) =>
    app.inject({ method: 'POST', url: '/api/v1/events', payload: payload as object, headers });
  const read = (id: number, headers = alice) =>
    app.inject({ method: 'GET', url: `/api/v1/events/${id}`, headers });
  const counts = async (headers = alice) =>
    (await app.inject({ method: 'GET', url: '/api/v1/events/status/unprocessed', headers })).json<{
      unprocessed_count: number;
      total_count: number;
    }>();
  const submitBatch = (events: object[], headers = alice) =>
    app.inject({ method: 'POST', url: '/api/v1/events/batch', payload: { events }, headers });
  // Outcomes are collected from the start: processing can finish before a test starts waiting.
  const outcomes = new Map<number, { ok: boolean; error: string | null }>();
  const processed = async (id: number) =>
    outcomes.get(id) ?? (await ferry.bus.next('event:processed', (e) => e.id === id));

  it('accepts an event with 202 at once, then processes and normalizes it', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { ...alice, 'user-agent': 'probe/1.0' },
      payload: {
        event_name: '  page_view ',
        event_type: 'navigation',
        payload: {
          path: ' /home ',
          duration: '12.5',
          scroll_depth: '80',
          nested: { label: ' x ' },
        },
        properties: { campaign: 'spring' },
      },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json<Accepted>();
    expect(body).toEqual({
      event_id: expect.any(Number),
      task_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'enqueued',
      message: expect.any(String),
    });
    const outcome = await processed(body.event_id);
    expect(outcome.ok).toBe(true);
    const event = (await read(body.event_id)).json<Record<string, unknown>>();
    expect(event).toMatchObject({
      id: body.event_id,
      event_type: 'navigation',
      processed: true,
      processing_error: null,
      ip_address: '127.0.0.1',
      user_agent: 'probe/1.0',
      payload: { path: ' /home ', duration: '12.5' },
      properties: {
        original: {
          path: ' /home ',
          duration: '12.5',
          scroll_depth: '80',
          nested: { label: ' x ' },
        },
        path: '/home',
        duration: 12.5,
        scroll_depth: 80,
        nested: { label: 'x' },
        normalized_at: expect.any(String),
        user_properties: { campaign: 'spring' },
      },
    });
    expect(event.properties).not.toHaveProperty('normalized');
    // A client of the compatible service reads the normalized number at the top level.
    const properties = event.properties as { duration: unknown };
    expect(typeof properties.duration).toBe('number');
    expect(event.processed_at).toEqual(expect.any(String));
  });

  it("keeps Ferry's own property keys over payload keys of the same name; the payload's stay under original", async () => {
    const payload = {
      original: ' mine ',
      normalized_at: 'yesterday',
      user_properties: { x: 1 },
      duration: ' 7 ',
    };
    const res = await submit({
      event_name: 'clash',
      event_type: 'test',
      payload,
      properties: { original: 'client' },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json<Accepted>().event_id;
    expect((await processed(id)).ok).toBe(true);
    const { properties } = (await read(id)).json<{ properties: Record<string, unknown> }>();
    expect(properties).toEqual({
      original: payload,
      normalized_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      user_properties: { original: 'client' },
      duration: 7,
    });
  });

  it('answers schema violations with 422 and malformed JSON with 400', async () => {
    const missing = await submit({ event_type: 'x' });
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ errors: [{ field: 'body.event_name' }] });
    const long = await submit({ event_name: 'x'.repeat(256), event_type: 'x' });
    expect(long.statusCode).toBe(422);
    const nul = await submit({
      event_name: 'a',
      event_type: 'b',
      payload: { note: 'bad\u0000byte' },
    });
    expect(nul.statusCode).toBe(422);
    expect(nul.json()).toMatchObject({ errors: [{ field: 'body.payload.note' }] });
    const batchNul = await submitBatch([
      { event_name: 'a', event_type: 'b' },
      { event_name: 'lone\ud800', event_type: 'b' },
    ]);
    expect(batchNul.statusCode).toBe(422);
    expect(batchNul.json()).toMatchObject({ errors: [{ field: 'body.events.1.event_name' }] });
    const notObject = await submit({ event_name: 'a', event_type: 'b', payload: [1, 2] });
    expect(notObject.statusCode).toBe(422);
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { ...alice, 'content-type': 'application/json' },
      payload: '{"event_name": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/v1/events',
          payload: { event_name: 'a', event_type: 'b' },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('returns the original event for a repeated message_id', async () => {
    const first = (
      await submit({ event_name: 'a', event_type: 'b', message_id: 'm-1' })
    ).json<Accepted>();
    const again = await submit({ event_name: 'a', event_type: 'b', message_id: 'm-1' });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ event_id: first.event_id, status: 'duplicate' });
    // Another user's identical message id is theirs alone.
    const other = (
      await submit({ event_name: 'a', event_type: 'b', message_id: 'm-1' }, bob)
    ).json<Accepted>();
    expect(other.event_id).not.toBe(first.event_id);
  });

  it('accepts a batch (202) and processes every event', async () => {
    const events = Array.from({ length: 5 }, (_, i) => ({
      event_name: `e${i}`,
      event_type: 'batch',
    }));
    const res = await submitBatch(events);
    expect(res.statusCode).toBe(202);
    const body = res.json<{
      event_count: number;
      event_ids: number[];
      task_id: string;
      status: string;
    }>();
    expect(body).toMatchObject({ event_count: 5, status: 'enqueued' });
    expect(new Set(body.event_ids).size).toBe(5);
    const last = body.event_ids.at(-1) ?? 0;
    await processed(last);
    const names = await Promise.all(
      body.event_ids.map(async (id) => (await read(id)).json<{ event_name: string }>().event_name),
    );
    expect(names).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it('refuses a whole batch when one item is invalid (422 naming its index), storing nothing', async () => {
    const before = await counts();
    const res = await submitBatch([
      { event_name: 'ok', event_type: 't' },
      { event_name: 'ok', event_type: 't' },
      { event_type: 't' },
    ]);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ errors: [{ field: 'body.events.2.event_name' }] });
    const empty = await submitBatch([]);
    expect(empty.statusCode).toBe(422);
    const after = await counts();
    expect(after.total_count).toBe(before.total_count);
  });

  it('records the 1 MB and nesting-depth rules as processing errors, never retried', async () => {
    const big = (
      await submit({
        event_name: 'big',
        event_type: 't',
        payload: { blob: 'x'.repeat(1024 * 1024) },
      })
    ).json<Accepted>();
    let nested: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 11; i++) nested = { n: nested };
    const deep = (
      await submit({ event_name: 'deep', event_type: 't', payload: nested })
    ).json<Accepted>();
    const [bigOutcome, deepOutcome] = await Promise.all([
      processed(big.event_id),
      processed(deep.event_id),
    ]);
    expect(bigOutcome.error).toBe('Payload exceeds 1MB size limit');
    expect(deepOutcome.error).toBe('Payload exceeds max nesting depth (10)');
    const stored = (await read(deep.event_id)).json();
    expect(stored).toMatchObject({
      processed: false,
      processing_error: 'Payload exceeds max nesting depth (10)',
    });
    const { rows } = await ferry.store.db.query('SELECT status FROM ferry.events WHERE id = $1', [
      deep.event_id,
    ]);
    expect(rows[0]).toEqual({ status: 'failed' });
  });

  it('keeps users apart: 403 for another user’s event, 404 for none, own lists and counts', async () => {
    const mine = (await submit({ event_name: 'private', event_type: 'mine' })).json<Accepted>();
    expect((await read(mine.event_id, bob)).statusCode).toBe(403);
    expect((await read(mine.event_id, bob)).json()).toEqual({
      detail: 'Not authorized to access this event',
      code: 'FERRY_ERR_EVENT_FORBIDDEN',
      retryable: false,
    });
    const missing = await read(99_999_999);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ detail: 'Event not found' });

    const bobs = await app.inject({ method: 'GET', url: '/api/v1/events', headers: bob });
    expect(
      bobs
        .json<{ user_id: number }[]>()
        .every((e) => e.user_id === bobs.json<{ user_id: number }[]>()[0]?.user_id),
    ).toBe(true);
    expect(JSON.stringify(bobs.json())).not.toContain('private');
    const typed = await app.inject({
      method: 'GET',
      url: '/api/v1/events?event_type=mine&limit=1&offset=0',
      headers: alice,
    });
    expect(typed.headers['x-total-count']).toBe('1');
    expect(typed.json<{ id: number }[]>().map((e) => e.id)).toEqual([mine.event_id]);
    const bobCounts = await app.inject({
      method: 'GET',
      url: '/api/v1/events/status/unprocessed',
      headers: bob,
    });
    expect(bobCounts.json()).toEqual({
      unprocessed_count: expect.any(Number),
      total_count: 1,
      user_id: expect.any(Number),
    });
  });

  it('stores 100 concurrent submits exactly once each', async () => {
    const before = (
      await app.inject({ method: 'GET', url: '/api/v1/events?event_type=burst', headers: bob })
    ).headers['x-total-count'];
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        submit(
          { event_name: `burst-${i}`, event_type: 'burst', message_id: `burst-${i % 50}` },
          bob,
        ),
      ),
    );
    expect(results.every((r) => r.statusCode === 202)).toBe(true);
    const after = await app.inject({
      method: 'GET',
      url: '/api/v1/events?event_type=burst&limit=1000',
      headers: bob,
    });
    // 50 distinct message ids: the other 50 submits are answered as duplicates of the first.
    expect(Number(after.headers['x-total-count']) - Number(before ?? 0)).toBe(50);
    const ids = results.map((r) => r.json<Accepted>().event_id);
    expect(new Set(ids).size).toBe(50);
  });
});
