/**
 * The one conformance suite every Storage backend passes: what intake, transfers and pipelines
 * may rely on whatever holds the files. A backend's test file calls
 * `describeStorageConformance(name, subject)`; fixtures are made and checked behind the
 * storage's back (on the disk the backend serves), so the suite never trusts the code it tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError, type FileInfo, type Storage, type StorageFailure } from './types.ts';

/** Files put in place and read back without going through the storage under test. */
export interface Fixture {
  write(
    relative: string,
    content: string | Uint8Array,
    options?: { mtimeMs?: number },
  ): Promise<void>;
  mkdir(relative: string): Promise<void>;
  /** The file's bytes, or undefined when nothing is there. */
  read(relative: string): Promise<Buffer | undefined>;
}

/** One fresh, empty folder on the backend, reached through a fresh Storage. */
export interface ConformanceSetup {
  storage: Storage;
  /** The folder's storage path (absolute for local, `''` for an SMB base folder). */
  root: string;
  fixture: Fixture;
  cleanup(): Promise<void>;
}

/** A backend under test. */
export interface ConformanceSubject {
  make(): Promise<ConformanceSetup>;
  /** Resolution of reported times (SMB via smbclient: 1000 ms, rounded; local: 0). */
  timeResolutionMs: number;
  /** ctime is the POSIX status-change time, or the write time (what Samba reports). */
  changeTime: 'status-change' | 'write-time';
}

/** A Fixture on a local folder; `owner` chowns what it creates (for a server's share user). */
export function localFixture(dir: string, owner?: { uid: number; gid: number }): Fixture {
  async function makeDirs(relative: string): Promise<void> {
    const parts = relative.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i += 1) {
      const full = path.join(dir, ...parts.slice(0, i));
      await mkdir(full).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      });
      if (owner) await chown(full, owner.uid, owner.gid);
    }
  }
  return {
    async write(relative, content, options = {}) {
      await makeDirs(path.posix.dirname(relative) === '.' ? '' : path.posix.dirname(relative));
      const full = path.join(dir, relative);
      await writeFile(full, content);
      if (owner) await chown(full, owner.uid, owner.gid);
      if (options.mtimeMs !== undefined) {
        const seconds = options.mtimeMs / 1000;
        await utimes(full, seconds, seconds);
      }
    },
    mkdir: makeDirs,
    async read(relative) {
      const full = path.join(dir, relative);
      const s = await stat(full).catch(() => undefined);
      return s?.isFile() ? readFile(full) : undefined;
    },
  };
}

/** Every chunk of a read, in order. */
async function chunksOf(storage: Storage, file: string, chunkSize?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of storage.read(file, chunkSize === undefined ? {} : { chunkSize })) {
    out.push(Buffer.from(chunk));
  }
  return out;
}

/** The StorageError reason `promise` rejects with (fails the test on anything else). */
async function reasonOf(promise: Promise<unknown>): Promise<StorageFailure> {
  const error = await promise.then(
    () => expect.unreachable('expected a StorageError'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  return (error as StorageError).reason;
}

const OLD = Date.UTC(2024, 0, 2, 3, 4, 5);
const KiB = 1024;

/** Registers the conformance tests for one backend. */
export function describeStorageConformance(name: string, subject: ConformanceSubject): void {
  describe(`Storage conformance: ${name}`, () => {
    let setup: ConformanceSetup;
    let storage: Storage;
    let fixture: Fixture;
    const p = (relative: string) => (setup.root === '' ? relative : `${setup.root}/${relative}`);
    const near = (actual: number, expected: number) => {
      expect(Math.abs(actual - expected)).toBeLessThanOrEqual(subject.timeResolutionMs);
    };

    beforeEach(async () => {
      setup = await subject.make();
      ({ storage, fixture } = setup);
    });
    afterEach(async () => {
      await storage.close();
      await setup.cleanup();
    });

    describe('stat', () => {
      it('reports size, kind and times of a file', async () => {
        const before = Date.now();
        await fixture.write('a.txt', 'hello', { mtimeMs: OLD });
        const info = await storage.stat(p('a.txt'));
        expect(info).toMatchObject({ path: p('a.txt'), size: 5, kind: 'file' });
        near(info?.mtimeMs ?? 0, OLD);
        if (subject.changeTime === 'write-time') near(info?.ctimeMs ?? 0, OLD);
        else expect(info?.ctimeMs).toBeGreaterThanOrEqual(before - 1000);
      });

      it('reports a folder, including the root', async () => {
        await fixture.mkdir('sub');
        expect((await storage.stat(p('sub')))?.kind).toBe('directory');
        expect((await storage.stat(setup.root))?.kind).toBe('directory');
      });

      it('answers undefined for a missing path, under a missing folder or a file', async () => {
        await fixture.write('file.txt', 'x');
        expect(await storage.stat(p('missing.txt'))).toBeUndefined();
        expect(await storage.stat(p('no/such/dir/x.txt'))).toBeUndefined();
        expect(await storage.stat(p('file.txt/x'))).toBeUndefined();
      });

      it('sees the new size and a fresh mtime after a write', async () => {
        await fixture.write('grow.txt', 'a', { mtimeMs: OLD });
        const before = Date.now();
        const handle = await storage.write(p('grow.txt'));
        await handle.write(Buffer.from('abcdef'));
        await handle.commit();
        const info = await storage.stat(p('grow.txt'));
        expect(info?.size).toBe(6);
        // Clocks, not timings: the reported times fall between before and now (± resolution).
        const slack = subject.timeResolutionMs + 1000;
        for (const time of [info?.mtimeMs ?? 0, info?.ctimeMs ?? 0]) {
          expect(time).toBeGreaterThanOrEqual(before - slack);
          expect(time).toBeLessThanOrEqual(Date.now() + slack);
        }
      });
    });

    describe('list', () => {
      beforeEach(async () => {
        await fixture.write('top.txt', 'top', { mtimeMs: OLD });
        await fixture.write('sub/one.txt', 'one!');
        await fixture.write('sub/deeper/two.bin', randomBytes(3000));
        await fixture.mkdir('empty');
      });
      const sorted = (files: FileInfo[]) => files.map((f) => f.path).sort();

      it('lists files (never folders) recursively by default, with sizes and times', async () => {
        const files = await storage.list(setup.root);
        expect(sorted(files)).toEqual([p('sub/deeper/two.bin'), p('sub/one.txt'), p('top.txt')]);
        const top = files.find((f) => f.path === p('top.txt'));
        expect(top).toMatchObject({ size: 3, kind: 'file' });
        near(top?.mtimeMs ?? 0, OLD);
        expect(files.find((f) => f.path === p('sub/deeper/two.bin'))?.size).toBe(3000);
      });

      it('agrees with stat on every field', async () => {
        for (const file of await storage.list(setup.root)) {
          expect(await storage.stat(file.path)).toEqual(file);
        }
      });

      it('lists one level when recursive is false, and a subfolder by its path', async () => {
        expect(sorted(await storage.list(setup.root, { recursive: false }))).toEqual([
          p('top.txt'),
        ]);
        expect(sorted(await storage.list(p('sub')))).toEqual([
          p('sub/deeper/two.bin'),
          p('sub/one.txt'),
        ]);
      });

      it('answers [] for an empty folder and not_found for a missing one or a file', async () => {
        expect(await storage.list(p('empty'))).toEqual([]);
        expect(await reasonOf(storage.list(p('missing')))).toBe('not_found');
        expect(await reasonOf(storage.list(p('top.txt')))).toBe('not_found');
      });

      it('handles names with spaces, semicolons, quotes, dots and non-ASCII letters', async () => {
        const names = ['with space.txt', 'semi;colon.txt', "it's.txt", '.hidden', 'ünï € 日本.txt'];
        for (const n of names) await fixture.write(`odd/${n}`, n);
        expect(sorted(await storage.list(p('odd')))).toEqual(
          names.map((n) => p(`odd/${n}`)).sort(),
        );
        for (const n of names) {
          expect(Buffer.concat(await chunksOf(storage, p(`odd/${n}`))).toString()).toBe(n);
        }
      });
    });

    describe('read', () => {
      it('reads in chunks of exactly the asked size, the last one shorter', async () => {
        const content = randomBytes(250 * KiB);
        await fixture.write('data.bin', content);
        const chunks = await chunksOf(storage, p('data.bin'), 100 * KiB);
        expect(chunks.map((c) => c.byteLength)).toEqual([100 * KiB, 100 * KiB, 50 * KiB]);
        expect(Buffer.concat(chunks).equals(content)).toBe(true);
        const even = await chunksOf(storage, p('data.bin'), 125 * KiB);
        expect(even.map((c) => c.byteLength)).toEqual([125 * KiB, 125 * KiB]);
      });

      it('streams a larger file with the default chunk size, byte for byte', async () => {
        const content = randomBytes(9 * 1024 * KiB + 17);
        await fixture.write('big.bin', content);
        const hash = createHash('sha256');
        let largest = 0;
        for await (const chunk of storage.read(p('big.bin'))) {
          hash.update(chunk);
          largest = Math.max(largest, chunk.byteLength);
        }
        expect(hash.digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
        expect(largest).toBeLessThan(content.byteLength);
      });

      it('reads an empty file as no bytes', async () => {
        await fixture.write('empty.txt', '');
        expect(Buffer.concat(await chunksOf(storage, p('empty.txt'))).byteLength).toBe(0);
      });

      it('fails with not_found for a missing file', async () => {
        expect(await reasonOf(chunksOf(storage, p('missing.bin')))).toBe('not_found');
      });

      it('stops cleanly when the reader stops early or aborts', async () => {
        await fixture.write('big.bin', randomBytes(4 * 1024 * KiB));
        for await (const chunk of storage.read(p('big.bin'), { chunkSize: 64 * KiB })) {
          expect(chunk.byteLength).toBe(64 * KiB);
          break;
        }
        const controller = new AbortController();
        const reading = (async () => {
          for await (const _chunk of storage.read(p('big.bin'), {
            chunkSize: 64 * KiB,
            signal: controller.signal,
          })) {
            controller.abort();
          }
        })();
        await expect(reading).rejects.toThrow();
        expect((await storage.stat(p('big.bin')))?.size).toBe(4 * 1024 * KiB);
      });
    });

    describe('write', () => {
      it('creates parent folders and commits the chunks in order', async () => {
        const handle = await storage.write(p('x/y/z.txt'));
        await handle.write(Buffer.from('ab'));
        await handle.write(Buffer.from('cd'));
        await handle.commit();
        expect((await fixture.read('x/y/z.txt'))?.toString()).toBe('abcd');
      });

      it('writes files of one new nested folder at once (a batch), each whole', async () => {
        // Each write creates the same missing parents: whoever comes second finds them made.
        const names = Array.from({ length: 6 }, (_, i) => `race/a/b/f${String(i)}.txt`);
        await Promise.all(
          names.map(async (name) => {
            const handle = await storage.write(p(name));
            await handle.write(Buffer.from(name));
            await handle.commit();
          }),
        );
        for (const name of names) expect((await fixture.read(name))?.toString()).toBe(name);
      });

      it('replaces an existing file and commits an empty one', async () => {
        await fixture.write('f.txt', 'a much longer old content');
        const handle = await storage.write(p('f.txt'));
        await handle.write(Buffer.from('new'));
        await handle.commit();
        expect((await fixture.read('f.txt'))?.toString()).toBe('new');
        const empty = await storage.write(p('zero.txt'));
        await empty.commit();
        expect((await fixture.read('zero.txt'))?.byteLength).toBe(0);
      });

      it('lets the caller reuse a buffer once write() resolved', async () => {
        const buffer = Buffer.alloc(512 * KiB, 7);
        const handle = await storage.write(p('reuse.bin'));
        await handle.write(buffer);
        buffer.fill(9);
        await handle.write(buffer);
        await handle.commit();
        const written = await fixture.read('reuse.bin');
        expect(written?.subarray(0, 512 * KiB).every((b) => b === 7)).toBe(true);
        expect(written?.subarray(512 * KiB).every((b) => b === 9)).toBe(true);
      });

      it('abort leaves nothing behind, before or after writing', async () => {
        const handle = await storage.write(p('gone/partial.bin'));
        await handle.write(randomBytes(256 * KiB));
        await handle.abort();
        expect(await fixture.read('gone/partial.bin')).toBeUndefined();
        expect(await storage.stat(p('gone/partial.bin'))).toBeUndefined();
        const unused = await storage.write(p('never.bin'));
        await unused.abort();
        expect(await storage.stat(p('never.bin'))).toBeUndefined();
      });
    });

    describe('rename', () => {
      it('moves a file into new folders, keeping content and mtime', async () => {
        await fixture.write('from.txt', 'payload', { mtimeMs: OLD });
        await storage.rename(p('from.txt'), p('archive/2024/to.txt'));
        expect(await fixture.read('from.txt')).toBeUndefined();
        expect((await fixture.read('archive/2024/to.txt'))?.toString()).toBe('payload');
        near((await storage.stat(p('archive/2024/to.txt')))?.mtimeMs ?? 0, OLD);
      });

      it('refuses to replace an existing file with reason exists, touching neither', async () => {
        await fixture.write('a.txt', 'A');
        await fixture.write('b.txt', 'B');
        expect(await reasonOf(storage.rename(p('a.txt'), p('b.txt')))).toBe('exists');
        expect((await fixture.read('a.txt'))?.toString()).toBe('A');
        expect((await fixture.read('b.txt'))?.toString()).toBe('B');
      });

      it('replaces the destination when overwrite is set', async () => {
        await fixture.write('a.txt', 'A');
        await fixture.write('b.txt', 'B');
        await storage.rename(p('a.txt'), p('b.txt'), { overwrite: true });
        expect(await fixture.read('a.txt')).toBeUndefined();
        expect((await fixture.read('b.txt'))?.toString()).toBe('A');
      });

      it('fails with not_found when the source is missing', async () => {
        expect(await reasonOf(storage.rename(p('missing.txt'), p('to.txt')))).toBe('not_found');
      });

      it('defers the folder sync to one syncFolder for a batch of renames', async () => {
        await fixture.write('batch/.a.part', 'A');
        await fixture.write('batch/.b.part', 'B');
        await storage.rename(p('batch/.a.part'), p('batch/a.txt'), { deferSync: true });
        await storage.rename(p('batch/.b.part'), p('batch/b.txt'), { deferSync: true });
        // Where the backend can sync a folder at all (local paths); a no-op promise elsewhere.
        await storage.syncFolder?.(p('batch'));
        expect((await fixture.read('batch/a.txt'))?.toString()).toBe('A');
        expect((await fixture.read('batch/b.txt'))?.toString()).toBe('B');
        expect(await fixture.read('batch/.a.part')).toBeUndefined();
      });
    });

    describe('remove and removeEmptyDir', () => {
      it('removes a file; a missing one is not an error', async () => {
        await fixture.write('sub/x.txt', 'x');
        await storage.remove(p('sub/x.txt'));
        expect(await fixture.read('sub/x.txt')).toBeUndefined();
        await storage.remove(p('sub/x.txt'));
        await storage.remove(p('no/such/folder.txt'));
      });

      it('removes only an empty folder and says whether it did', async () => {
        await fixture.mkdir('empty');
        await fixture.write('full/keep.txt', 'keep');
        expect(await storage.removeEmptyDir(p('empty'))).toBe(true);
        expect(await storage.stat(p('empty'))).toBeUndefined();
        expect(await storage.removeEmptyDir(p('full'))).toBe(false);
        expect((await fixture.read('full/keep.txt'))?.toString()).toBe('keep');
        expect(await storage.removeEmptyDir(p('missing'))).toBe(false);
      });
    });

    describe('optional operations', () => {
      it('setAttributes sets the modification time', async () => {
        if (!storage.setAttributes) return;
        await fixture.write('t.txt', 't');
        await storage.setAttributes(p('t.txt'), { mtimeMs: OLD });
        near((await storage.stat(p('t.txt')))?.mtimeMs ?? 0, OLD);
      });

      it('freeSpace answers a positive number of bytes or undefined', async () => {
        if (!storage.freeSpace) return;
        await fixture.mkdir('sub');
        const free = await storage.freeSpace(p('sub'));
        if (free !== undefined) expect(free).toBeGreaterThan(0);
      });
    });
  });
}
