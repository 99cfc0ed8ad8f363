/** One suite, both drivers: what domain code may rely on from any Db. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, storeKinds } from '../../test/helpers/stores.ts';
import { makePgliteDb, makePostgresDb, migrate, type Db, type StoreKind } from './index.ts';

async function openDb(kind: StoreKind): Promise<{ db: Db; done: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await makePgliteDb(undefined);
    return { db, done: () => db.close() };
  }
  const database = await freshDatabase();
  const db = makePostgresDb({ url: database.url, poolMax: 5 });
  return {
    db,
    async done() {
      await db.close();
      await database.drop();
    },
  };
}

describe.each(storeKinds)('Db conformance on %s', (kind) => {
  let db: Db;
  let done: () => Promise<void>;

  beforeAll(async () => {
    ({ db, done } = await openDb(kind));
    await migrate(db);
    await db.exec(
      'CREATE TABLE t (id serial PRIMARY KEY, v int NOT NULL); CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (0);',
    );
  });
  afterAll(async () => {
    await done();
  });

  it('reports its kind', () => {
    expect(db.kind).toBe(kind);
  });

  it('runs parameterized statements and reports affected rows', async () => {
    const inserted = await db.query('INSERT INTO t (v) VALUES ($1), ($2)', [1, 2]);
    expect(inserted.rowCount).toBe(2);
    const { rows } = await db.query<{ v: number }>('SELECT v FROM t WHERE v >= $1 ORDER BY v', [1]);
    expect(rows.map((r) => r.v)).toEqual([1, 2]);
  });

  it('commits a transaction that resolves', async () => {
    const value = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (v) VALUES (10)');
      return 'ok';
    });
    expect(value).toBe('ok');
    expect((await db.query('SELECT 1 FROM t WHERE v = 10')).rows).toHaveLength(1);
  });

  it('rolls back a transaction that throws, and rethrows', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t (v) VALUES (20)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await db.query('SELECT 1 FROM t WHERE v = 20')).rows).toHaveLength(0);
  });

  it('rolls back on a failing statement and stays usable', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t (v) VALUES (30)');
        await tx.query('INSERT INTO t (v) VALUES (NULL)');
      }),
    ).rejects.toThrow();
    expect((await db.query('SELECT 1 FROM t WHERE v = 30')).rows).toHaveLength(0);
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
  });

  it('keeps concurrent read-modify-write transactions from losing updates', async () => {
    const callers = 25;
    await Promise.all(
      Array.from({ length: callers }, () =>
        db.transaction(async (tx) => {
          const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter FOR UPDATE');
          await tx.query('UPDATE counter SET n = $1', [(rows[0]?.n ?? 0) + 1]);
        }),
      ),
    );
    expect((await db.query<{ n: number }>('SELECT n FROM counter')).rows[0]?.n).toBe(callers);
  });

  it('delivers NOTIFY to listeners, after commit only, and stops after unlisten', async () => {
    const received: string[] = [];
    let wake: (() => void) | undefined;
    const unlisten = await db.listen('ferry_test', (payload) => {
      received.push(payload);
      wake?.();
    });
    const arrived = (n: number) =>
      new Promise<void>((resolve) => {
        wake = () => {
          if (received.length >= n) resolve();
        };
        wake();
      });
    await db.notify('ferry_test', 'one');
    await arrived(1);
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`SELECT pg_notify('ferry_test', 'rolled-back')`);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_notify('ferry_test', 'two')`);
    });
    await arrived(2);
    expect(received).toEqual(['one', 'two']);
    await unlisten();
    await unlisten();
  });

  it.runIf(kind === 'postgres')('listens again after its connection is killed', async () => {
    const received: string[] = [];
    const unlisten = await db.listen('ferry_reconnect', (payload) => received.push(payload));
    const killed = await db.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND query ILIKE 'LISTEN%ferry_reconnect%'`,
    );
    expect(killed.rows[0]?.n).toBe(1);
    // Keep notifying until the reconnected listener hears one (bounded: 100 × 100 ms).
    for (let i = 0; i < 100 && received.length === 0; i++) {
      await db.notify('ferry_reconnect', `n${i}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(received.length).toBeGreaterThan(0);
    await unlisten();
  });

  it('applies migrations once', async () => {
    expect(await migrate(db)).toEqual([]);
    const { rows } = await db.query<{ version: number }>(
      'SELECT version FROM ferry.schema_migrations',
    );
    expect(rows.map((r) => r.version)).toContain(1);
  });
});
