/**
 * Issue 10, item 1: a watch folder (or a one-off transfer) cannot leave its volume when its
 * source or destination folder is swapped for a symlink to a folder outside: between cycles,
 * mid-copy, and just before a move's delete. Nothing outside is read, written or deleted, and
 * the profile goes to `error` with the reason.
 */
import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds, tempDir } from '../../test/helpers/stores.ts';
import {
  sha256File,
  useTransferWorlds,
  writeRandom,
  type TransferWorld,
} from '../../test/helpers/transfers.ts';
import { makeLocalStorage, type Storage } from '../storage/index.ts';

/** `mv dir dir.real; ln -s to dir` — the attack of the reproduction. */
function swap(dir: string, to: string): void {
  renameSync(dir, `${dir}.real`);
  symlinkSync(to, dir);
}

/** Local storage that calls `onRead` once a source file named `name` is being read. */
function swappingOnRead(name: string, onRead: () => void): Storage {
  const local = makeLocalStorage();
  let done = false;
  return {
    ...local,
    async *read(file, options) {
      for await (const chunk of local.read(file, options)) {
        if (!done && path.basename(file) === name) {
          done = true;
          onRead();
        }
        yield chunk;
      }
    },
  };
}

/** Local storage that calls `onRenamed` right after a file named `name` got its final name. */
function swappingAfterRename(name: string, onRenamed: () => void): Storage {
  const local = makeLocalStorage();
  return {
    ...local,
    async rename(from, to, options) {
      await local.rename(from, to, options);
      if (path.basename(to) === name) onRenamed();
    },
  };
}

describe.each(storeKinds)('pinned roots on %s', (kind) => {
  const startWorld = useTransferWorlds();
  const outside: { dir: string; remove: () => void } = {
    dir: '',
    remove: () => {
      /* nothing made yet */
    },
  };
  afterEach(async () => {
    outside.remove();
  });

  /** A folder outside every volume holding `secret.bin` (and `big.bin` to tempt a move). */
  function elsewhere(): { dir: string; secret: string; big: string } {
    Object.assign(outside, tempDir('ferry-elsewhere-'));
    return {
      dir: outside.dir,
      secret: writeRandom(path.join(outside.dir, 'secret.bin'), 2048),
      big: writeRandom(path.join(outside.dir, 'big.bin'), 4096),
    };
  }

  /** Starts a profile and waits until `a.bin` was delivered (the roots worked before the swap). */
  async function started(w: TransferWorld, mode: string): Promise<number> {
    const id = (await w.watch({ operation_mode: mode })).json.id;
    const first = w.collect('watch:file-finished', 1, (e) => e.transferId === id);
    writeRandom(path.join(w.src, 'a.bin'), 1024);
    expect((await first)[0]?.ok).toBe(true);
    return id;
  }

  const errored = (w: TransferWorld, id: number) =>
    w.collect('transfer:status', 1, (s) => s.transferId === id && s.status === 'error');

  /** Nothing outside was touched: both files there, unchanged, and nothing added. */
  function untouched(out: ReturnType<typeof elsewhere>): void {
    expect(readdirSync(out.dir).sort()).toEqual(['big.bin', 'secret.bin']);
    expect(sha256File(path.join(out.dir, 'secret.bin'))).toBe(out.secret);
    expect(sha256File(path.join(out.dir, 'big.bin'))).toBe(out.big);
  }

  /** A world whose storage swaps its `side` folder for `out` as `big.bin` is read or renamed. */
  async function swappingWorld(
    side: 'src' | 'dst',
    when: 'read' | 'rename',
    out: ReturnType<typeof elsewhere>,
  ): Promise<TransferWorld> {
    const box: { w?: TransferWorld } = {};
    const trigger = () => {
      if (box.w) swap(box.w[side], out.dir);
    };
    return (box.w = await startWorld(kind, {
      transferStorage:
        when === 'read'
          ? { source: swappingOnRead('big.bin', trigger) }
          : { destination: swappingAfterRename('big.bin', trigger) },
    }));
  }

  /** Runs a profile until writing `big.bin` trips the swap and stops it; returns its sha256. */
  async function bigFileSwapped(
    w: TransferWorld,
    mode: string,
    out: ReturnType<typeof elsewhere>,
  ): Promise<string> {
    const id = await started(w, mode);
    const error = errored(w, id);
    const sum = writeRandom(path.join(w.src, 'big.bin'), 4096);
    await error;
    untouched(out);
    return sum;
  }

  describe.each(['copy', 'move'])('%s', (mode) => {
    it('a source folder swapped for a symlink between cycles stops the profile', async () => {
      const w = await startWorld(kind);
      const out = elsewhere();
      const id = await started(w, mode);
      const error = errored(w, id);
      swap(w.src, out.dir);
      await error;
      untouched(out);
      expect(existsSync(path.join(w.dst, 'secret.bin'))).toBe(false);
      const t = (await w.request('GET', `/transfers/${id}`)).json;
      expect(t).toMatchObject({ status: 'error' });
      expect(t.error_message).toMatch(/not the one pinned.*is now a symlink/);
    });

    it('a destination folder swapped for a symlink between cycles stops the profile', async () => {
      const w = await startWorld(kind);
      const out = elsewhere();
      const id = await started(w, mode);
      const error = errored(w, id);
      swap(w.dst, out.dir);
      writeRandom(path.join(w.src, 'b.bin'), 1024);
      await error;
      untouched(out);
      expect(existsSync(path.join(w.src, 'b.bin'))).toBe(true);
    });

    it('a source folder swapped mid-copy: nothing outside is read or deleted', async () => {
      const out = elsewhere();
      const w = await swappingWorld('src', 'read', out);
      const sum = await bigFileSwapped(w, mode, out);
      // The real source keeps its file; the destination has it only as the source's bytes.
      expect(sha256File(path.join(`${w.src}.real`, 'big.bin'))).toBe(sum);
      const delivered = path.join(w.dst, 'big.bin');
      if (existsSync(delivered)) expect(sha256File(delivered)).toBe(sum);
    });

    it('a destination folder swapped mid-copy: nothing is written outside', async () => {
      const out = elsewhere();
      const w = await swappingWorld('dst', 'read', out);
      const sum = await bigFileSwapped(w, mode, out);
      expect(sha256File(path.join(w.src, 'big.bin'))).toBe(sum);
    });
  });

  it('a source folder swapped just before a move deletes the source: nothing outside is deleted', async () => {
    const out = elsewhere();
    const w = await swappingWorld('src', 'rename', out);
    const sum = await bigFileSwapped(w, 'move', out);
    expect(sha256File(path.join(w.dst, 'big.bin'))).toBe(sum);
    // Verified at the destination, kept at the source: the row resumes once the folder is back.
    expect(sha256File(path.join(`${w.src}.real`, 'big.bin'))).toBe(sum);
  });

  it('a one-off folder move whose source is swapped mid-copy fails without touching outside', async () => {
    const out = elsewhere();
    const w = await swappingWorld('src', 'read', out);
    const sum = writeRandom(path.join(w.src, 'big.bin'), 4096);
    writeFileSync(path.join(w.src, 'secret.bin'), 'the volume’s own secret.bin');
    const created = await w.request('POST', '/transfers', {
      source_path: w.src,
      destination_path: w.dst,
      operation_mode: 'move',
    });
    expect((await w.ended(created.json.id)).status).toBe('failed');
    untouched(out);
    expect(sha256File(path.join(`${w.src}.real`, 'big.bin'))).toBe(sum);
    expect(readFileSync(path.join(`${w.src}.real`, 'secret.bin'), 'utf8')).toMatch(/own/);
  });
});
