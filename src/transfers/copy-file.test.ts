/**
 * A big file's overlapped copy keeps every guarantee: the bytes arrive whole (each chunk is
 * written while it is hashed and the next one read), a failed fsync leaves nothing under the
 * final name, and a corrupted re-read (which runs during the fsync on a local disk) is caught.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/stores.ts';
import { sha256File, writeRandom } from '../../test/helpers/transfers.ts';
import { isFerryError } from '../errors/index.ts';
import { makeLocalStorage, type Storage } from '../storage/index.ts';
import { copyFile } from './copy-file.ts';

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
});
