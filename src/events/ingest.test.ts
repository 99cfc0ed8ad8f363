/**
 * Processing retries and the sweeper, composed by hand so a flaky store can be passed in
 * (the double goes through the constructor, like every other dependency).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newEvent } from '../../test/helpers/events.ts';
import { storeKinds, testEnv, type TestEnv } from '../../test/helpers/stores.ts';
import { migrate, openStore, type Db, type Queryable, type Store } from '../db/index.ts';
import { makeJobs, type Jobs } from '../jobs/index.ts';
import { makeBus, type FerryEvents } from '../bus/bus.ts';
import { makeEvents } from './index.ts';

const quiet = { warn: () => undefined, error: () => undefined };

/**
 * Holds a transaction before it starts (so it holds no connection): the first `skip` pass,
 * then the next calls `reached` and waits for `until`.
 */
interface Hold {
  skip: number;
  reached: () => void;
  until: Promise<unknown>;
}

/**
 * A Db whose statements matching `pattern` fail with a deadlock (a transient error) while
 * `failures` is above zero, and whose transactions wait as `hold` says; everything else passes
 * through.
 */
function flaky(db: Db, pattern: RegExp) {
  const state: { failures: number; hold?: Hold | undefined } = { failures: 0 };
  const deadlock = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });
  const wrap = (q: Queryable): Queryable => ({
    exec: (script) => q.exec(script),
    async query(text, values) {
      if (state.failures > 0 && pattern.test(text)) {
        state.failures -= 1;
        throw deadlock();
      }
      return q.query(text, values);
    },
  });
  const wrapped: Db = {
    ...db,
    ...wrap(db),
    kind: db.kind,
    async transaction(fn) {
      const hold = state.hold;
      if (hold && hold.skip-- <= 0) {
        state.hold = undefined;
        hold.reached();
        await hold.until;
      }
      return db.transaction((tx) => fn(wrap(tx)));
    },
  };
  return { db: wrapped, state };
}

const event = newEvent;

describe.each(storeKinds)('event processing on %s', (kind) => {
  let env: TestEnv;
  let store: Store;
  let jobs: Jobs | undefined;

  async function compose() {
    env = await testEnv(kind, {
      FERRY_JOBS_RETRY_DELAY_SECONDS: '0',
      FERRY_JOBS_RETRY_BACKOFF: 'false',
    });
    store = await openStore(env.config, () => undefined);
    await migrate(store.db);
    const bus = makeBus<FerryEvents>();
    const { db, state } = flaky(store.db, /SET processed = true/);
    const events = makeEvents({
      db,
      bus,
      now: () => new Date(),
      log: quiet,
      retryLimit: env.config.jobs.retry_limit,
    });
    jobs = makeJobs({
      store,
      config: env.config,
      definitions: events.definitions,
      bus,
      log: quiet,
    });
    await jobs.start();
    return { events, bus, state, jobs };
  }

  afterEach(async () => {
    await jobs?.stop();
    await store.close();
    await env.cleanup();
  });

  it('retries a transient failure and then succeeds', async () => {
    const { events, bus, state, jobs: queue } = await compose();
    events.attach(queue);
    state.failures = 2;
    const failures: string[] = [];
    bus.on('job:failed', (e) => failures.push(e.error));
    const done = bus.next('event:processed');
    const accepted = await events.submit(null, [event('retry-me')]);
    expect(await done).toMatchObject({ id: accepted.ids[0], ok: true, error: null });
    expect(failures).toEqual(['deadlock detected', 'deadlock detected']);
    const { rows } = await store.db.query(
      'SELECT processed, status, properties FROM ferry.events WHERE id = $1',
      [accepted.ids[0]],
    );
    expect(rows[0]).toMatchObject({
      processed: true,
      status: 'processed',
      properties: { duration: 3 },
    });
  });

  it('hands events committed while a drain runs here to that drain, without a new job', async () => {
    const { events, bus, state, jobs: queue } = await compose();
    const sent: string[] = [];
    events.attach({
      ...queue,
      send: (definition, data, options) => {
        sent.push(definition.name);
        return queue.send(definition, data, options);
      },
    });
    const reached = Promise.withResolvers<undefined>();
    const release = Promise.withResolvers<undefined>();
    // The first transaction is the first submit's; the second, the drain's first round.
    state.hold = {
      skip: 1,
      reached: () => {
        reached.resolve(undefined);
      },
      until: release.promise,
    };
    const drained = bus.next('job:completed', (j) => j.name === 'events.process');
    const first = await events.submit(null, [event('first')]);
    await reached.promise; // the drain job woken by the first submit is about to take events
    expect(sent).toEqual(['events.process']);
    const second = await events.submit(null, [event('second')]);
    expect(second.status).toBe('enqueued');
    // (The sweeper, a cron job, also wakes through `send`: assert right around the submit.)
    expect(sent).toEqual(['events.process']);
    const done = bus.next('event:processed', (e) => e.id === second.ids[0]);
    release.resolve(undefined);
    expect(await done).toMatchObject({ ok: true });
    // One job, woken by the first submit, processed both.
    expect(await drained).toMatchObject({ output: { processed: 2 } });
    const { rows } = await store.db.query(
      'SELECT status FROM ferry.events WHERE id = ANY($1::bigint[]) ORDER BY id',
      [[...first.ids, ...second.ids]],
    );
    expect(rows).toEqual([{ status: 'processed' }, { status: 'processed' }]);
    // The drain has ended: the next submit wakes a job again.
    const sentBefore = sent.length;
    const third = await events.submit(null, [event('third')]);
    expect(sent.length).toBe(sentBefore + 1);
    await bus.next('event:processed', (e) => e.id === third.ids[0]);
  });

  it('records the final failure once retries are exhausted', async () => {
    const { events, bus, state, jobs: queue } = await compose();
    events.attach(queue);
    state.failures = Number.POSITIVE_INFINITY;
    const limit = env.config.jobs.retry_limit;
    const final = bus.next('event:processed', (e) => !e.ok);
    const accepted = await events.submit(null, [event('doomed')]);
    expect(await final).toMatchObject({ id: accepted.ids[0], ok: false });
    const { rows } = await store.db.query(
      'SELECT processed, status, processing_error FROM ferry.events WHERE id = $1',
      [accepted.ids[0]],
    );
    expect(rows[0]).toEqual({
      processed: false,
      status: 'failed',
      processing_error: `processing failed after ${limit + 1} attempts: deadlock detected`,
    });
  });

  it('answers "stored" when the drain cannot be woken, and the sweeper wakes it later', async () => {
    const { events, bus, jobs: queue } = await compose();
    // A queue that refuses every send, while the store works.
    events.attach({ ...queue, send: () => Promise.reject(new Error('queue refused')) });
    const accepted = await events.submit(null, [event('no-wake')]);
    expect(accepted).toMatchObject({ status: 'stored', taskId: expect.any(String) });
    const { rows } = await store.db.query('SELECT status FROM ferry.events WHERE id = $1', [
      accepted.ids[0],
    ]);
    expect(rows[0]).toEqual({ status: 'enqueued' });
    events.attach(queue);
    const done = bus.next('event:processed', (e) => e.id === accepted.ids[0]);
    expect(await events.sweep()).toBe(true);
    expect(await done).toMatchObject({ ok: true });
  });

  it('keeps events accepted before the queue exists, and the sweeper has them processed', async () => {
    const { events, bus, jobs: queue } = await compose();
    expect(await events.sweep()).toBe(false); // nothing to wake, no queue yet
    // Not attached to the queue yet: the events wait, committed, for the sweeper.
    const accepted = await events.submit(null, [event('later-1'), event('later-2')]);
    expect(accepted).toMatchObject({ status: 'stored', taskId: expect.any(String) });
    events.attach(queue);
    const done = bus.next('event:processed', (e) => e.id === accepted.ids[1]);
    expect(await events.sweep()).toBe(true);
    await done;
    expect(await events.sweep()).toBe(false); // all processed: nothing waits
  });
});
