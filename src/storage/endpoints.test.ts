/**
 * The endpoint router tells which backend holds a path: code that may only overlap work on a
 * local disk (the verifying re-read during the fsync) asks per path, not the router's own kind.
 */
import { describe, expect, it } from 'vitest';
import { makeEndpoints } from './endpoints.ts';
import { makeLocalStorage } from './local/local.ts';
import { confineStorage } from './roots.ts';
import { kindAt, type Storage } from './types.ts';

describe('the endpoint router', () => {
  const share: Storage = { ...makeLocalStorage(), kind: 'smb', location: 'smb://host/share' };
  const router = makeEndpoints(makeLocalStorage(), new Map([['share', share]])).storage;

  it('answers the kind of the backend holding each path', () => {
    expect(router.kind).toBe('local');
    expect(kindAt(router, '/srv/in/a.bin')).toBe('local');
    expect(kindAt(router, '@share:/copy/.a.bin.part')).toBe('smb');
  });

  it('keeps answering per path once confined to pinned roots', () => {
    // Never used to open anything here: only its kind is asked.
    const confined = confineStorage(router, [{ path: '/srv/in', dev: '0', ino: '0' }]);
    expect(kindAt(confined, '/srv/in/a.bin')).toBe('local');
    expect(kindAt(confined, '@share:/copy/.a.bin.part')).toBe('smb');
  });
});
