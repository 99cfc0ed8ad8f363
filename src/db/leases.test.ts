import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../test/helpers/process.ts';
import { migratedDb, storeKinds } from '../../test/helpers/stores.ts';
import { isFerryError } from '../errors/index.ts';
import {
  acquireLease,
  fenced,
  keepLease,
  keepLeases,
  releaseLease,
  renewLease,
  type Db,
} from './index.ts';

describe.each(storeKinds)('leases on %s', (kind) => {
  let db: Db;
  let done: () => Promise<void>;

  beforeAll(async () => {
    const store = await migratedDb(kind);
    db = store.db;
    done = () => store.close();
    await db.exec('CREATE TABLE writes (holder text, token int)');
  });
  afterAll(async () => {
    await done();
  });

  it('gives a free lease to one holder and refuses the other', async () => {
    const a = await acquireLease(db, 'scan:1', 'node-a', 60_000);
    expect(a?.token).toBe(1);
    expect(await acquireLease(db, 'scan:1', 'node-b', 60_000)).toBeUndefined();
    // The holder asking again keeps its token (it is an extension, not a new acquisition).
    expect((await acquireLease(db, 'scan:1', 'node-a', 60_000))?.token).toBe(1);
  });

  it('increases the token on every acquisition, across release and expiry', async () => {
    const first = await acquireLease(db, 'scan:2', 'node-a', 60_000);
    if (!first) throw new Error('not acquired');
    expect(await releaseLease(db, first)).toBe(true);
    const second = await acquireLease(db, 'scan:2', 'node-b', 1);
    expect(second?.token).toBe(first.token + 1);
    await db.query(
      `UPDATE ferry.leases SET expires_at = now() - interval '1 second' WHERE name = 'scan:2'`,
    );
    const third = await acquireLease(db, 'scan:2', 'node-a', 60_000);
    expect(third?.token).toBe(first.token + 2);
  });

  it('renews only while still held', async () => {
    const lease = await acquireLease(db, 'scan:3', 'node-a', 60_000);
    if (!lease) throw new Error('not acquired');
    expect((await renewLease(db, lease, 60_000))?.token).toBe(lease.token);
    await releaseLease(db, lease);
    await acquireLease(db, 'scan:3', 'node-b', 60_000);
    expect(await renewLease(db, lease, 60_000)).toBeUndefined();
  });

  it("refuses a stale holder's fenced write and keeps the current holder's", async () => {
    const stale = await acquireLease(db, 'scan:4', 'node-a', 60_000);
    if (!stale) throw new Error('not acquired');
    await db.query(
      `UPDATE ferry.leases SET expires_at = now() - interval '1 second' WHERE name = 'scan:4'`,
    );
    const current = await acquireLease(db, 'scan:4', 'node-b', 60_000);
    if (!current) throw new Error('not acquired');

    const write = (lease: typeof current) =>
      fenced(db, lease, (tx) =>
        tx.query('INSERT INTO writes VALUES ($1, $2)', [lease.holder, lease.token]),
      );
    const refused = await write(stale).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isFerryError(refused) && refused.code).toBe('FERRY_ERR_LEASE_LOST');
    await write(current);
    const { rows } = await db.query('SELECT holder, token FROM writes');
    expect(rows).toEqual([{ holder: 'node-b', token: current.token }]);
  });

  it('refuses a fenced write after the lease expired, even if nobody took it', async () => {
    const lease = await acquireLease(db, 'scan:5', 'node-a', 60_000);
    if (!lease) throw new Error('not acquired');
    await db.query(
      `UPDATE ferry.leases SET expires_at = now() - interval '1 second' WHERE name = 'scan:5'`,
    );
    await expect(fenced(db, lease, async () => 'written')).rejects.toMatchObject({
      code: 'FERRY_ERR_LEASE_LOST',
    });
  });

  it('keepLease renews on its own clock and calls onLost once the lease is taken', async () => {
    const lease = await acquireLease(db, 'kept', 'node-a', 300);
    if (!lease) throw new Error('not acquired');
    let lost = 0;
    const gone = new Promise<void>((resolve) => {
      const stop = keepLease(db, lease, {
        ttlMs: 300,
        onLost: () => {
          lost += 1;
          stop();
          resolve();
        },
      });
    });
    await releaseLease(db, lease);
    expect(await acquireLease(db, 'kept', 'node-b', 60_000)).toBeDefined();
    await gone;
    expect(lost).toBe(1);
  });

  it('keepLeases renews many leases in one statement and loses only the one taken', async () => {
    const one = await acquireLease(db, 'kept:1', 'node-a', 300);
    const two = await acquireLease(db, 'kept:2', 'node-a', 300);
    if (!one || !two) throw new Error('not acquired');
    const lost: string[] = [];
    const keeper = keepLeases(db, { ttlMs: 300 });
    const gone = new Promise<void>((resolve) => {
      keeper.add(one, () => {
        lost.push(one.name);
        resolve();
      });
    });
    keeper.add(two, () => lost.push(two.name));
    await releaseLease(db, one);
    expect(await acquireLease(db, 'kept:1', 'node-b', 60_000)).toBeDefined();
    await gone;
    // The other is still kept past its first lifetime.
    await until(async () => {
      const { rows } = await db.query<{ kept: boolean }>(
        `SELECT renewed_at > acquired_at + interval '400 milliseconds' AND expires_at > now() AS kept
         FROM ferry.leases WHERE name = 'kept:2'`,
      );
      return rows[0]?.kept ? true : undefined;
    }, 'kept:2 renewed past its lifetime');
    keeper.stop();
    expect(lost).toEqual(['kept:1']);
    expect(keeper.leases).toEqual([]);
  });
});
