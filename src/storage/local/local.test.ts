import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
