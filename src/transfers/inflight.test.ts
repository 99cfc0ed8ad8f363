/**
 * Issue 10, items 7 and 8: files in flight. One row per path (a newer version supersedes an
 * older row still open), the rename policy after a crash between rename and bookkeeping, and a
 * watch profile deleted while a file is in flight.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { storeKinds } from '../../test/helpers/stores.ts';
import {
  sha256File,
  useTransferWorlds,
  writeRandom,
  type HistoryJson,
} from '../../test/helpers/transfers.ts';
import { makeLocalStorage, StorageError, type Storage } from '../storage/index.ts';

/** Local storage whose first rename to a `name (n)` target succeeds and then reports a failure. */
function failingAfterRename(): Storage {
  const local = makeLocalStorage();
  let failed = false;
  return {
    ...local,
    async rename(from, to, options) {
      await local.rename(from, to, options);
      if (!failed && / \(\d+\)/.test(path.basename(to))) {
        failed = true;
        // As if the process died here: renamed, nothing recorded after it.
        throw new StorageError('io', to, 'EIO: lost after the rename');
      }
    },
  };
}

/** Local storage whose reads of `name` wait until `gate.open()`; `gate.reading` says one began. */
function gated(name: string) {
  const local = makeLocalStorage();
  let open: () => void = () => undefined;
  let began: () => void = () => undefined;
  const gate = {
    opened: new Promise<void>((resolve) => (open = resolve)),
    reading: new Promise<void>((resolve) => (began = resolve)),
    open: () => {
      open();
    },
  };
  const storage: Storage = {
    ...local,
    async *read(file, options) {
      if (path.basename(file) === name) {
        began();
        await gate.opened;
      }
      yield* local.read(file, options);
    },
  };
  return { storage, gate };
}

describe.each(storeKinds)('files in flight on %s', (kind) => {
  const startWorld = useTransferWorlds();

  it('rename policy: a failure between rename and bookkeeping leaves no second copy', async () => {
    const w = await startWorld(kind, {
      transferStorage: { destination: failingAfterRename() },
    });
    writeFileSync(path.join(w.dst, 'x.txt'), 'already there');
    const sum = writeRandom(path.join(w.src, 'x.txt'), 2048);
    const created = await w.request('POST', '/transfers', {
      source_path: path.join(w.src, 'x.txt'),
      destination_path: w.dst,
      conflict_policy: 'rename',
    });
    const end = await w.ended(created.json.id);
    expect(end.status).toBe('completed');
    expect(readdirSync(w.dst).sort()).toEqual(['x (1).txt', 'x.txt']);
    expect(sha256File(path.join(w.dst, 'x (1).txt'))).toBe(sum);
  });

  it('a newer version supersedes an older row left open: one delivery, no failure', async () => {
    const w = await startWorld(kind);
    const id: number = (await w.watch()).json.id;
    const paused = w.collect('transfer:status', 1, (s) => s.transferId === id);
    await w.request('POST', `/transfers/${id}/pause-watch`);
    await paused;
    // A row for an older version of r.bin, left `transferring` by a crash.
    await w.ferry.store.db.query(
      `INSERT INTO ferry.transfer_files (transfer_id, relative_path, file_size, source_mtime_ms, status, algorithm)
       VALUES ($1, 'r.bin', 5, 1, 'transferring', 'xxh128')`,
      [id],
    );
    const sum = writeRandom(path.join(w.src, 'r.bin'), 4096);
    const finished = w.collect('watch:file-finished', 1, (e) => e.transferId === id);
    await w.request('POST', `/transfers/${id}/resume-watch`);
    expect((await finished)[0]?.ok).toBe(true);
    expect(sha256File(path.join(w.dst, 'r.bin'))).toBe(sum);
    const history = (await w.request<HistoryJson>('GET', `/transfers/${id}/watch-history`)).json;
    expect(history.files.map((f) => f.status).sort()).toEqual(['completed', 'skipped']);
    expect(history.total_files_failed).toBe(0);
    // The older row ends as superseded; the newer one records what was delivered.
    const rows = history.files as unknown as {
      status: string;
      file_size: number;
      error_message: string | null;
    }[];
    expect(rows.find((f) => f.status === 'skipped')?.error_message).toMatch(/superseded/);
    expect(rows.find((f) => f.status === 'completed')?.file_size).toBe(4096);
    const t = (await w.request('GET', `/transfers/${id}`)).json;
    expect(t.status).toBe('active');
  });

  it('deleting a watch profile waits until the file in flight is finished', async () => {
    const { storage, gate } = gated('slow.bin');
    const w = await startWorld(kind, { transferStorage: { source: storage } });
    const id: number = (await w.watch()).json.id;
    const sum = writeRandom(path.join(w.src, 'slow.bin'), 4096);
    await gate.reading;
    const stopping = w.collect(
      'transfer:status',
      1,
      (s) => s.transferId === id && s.status === 'cancelled',
    );
    const finished = w.collect('watch:file-finished', 1, (e) => e.transferId === id);
    const order: string[] = [];
    const deleted = w.request('DELETE', `/transfers/${id}`).then((r) => {
      order.push('deleted');
      return r;
    });
    void finished.then(() => order.push('finished'));
    await stopping;
    expect(order).toEqual([]);
    gate.open();
    expect((await deleted).status).toBe(204);
    expect(order).toEqual(['finished', 'deleted']);
    expect(w.ferry.transfers.supervisor.owned).not.toContain(id);
    expect(readdirSync(w.dst)).toEqual(['slow.bin']);
    expect(sha256File(path.join(w.dst, 'slow.bin'))).toBe(sum);
  });

  it('a delete that outwaits delete_wait_seconds is refused with 409; the file still finishes', async () => {
    const { storage, gate } = gated('slow.bin');
    const w = await startWorld(
      kind,
      { transferStorage: { source: storage } },
      { FERRY_TRANSFERS_DELETE_WAIT_SECONDS: '0' },
    );
    const id = (await w.watch()).json.id;
    const sum = writeRandom(path.join(w.src, 'slow.bin'), 4096);
    await gate.reading;
    const refused = await w.request<{ code: string }>('DELETE', `/api/v1/transfers/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.json.code).toBe('FERRY_ERR_WATCH_STOPPING');
    // Stopped, not deleted: it takes no new file, and the one in flight is delivered and recorded.
    const t = await w.request<{ status: string }>('GET', `/api/v1/transfers/${id}`);
    expect(t.json.status).toBe('cancelled');
    const finished = w.collect('watch:file-finished', 1, (e) => e.transferId === id);
    gate.open();
    expect((await finished)[0]?.ok).toBe(true);
    const history = (await w.request<HistoryJson>('GET', `/transfers/${id}/watch-history`)).json;
    expect(history.files.map((f) => f.status)).toEqual(['completed']);
    expect(sha256File(path.join(w.dst, 'slow.bin'))).toBe(sum);
    // Nothing in flight now: the same DELETE succeeds once the loop has let go.
    expect(await w.ferry.transfers.supervisor.released(id, 30_000)).toBe(true);
    expect((await w.request('DELETE', `/api/v1/transfers/${id}`)).status).toBe(204);
  });

  it('a watch loop whose lease was taken cannot record its file: every write is fenced', async () => {
    const { storage, gate } = gated('slow.bin');
    const w = await startWorld(kind, { transferStorage: { source: storage } });
    const id = (await w.watch()).json.id;
    writeRandom(path.join(w.src, 'slow.bin'), 4096);
    await gate.reading;
    const files = () =>
      w.ferry.store.db.query<{ status: string; source_checksum: string | null }>(
        'SELECT status, source_checksum FROM ferry.transfer_files WHERE transfer_id = $1',
        [id],
      );
    const before = (await files()).rows;
    // Another holder takes the lease (as a node would after this one seemed dead).
    const lost = new Promise<void>((resolve) => {
      w.ferry.bus.on('lease:lost', (e) => {
        if (e.name === `watch:${String(id)}`) resolve();
      });
    });
    await w.ferry.store.db.query(
      `UPDATE ferry.leases SET holder = 'another node', token = token + 1,
         expires_at = now() + interval '1 hour' WHERE name = $1`,
      [`watch:${String(id)}`],
    );
    gate.open();
    await lost;
    // The loop ends (its delivery's write was refused); no event says so, the supervisor does.
    await vi.waitFor(
      () => {
        expect(w.ferry.transfers.supervisor.owned).not.toContain(id);
      },
      { timeout: 30_000, interval: 50 },
    );
    // The stale loop read the whole file, but recorded nothing after losing the lease.
    expect((await files()).rows).toEqual(before);
    expect(readdirSync(w.dst)).not.toContain('slow.bin');
  });
});
