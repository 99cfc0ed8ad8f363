/**
 * Group commit of single submits: concurrent submits share one transaction, and each one is
 * answered only once its own row is committed (or fails with its group).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newEvent } from '../../test/helpers/events.ts';
import { storeKinds, testEnv, type TestEnv } from '../../test/helpers/stores.ts';
import { migrate, openStore, type Db, type Store } from '../db/index.ts';
import { makeBus, type FerryEvents } from '../bus/bus.ts';
import { makeGroupCommit } from './group-commit.ts';
import { makeEvents } from './index.ts';

const quiet = { warn: () => undefined, error: () => undefined };

const event = newEvent;

describe('makeGroupCommit', () => {
  it('flushes callers of one tick together and later callers in the next flush', async () => {
    const flushes: number[][] = [];
    const gate = Promise.withResolvers<undefined>();
    const commit = makeGroupCommit(async (items: readonly number[]) => {
      flushes.push([...items]);
      if (flushes.length === 1) await gate.promise;
      return items.map((n) => n * 10);
    }, 100);
    const first = [1, 2, 3].map((n) => commit.add(n));
    // Wait until the first flush runs, then add while it is still open.
    while (flushes.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const later = [4, 5].map((n) => commit.add(n));
    gate.resolve(undefined);
    expect(await Promise.all([...first, ...later])).toEqual([10, 20, 30, 40, 50]);
    expect(flushes).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('rejects every caller of a failed flush, and keeps serving the next ones', async () => {
    let fail = true;
    const commit = makeGroupCommit(async (items: readonly string[]) => {
      if (fail) throw new Error('store down');
      return items;
    }, 10);
    const failed = await Promise.allSettled([commit.add('a'), commit.add('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await commit.add('c')).toBe('c');
  });

  it('never carries more than the limit in one flush', async () => {
    const sizes: number[] = [];
    const commit = makeGroupCommit(async (items: readonly number[]) => {
      sizes.push(items.length);
      return items;
    }, 4);
    await Promise.all(Array.from({ length: 10 }, (_, i) => commit.add(i)));
    expect(sizes).toEqual([4, 4, 2]);
  });
});

describe.each(storeKinds)('group commit of single events on %s', (kind) => {
  let env: TestEnv;
  let store: Store;

  afterEach(async () => {
    await store.close();
    await env.cleanup();
  });

  /** The store, counting transactions. */
  async function compose() {
    env = await testEnv(kind);
    store = await openStore(env.config, () => undefined);
    await migrate(store.db);
    const counts = { transactions: 0 };
    const db: Db = {
      ...store.db,
      kind: store.db.kind,
      query: (text, values) => store.db.query(text, values),
      exec: (script) => store.db.exec(script),
      transaction: (fn) => {
        counts.transactions++;
        return store.db.transaction(fn);
      },
    };
    const bus = makeBus<FerryEvents>();
    const events = makeEvents({ db, bus, now: () => new Date(), log: quiet, retryLimit: 0 });
    return { events, bus, counts };
  }

  it('commits concurrent single submits in one transaction, each with its own row and task', async () => {
    const { events, bus, counts } = await compose();
    const published: number[][] = [];
    bus.on('event:accepted', (e) => published.push(e.ids));
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        events.submit(null, [event(`e${i}`)]).then(async (accepted) => {
          // Answered only after commit: the row is already visible to another statement.
          const { rows } = await store.db.query<{ event_name: string }>(
            'SELECT event_name FROM ferry.events WHERE id = $1',
            [accepted.ids[0]],
          );
          return { accepted, name: rows[0]?.event_name };
        }),
      ),
    );
    expect(counts.transactions).toBe(1);
    expect(answers.map((a) => a.name)).toEqual(answers.map((_, i) => `e${i}`));
    const ids = answers.map((a) => a.accepted.ids[0]);
    expect(new Set(ids).size).toBe(40);
    expect(new Set(answers.map((a) => a.accepted.taskId)).size).toBe(40);
    // No queue attached: committed, waiting for the sweeper.
    expect(answers.every((a) => a.accepted.status === 'stored')).toBe(true);
    // One live message for the group, not one per submit.
    expect(published).toEqual([ids]);
  });

  it('keeps the per-submit path for events with a message id (duplicates answered as such)', async () => {
    const { events } = await compose();
    const [a, b] = await Promise.all([
      events.submit(null, [event('m', 'msg-1')]),
      events.submit(null, [event('m', 'msg-1')]),
    ]);
    expect(a.ids).toEqual(b.ids);
    expect([a.status, b.status].sort()).toEqual(['duplicate', 'stored']);
  });
});
