/**
 * A big file's overlapped copy keeps every guarantee: the bytes arrive whole (each chunk is
 * written while it is hashed and the next one read), a failed fsync leaves nothing under the
 * final name, and a corrupted re-read (which runs during the fsync on a local disk) is caught.
 * Small files too: every size around a read chunk, their mode and mtime, and a link planted
 * under the temp name is replaced, not written through.
 */
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/stores.ts';
import { sha256File, writeRandom } from '../../test/helpers/transfers.ts';
import { isFerryError } from '../errors/index.ts';
import { makeLocalStorage, type Storage } from '../storage/index.ts';
import { chunkSizeFor, copyFile, tempNameFor } from './copy-file.ts';

const local = makeLocalStorage();
const MiB = 1024 * 1024;

describe('a big local copy', () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.remove();
  });

  /** A source of `bytes` random bytes and an empty destination folder. */
  function world(bytes: number): { from: string; to: string; sum: string; dst: string } {
    const src = tempDir('ferry-copy-src-');
    const dst = tempDir('ferry-copy-dst-');
    dirs.push(src, dst);
    const from = path.join(src.dir, 'big.bin');
    return { from, to: path.join(dst.dir, 'big.bin'), sum: writeRandom(from, bytes), dst: dst.dir };
  }

  /** Local storage whose temp file's commit (fsync and close) fails after it is done. */
  const failingCommit: Storage = {
    ...local,
    async write(file) {
      const handle = await local.write(file);
      return {
        ...handle,
        async commit() {
          await handle.commit();
          throw new Error('EIO on fsync');
        },
      };
    },
  };

  it('delivers the same bytes, chunk after chunk, with both checksums equal', async () => {
    const w = world(37 * MiB + 3);
    const result = await copyFile({
      ...{ source: local, destination: local, from: w.from, to: w.to },
      ...{ algorithm: 'xxh128', conflict: 'fail', tempTag: 't' },
    });
    expect(result.sourceChecksum).toBe(result.destinationChecksum);
    expect(sha256File(w.to)).toBe(w.sum);
    expect(readdirSync(w.dst)).toEqual(['big.bin']);
  });

  it('a failed fsync fails the copy even though the re-read ran: nothing under the final name', async () => {
    const w = world(9 * MiB + 1);
    const failure = await copyFile({
      ...{ source: local, destination: failingCommit, from: w.from, to: w.to },
      ...{ algorithm: 'xxh128', conflict: 'fail', tempTag: 't' },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(existsSync(w.to)).toBe(false);
    expect(readdirSync(w.dst)).toEqual([]);
  });

  it('a re-read that differs (run alongside the fsync) is a checksum mismatch', async () => {
    const w = world(9 * MiB + 7);
    const corrupting: Storage = {
      ...local,
      async *read(file, options) {
        let first = file.endsWith('.part');
        for await (const chunk of local.read(file, options)) {
          if (first) {
            const copy = Buffer.from(chunk);
            copy[0] = (copy[0] ?? 0) ^ 0xff;
            first = false;
            yield copy;
          } else yield chunk;
        }
      },
    };
    const failure = await copyFile({
      ...{ source: local, destination: corrupting, from: w.from, to: w.to },
      ...{ algorithm: 'xxh128', conflict: 'fail', tempTag: 't' },
    }).catch((error: unknown) => error);
    expect(isFerryError(failure) && failure.code).toBe('FERRY_ERR_CHECKSUM_MISMATCH');
    expect(readdirSync(w.dst)).toEqual([]);
  });

  it('small files arrive whole at every size around a chunk, with their mode and mtime', async () => {
    const src = tempDir('ferry-copy-src-');
    const dst = tempDir('ferry-copy-dst-');
    dirs.push(src, dst);
    const chunk = chunkSizeFor(1);
    for (const size of [0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk]) {
      const from = path.join(src.dir, `f${String(size)}`);
      const sum = writeRandom(from, size);
      chmodSync(from, 0o751);
      utimesSync(from, 1_000_000, 1_000_000);
      const to = path.join(dst.dir, `f${String(size)}`);
      const result = await copyFile({
        ...{ source: local, destination: local, from, to },
        ...{ algorithm: 'xxh128', conflict: 'fail', tempTag: 't' },
      });
      expect(result.bytes).toBe(size);
      expect(sha256File(to)).toBe(sum);
      const s = statSync(to);
      expect(s.mode & 0o777).toBe(0o751);
      expect(s.mtimeMs).toBe(1_000_000_000);
    }
  });

  it('replaces a link planted under the temp name instead of writing through it', async () => {
    const w = world(4096);
    const outside = tempDir('ferry-copy-outside-');
    dirs.push(outside);
    const target = path.join(outside.dir, 'target');
    writeFileSync(target, 'keep');
    symlinkSync(target, tempNameFor(w.to, 't'));
    const result = await copyFile({
      ...{ source: local, destination: local, from: w.from, to: w.to },
      ...{ algorithm: 'xxh128', conflict: 'fail', tempTag: 't' },
    });
    expect(result.sourceChecksum).toBe(result.destinationChecksum);
    expect(sha256File(w.to)).toBe(w.sum);
    expect(readFileSync(target, 'utf8')).toBe('keep');
    expect(readdirSync(w.dst)).toEqual(['big.bin']);
  });
});
