import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStorageConformance, localFixture } from '../conformance.ts';
import { confineStorage, pinRoot } from '../roots.ts';
import { makeLocalStorage } from './local.ts';

describeStorageConformance('local', {
  timeResolutionMs: 0,
  changeTime: 'status-change',
  async make() {
    const root = await mkdtemp(path.join(tmpdir(), 'ferry-local-'));
    return {
      storage: makeLocalStorage(),
      root,
      fixture: localFixture(root),
      async cleanup() {
        await rm(root, { recursive: true, force: true });
      },
    };
  },
});

describe('local transient reads', () => {
  it('yield the same bytes as a stream, in chunks of the asked size, and stop cleanly early', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'ferry-local-ahead-'));
    try {
      const file = path.join(root, 'f.bin');
      const content = randomBytes(3 * 65536 + 123);
      await writeFile(file, content);
      const storage = makeLocalStorage();
      const hash = createHash('sha256');
      const sizes: number[] = [];
      for await (const chunk of storage.read(file, { chunkSize: 65536, transient: true })) {
        hash.update(chunk);
        sizes.push(chunk.byteLength);
      }
      expect(hash.digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
      expect(sizes).toEqual([65536, 65536, 65536, 123]);
      for await (const chunk of storage.read(file, { chunkSize: 65536, transient: true })) {
        expect(chunk.byteLength).toBe(65536);
        break;
      }
      await expect(async () => {
        for await (const _ of storage.read(path.join(root, 'missing'), { transient: true })) break;
      }).rejects.toMatchObject({ reason: 'not_found' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('folder syncs through pinned roots', () => {
  it('a confined storage syncs a folder inside its pin and refuses one outside', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'ferry-local-sync-'));
    try {
      await mkdir(path.join(root, 'in', 'sub'), { recursive: true });
      const confined = confineStorage(makeLocalStorage(), [await pinRoot(path.join(root, 'in'))]);
      await confined.syncFolder?.(path.join(root, 'in', 'sub'));
      await expect(confined.syncFolder?.(root)).rejects.toMatchObject({
        reason: 'permission_denied',
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('folders kept open by a confined storage', () => {
  /** A pinned `in` holding `sub/a.txt`, and `out` beside it holding `sub/secret.txt`. */
  async function world() {
    const root = await mkdtemp(path.join(tmpdir(), 'ferry-local-kept-'));
    const inside = path.join(root, 'in');
    await mkdir(path.join(inside, 'sub'), { recursive: true });
    await mkdir(path.join(root, 'out', 'sub'), { recursive: true });
    await writeFile(path.join(inside, 'sub', 'a.txt'), 'inside');
    await writeFile(path.join(root, 'out', 'sub', 'secret.txt'), 'outside');
    await writeFile(path.join(root, 'out', 'secret.txt'), 'outside');
    const confined = confineStorage(makeLocalStorage(), [await pinRoot(inside)]);
    return { root, inside, confined, cleanup: () => rm(root, { recursive: true, force: true }) };
  }

  it('refuses a subfolder swapped for a symlink after it was used', async () => {
    const { root, inside, confined, cleanup } = await world();
    try {
      expect(await confined.stat(path.join(inside, 'sub', 'a.txt'))).toMatchObject({ size: 6 });
      await rename(path.join(inside, 'sub'), path.join(inside, 'sub.real'));
      await symlink(path.join(root, 'out', 'sub'), path.join(inside, 'sub'));
      await expect(confined.stat(path.join(inside, 'sub', 'secret.txt'))).rejects.toMatchObject({
        reason: 'permission_denied',
      });
      await expect(confined.list(path.join(inside, 'sub'))).rejects.toMatchObject({
        reason: 'permission_denied',
      });
      const write = confined.write(path.join(inside, 'sub', 'planted.txt'));
      await expect(write).rejects.toMatchObject({ reason: 'permission_denied' });
    } finally {
      await cleanup();
    }
  });

  it('follows a subfolder replaced by another real folder, and refuses a swapped root', async () => {
    const { root, inside, confined, cleanup } = await world();
    try {
      expect(await confined.stat(path.join(inside, 'sub', 'a.txt'))).toBeDefined();
      await rename(path.join(inside, 'sub'), path.join(inside, 'old'));
      await mkdir(path.join(inside, 'sub'));
      await writeFile(path.join(inside, 'sub', 'b.txt'), 'new');
      // The name now names the new folder: the kept descriptor of the old one is not used.
      expect(await confined.stat(path.join(inside, 'sub', 'a.txt'))).toBeUndefined();
      expect(await confined.stat(path.join(inside, 'sub', 'b.txt'))).toMatchObject({ size: 3 });
      await rename(inside, `${inside}.real`);
      await symlink(path.join(root, 'out'), inside);
      await expect(confined.stat(path.join(inside, 'secret.txt'))).rejects.toMatchObject({
        code: 'FERRY_ERR_ROOT_CHANGED',
      });
    } finally {
      await cleanup();
    }
  });
});
