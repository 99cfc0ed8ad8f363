import { describe, expect, it } from 'vitest';
import { dummyHash, hashPassword, makeHasher, verifyPassword } from './passwords.ts';

describe('passwords (one hashing thread)', () => {
  it('hashes many passwords at once, each verifying only against its own', async () => {
    const passwords = Array.from({ length: 8 }, (_, i) => `secret${String(i)}x`);
    const hashes = await Promise.all(passwords.map((p) => hashPassword(p)));
    expect(new Set(hashes).size).toBe(8);
    const checks = await Promise.all(
      hashes.map((h, i) =>
        Promise.all([verifyPassword(passwords[i] ?? '', h), verifyPassword('wrong1x', h)]),
      ),
    );
    expect(checks).toEqual(passwords.map(() => [true, false]));
  });

  it('refuses a malformed or impossible stored hash without breaking later hashes', async () => {
    expect(await verifyPassword('abc12345', 'not-a-hash')).toBe(false);
    // Parameters argon2 refuses (zero passes): the check fails, the thread goes on.
    await expect(
      verifyPassword('abc12345', '$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaA'),
    ).rejects.toThrow();
    expect(await verifyPassword('abc12345', await hashPassword('abc12345'))).toBe(true);
    expect(await dummyHash()).toMatch(/^\$argon2id\$/);
  });

  it('a hashing thread that exits without an error rejects what it owed; the next hash starts a fresh one', async () => {
    // The real worker, except that it exits (code 0, no error) when asked to hash "exit now".
    const derive = makeHasher(`
const { parentPort } = require('node:worker_threads');
const { argon2Sync } = require('node:crypto');
parentPort.on('message', ({ id, params }) => {
  if (params.message === 'exit now') process.exit(0);
  parentPort.postMessage({ id, key: argon2Sync('argon2id', params) });
});
`);
    const salt = Buffer.from('saltsaltsaltsalt');
    const p = { memory: 19456, passes: 2, parallelism: 1, tagLength: 32 };
    const before = await derive('abc12345', salt, p);
    // Owed when the thread exits: the hash asked just before and the one that made it exit.
    const owed = [derive('abc12345', salt, p), derive('exit now', salt, p)];
    const [asked, exiting] = await Promise.allSettled(owed);
    expect(exiting).toMatchObject({
      status: 'rejected',
      reason: { message: 'the password hashing thread exited (code 0)' },
    });
    // The first was answered before the exit, or rejected with it; never left pending.
    if (asked?.status === 'fulfilled') expect(asked.value).toEqual(before);
    expect(await derive('abc12345', salt, p)).toEqual(before);
  });
});
