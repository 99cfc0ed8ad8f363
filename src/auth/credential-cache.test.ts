/**
 * The credential cache: answers reused within their lifetime, forgotten at once on this node
 * and, through the store's notifications, on every other node when a credential is revoked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds, testEnv, type TestEnv } from '../../test/helpers/stores.ts';
import { migrate, openStore, type Store } from '../db/index.ts';
import { makeCredentialCache, notifyCredentialsChanged } from './credential-cache.ts';
import type { Principal } from './principal.ts';

const alice: Principal = { kind: 'user', role: 'user', id: 1, userId: 1, label: 'user 1' };

/** A resolver that counts its lookups and knows only `known`. */
function counting(known: Set<string>) {
  const calls = { n: 0 };
  const resolve = (credential: string): Promise<Principal | undefined> => {
    calls.n++;
    return Promise.resolve(known.has(credential) ? alice : undefined);
  };
  return { calls, resolve };
}

describe('credential cache (no store traffic)', () => {
  it('reuses an answer within its lifetime, looks up again after it, never caches a refusal', async () => {
    let clock = 0;
    const known = new Set(['t1']);
    const { calls, resolve } = counting(known);
    const stub = {} as Store['db']; // not started: no listener needed for this test
    const cache = makeCredentialCache({ db: stub, ttlMs: 1000, now: () => clock });
    const cached = cache.wrap(resolve);
    expect(await cached('t1')).toBe(alice);
    expect(await cached('t1')).toBe(alice);
    expect(calls.n).toBe(1);
    clock = 1001;
    expect(await cached('t1')).toBe(alice);
    expect(calls.n).toBe(2);
    expect(await cached('nope')).toBeUndefined();
    expect(await cached('nope')).toBeUndefined();
    expect(calls.n).toBe(4);
    cache.invalidate();
    known.delete('t1');
    expect(await cached('t1')).toBeUndefined();
  });

  it('with a lifetime of 0 asks the resolver every time', async () => {
    const { calls, resolve } = counting(new Set(['t1']));
    const cache = makeCredentialCache({ db: {} as Store['db'], ttlMs: 0 });
    const cached = cache.wrap(resolve);
    await cached('t1');
    await cached('t1');
    expect(calls.n).toBe(2);
  });
});

describe.each(storeKinds)('credential cache across nodes on %s', (kind) => {
  let env: TestEnv;
  const stores: Store[] = [];

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await env.cleanup();
  });

  it('forgets on every listening node once a revocation commits', async () => {
    env = await testEnv(kind);
    const mine = await openStore(env.config, () => undefined);
    stores.push(mine);
    await migrate(mine.db);
    // PGlite is one process's store: its "other node" is the same instance.
    const other = kind === 'postgres' ? await openStore(env.config, () => undefined) : mine;
    if (other !== mine) stores.push(other);
    const told: string[] = [];
    const heard = Promise.withResolvers<undefined>();
    const cache = makeCredentialCache({
      db: mine.db,
      ttlMs: 1000,
      invalidated: (why) => {
        told.push(why);
        heard.resolve(undefined);
      },
    });
    await cache.start();
    const known = new Set(['t1']);
    const { calls, resolve } = counting(known);
    const cached = cache.wrap(resolve);
    await cached('t1');
    await cached('t1');
    expect(calls.n).toBe(1);
    // Revoked elsewhere, in a transaction: heard only after the commit.
    known.delete('t1');
    await other.db.transaction((tx) => notifyCredentialsChanged(tx, 'family'));
    await heard.promise;
    expect(told).toEqual(['family']);
    expect(await cached('t1')).toBeUndefined();
    expect(calls.n).toBe(2);
    await cache.stop();
  });
});
