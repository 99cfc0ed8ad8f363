/**
 * The seed scenarios (COPY, MOVE, pause/resume) and the transfer behaviours around them, through
 * the HTTP API of a real Ferry on each store, with real files in a temp volume.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { advanceUntil, makeFakeClock } from '../../test/helpers/clock.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import {
  sha256File,
  useTransferWorlds,
  writeRandom,
  type HistoryJson,
} from '../../test/helpers/transfers.ts';

const KB = 1024;

describe.each(storeKinds)('transfers on %s', (kind) => {
  const startWorld = useTransferWorlds();

  it('COPY: three 50 KB files arrive with matching checksums; sources remain', async () => {
    const w = await startWorld(kind);
    const sums = ['a.bin', 'b.bin', 'c.bin'].map((n) => writeRandom(path.join(w.src, n), 50 * KB));
    chmodSync(path.join(w.src, 'b.bin'), 0o640);
    utimesSync(path.join(w.src, 'c.bin'), 1_000_000, 1_000_000);
    const created = await w.request('POST', '/transfers', {
      source_path: w.src,
      destination_path: w.dst,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      status: 'pending',
      operation_mode: 'copy',
      watch_mode_enabled: false,
    });
    expect(Number.isInteger(created.json.id)).toBe(true);
    const done = await w.finished(created.json.id);
    expect(done).toMatchObject({
      status: 'completed',
      progress_percent: 100,
      bytes_transferred: 150 * KB,
    });
    ['a.bin', 'b.bin', 'c.bin'].forEach((n, i) => {
      expect(sha256File(path.join(w.dst, n))).toBe(sums[i]);
      expect(existsSync(path.join(w.src, n))).toBe(true);
    });
    // mtime and mode are kept.
    expect(statSync(path.join(w.dst, 'b.bin')).mode & 0o777).toBe(0o640);
    expect(statSync(path.join(w.dst, 'c.bin')).mtimeMs).toBe(1_000_000_000);
    const checksums = await w.request('GET', `/api/v1/transfers/${created.json.id}/checksums`);
    expect(checksums.json.algorithm).toBe('xxh128');
    expect(checksums.json.items).toHaveLength(3);
    for (const item of checksums.json.items) {
      expect(item.source_checksum).toMatch(/^[0-9a-f]{32}$/);
      expect(item.destination_checksum).toBe(item.source_checksum);
      expect(item.checksum_match).toBe(true);
    }
  });

  it('MOVE: files arrive verified and the sources are gone, nested folders too', async () => {
    const w = await startWorld(kind);
    const sums = ['a.bin', 'x/b.bin', 'x/y/c.bin'].map((n) =>
      writeRandom(path.join(w.src, n), 50 * KB),
    );
    const created = await w.request('POST', '/api/v1/transfers', {
      source_path: w.src,
      destination_path: w.dst,
      operation_mode: 'move',
    });
    const done = await w.finished(created.json.id);
    expect(done.status).toBe('completed');
    ['a.bin', 'x/b.bin', 'x/y/c.bin'].forEach((n, i) => {
      expect(sha256File(path.join(w.dst, n))).toBe(sums[i]);
      expect(existsSync(path.join(w.src, n))).toBe(false);
    });
    // Only emptied folders go; the source root stays.
    expect(readdirSync(w.src)).toEqual([]);
  });

  it('pause/resume: nothing is detected while paused; the cycle count carries on', async () => {
    const clock = makeFakeClock();
    const w = await startWorld(kind, { transferClock: clock });
    const created = await w.watch();
    expect(created.json).toMatchObject({ status: 'active', watch_continuous: true });
    const id: number = created.json.id;
    const firstTwo = w.collect('watch:file-finished', 2, (e) => e.transferId === id);
    writeRandom(path.join(w.src, '1.bin'), 50 * KB);
    writeRandom(path.join(w.src, '2.bin'), 50 * KB);
    await advanceUntil(clock, firstTwo, 200);

    const ended = w.collect(
      'transfer:status',
      1,
      (s) => s.transferId === id && s.status === 'paused',
    );
    const paused = await w.request('POST', `/transfers/${id}/pause-watch`);
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({
      id,
      status: 'paused',
      watch_continuous: false,
      watch_job_id: null,
    });
    await ended;
    // Pause lets the cycle in flight finish (and count); read the count once its loop ended
    // (a loop poked mid-cycle sees the pause at its next poll).
    expect(await advanceUntil(clock, w.ferry.transfers.supervisor.released(id, 10_000), 200)).toBe(
      true,
    );
    const cyclesAtPause: number = (await w.request('GET', `/transfers/${id}`)).json
      .watch_cycle_count;
    writeRandom(path.join(w.src, '3.bin'), 50 * KB);
    writeRandom(path.join(w.src, '4.bin'), 50 * KB);
    // Ten poll intervals pass: no loop sleeps on the clock to wake, and none scans the profile.
    clock.advance(10 * 200);
    expect(clock.sleeping).toBe(0);
    expect(w.ferry.transfers.supervisor.owned).not.toContain(id);
    const whilePaused = await w.request<HistoryJson>('GET', `/transfers/${id}/watch-history`);
    expect(whilePaused.json.total_files_detected).toBe(2);
    expect(existsSync(path.join(w.dst, '3.bin'))).toBe(false);
    expect((await w.request('GET', `/transfers/${id}`)).json.watch_cycle_count).toBe(cyclesAtPause);

    const lastTwo = w.collect('watch:file-finished', 2, (e) => e.transferId === id);
    const resumed = await w.request('POST', `/transfers/${id}/resume-watch`);
    expect(resumed.json).toMatchObject({
      id,
      status: 'active',
      watch_continuous: true,
      watch_cycle_count: cyclesAtPause,
    });
    expect(resumed.json.watch_job_id).toEqual(expect.any(String));
    await advanceUntil(clock, lastTwo, 200);
    const history = await w.request<HistoryJson>('GET', `/transfers/${id}/watch-history`);
    expect(history.json).toMatchObject({
      transfer_id: id,
      total_files_detected: 4,
      total_files_completed: 4,
      total_files_failed: 0,
    });
    for (const file of history.json.files) {
      expect(file.checksum_match).toBe(true);
      expect(file.destination_checksum).toBe(file.source_checksum);
    }
    // The count carries on from where the pause left it (a cycle counts after its deliveries).
    const [next] = await advanceUntil(
      clock,
      w.collect('watch:cycle', 1, (e) => e.transferId === id),
      200,
    );
    expect(next?.cycle).toBeGreaterThan(cyclesAtPause);
    expect((await w.request('POST', `/transfers/${id}/resume-watch`)).status).toBe(400);
  });

  it('a file written slowly is taken only after it settles, whole', async () => {
    const clock = makeFakeClock();
    const w = await startWorld(kind, { transferClock: clock });
    const created = await w.watch({ settle_time_seconds: 1 });
    const id: number = created.json.id;
    const finishedFile = w.collect('watch:file-finished', 1, (e) => e.transferId === id);
    const file = path.join(w.src, 'slow.bin');
    // Ten appends 300 ms apart (each step wakes the poll): the file keeps changing for 3 s,
    // longer than the settle time, so no scan in between may take it.
    await clock.asleep();
    for (let i = 0; i < 10; i += 1) {
      writeFileSync(file, Buffer.alloc(10 * KB, i), { flag: 'a' });
      clock.advance(300);
      await clock.asleep(); // the scan it woke has finished
      expect(existsSync(path.join(w.dst, 'slow.bin'))).toBe(false);
    }
    await advanceUntil(clock, finishedFile, 300);
    expect(sha256File(path.join(w.dst, 'slow.bin'))).toBe(sha256File(file));
    const history = await w.request<HistoryJson>('GET', `/transfers/${id}/watch-history`);
    expect(history.json.total_files_detected).toBe(1);
  });

  it('destination conflicts follow the chosen policy', async () => {
    const w = await startWorld(kind);
    const source = path.join(w.src, 'f.bin');
    writeRandom(source, 10 * KB);
    writeFileSync(path.join(w.dst, 'f.bin'), 'older');
    const run = async (conflict_policy: string) => {
      const created = await w.request('POST', '/transfers', {
        source_path: source,
        destination_path: w.dst,
        conflict_policy,
      });
      return w.finished(created.json.id);
    };
    const failed = await run('fail');
    expect(failed.status).toBe('failed');
    expect(failed.error_message).toMatch(/already exists/);
    const renamed = await run('rename');
    expect(renamed.status).toBe('completed');
    expect(sha256File(path.join(w.dst, 'f (1).bin'))).toBe(sha256File(source));
    const overwritten = await run('overwrite');
    expect(overwritten.status).toBe('completed');
    expect(sha256File(path.join(w.dst, 'f.bin'))).toBe(sha256File(source));
    const skipped = await run('skip_if_identical');
    expect(skipped.status).toBe('completed');
    const files = (await w.request<HistoryJson>('GET', `/transfers/${skipped.id}/watch-history`))
      .json.files;
    expect(files[0]?.status).toBe('skipped');
    // No temp file is ever left behind.
    expect(readdirSync(w.dst).sort()).toEqual(['f (1).bin', 'f.bin']);
  });

  it('a destination Ferry may not write to fails with permission denied and leaves nothing', async () => {
    const w = await startWorld(kind);
    writeRandom(path.join(w.src, 'f.bin'), 10 * KB);
    const locked = path.join(w.dst, 'locked');
    mkdirSync(locked);
    const { execFileSync } = await import('node:child_process');
    // Tests run as root, which ignores mode bits; the immutable flag binds root too.
    execFileSync('chattr', ['+i', locked]);
    try {
      const created = await w.request('POST', '/transfers', {
        source_path: path.join(w.src, 'f.bin'),
        destination_path: locked,
      });
      const done = await w.finished(created.json.id);
      expect(done.status).toBe('failed');
      expect(done.error_message).toMatch(/permission_denied/);
      const history = (
        await w.request<HistoryJson>('GET', `/transfers/${created.json.id}/watch-history`)
      ).json;
      expect(history.files[0]).toMatchObject({
        status: 'failed',
        error_code: 'FERRY_ERR_STORAGE',
        attempts: 1,
      });
      expect(readdirSync(locked)).toEqual([]);
    } finally {
      execFileSync('chattr', ['-i', locked]);
    }
  });

  it('refuses every path outside the volumes', async () => {
    const w = await startWorld(kind);
    symlinkSync('/etc', path.join(w.src, 'escape'));
    const corpus = [
      '/etc/passwd',
      `${w.src}/../../../etc`,
      `${w.src}/%2e%2e/%2e%2e/etc`,
      `${w.src}/%2E%2E%2Fetc`,
      `${w.src}/..%2fetc`,
      `${w.src}\\..\\..\\etc`,
      `${w.src}/a\u0000b`,
      `${w.src}/a\nb`,
      `${w.src}/escape`,
      `${w.src}/escape/passwd`,
      'relative/path',
      `${w.volume}-sibling/x`,
      '/',
    ];
    for (const bad of corpus) {
      for (const body of [
        { source_path: bad, destination_path: w.dst },
        { source_path: w.src, destination_path: bad },
      ]) {
        const response = await w.request('POST', '/transfers', body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(response.json.code, JSON.stringify(body)).toBe('FERRY_ERR_PATH_OUTSIDE_VOLUMES');
      }
    }
    symlinkSync(path.join(w.src, 'loop'), path.join(w.src, 'loop'));
    for (const bad of [`${w.src}/loop/x`, `${w.src}/${'n'.repeat(300)}/x`]) {
      const response = await w.request('POST', '/transfers', {
        source_path: bad,
        destination_path: w.dst,
      });
      expect(response.json.code, bad).toBe('FERRY_ERR_PATH_OUTSIDE_VOLUMES');
    }
    writeRandom(path.join(w.src, 'f.bin'), 10);
    for (const target_name of ['..', '.', 'a/b']) {
      const named = await w.request('POST', '/transfers', {
        source_path: path.join(w.src, 'f.bin'),
        destination_path: w.dst,
        target_name,
      });
      expect(named.status, target_name).toBeOneOf([400, 422]);
    }
    expect((await w.request('GET', '/api/v1/transfers')).json.total).toBe(0);
  });

  it('refuses a file onto itself and a bad glob; a symlinked folder cannot carry files out', async () => {
    const w = await startWorld(kind);
    writeRandom(path.join(w.src, 'f.bin'), 10);
    const onto = await w.request('POST', '/transfers', {
      source_path: path.join(w.src, 'f.bin'),
      destination_path: w.src,
      operation_mode: 'move',
      conflict_policy: 'overwrite',
    });
    expect(onto).toMatchObject({ status: 400, json: { code: 'FERRY_ERR_BAD_REQUEST' } });
    const glob = await w.request('POST', '/transfers', {
      source_path: w.src,
      destination_path: w.dst,
      include: ['[z-a]'],
    });
    expect(glob).toMatchObject({ status: 422, json: { code: 'FERRY_ERR_VALIDATION' } });

    const outside = path.join(w.volume, '..', `outside-${path.basename(w.volume)}`);
    mkdirSync(outside);
    try {
      writeRandom(path.join(w.src, 'tree/sub/x.bin'), 10);
      // A folder inside the destination is a link leading out (the root checks at creation
      // cannot see it; the check before each write does).
      symlinkSync(outside, path.join(w.dst, 'sub'));
      const created = await w.request('POST', '/transfers', {
        source_path: path.join(w.src, 'tree'),
        destination_path: w.dst,
      });
      await w.collect(
        'transfer:status',
        1,
        (e) => e.transferId === created.json.id && ['completed', 'failed'].includes(e.status),
      );
      const done = (await w.request('GET', `/transfers/${created.json.id}`)).json;
      expect(done.status).toBe('failed');
      // The pinned destination is reached folder by folder with O_NOFOLLOW: the link is refused.
      expect(done.error_message).toMatch(/a symlink is never followed/);
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('answers the API contract: 400 missing source, 404, 422, list, delete, cancel, logs, reports', async () => {
    const w = await startWorld(kind);
    const missing = await w.request('POST', '/transfers', {
      source_path: path.join(w.src, 'nope'),
      destination_path: w.dst,
    });
    expect(missing).toMatchObject({ status: 400, json: { code: 'FERRY_ERR_SOURCE_NOT_FOUND' } });
    expect((await w.request('GET', '/transfers/999')).json).toEqual({
      detail: 'Transfer with ID 999 not found',
      code: 'FERRY_ERR_TRANSFER_NOT_FOUND',
      retryable: false,
    });
    const invalid = await w.request('POST', '/transfers', {
      source_path: w.src,
      destination_path: w.dst,
      settle_time_seconds: -1,
    });
    expect(invalid.status).toBe(422);
    writeRandom(path.join(w.src, 'r.bin'), KB);
    const created = await w.request('POST', '/transfers', {
      source_path: path.join(w.src, 'r.bin'),
      destination_path: w.dst,
      checksum_algorithm: 'sha256',
    });
    expect(created.json).toMatchObject({ file_name: 'r.bin', file_size: KB });
    await w.finished(created.json.id);
    const id: number = created.json.id;
    const list = await w.request('GET', '/transfers?status=completed&limit=10');
    expect(list.json).toMatchObject({ total: 1, items: [{ id, status: 'completed' }] });
    expect((await w.request('POST', `/transfers/${id}/cancel`)).status).toBe(400);
    expect((await w.request('POST', `/transfers/${id}/pause-watch`)).status).toBe(400);
    const logs = (await w.request('GET', `/transfers/${id}/logs`)).json;
    expect(logs.items.map((l) => l.event)).toEqual([
      'transfer.created',
      'transfer.claimed',
      'file.completed',
      'transfer.completed',
    ]);
    const json = (await w.request<HistoryJson>('GET', `/transfers/${id}/report?format=json`)).json;
    expect(json.files[0]?.source_checksum).toBe(sha256File(path.join(w.src, 'r.bin')));
    const http = w.ferry.http;
    const csv = await http?.inject({ method: 'GET', url: `/transfers/${id}/report?format=csv` });
    expect(csv?.headers['content-type']).toMatch(/text\/csv/);
    expect(csv?.body.split('\r\n')[1]).toContain(sha256File(path.join(w.src, 'r.bin')));
    const pdf = await http?.inject({ method: 'GET', url: `/transfers/${id}/report?format=pdf` });
    expect(pdf?.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    expect((await w.request('DELETE', `/transfers/${id}`)).status).toBe(204);
    expect((await w.request('GET', `/transfers/${id}`)).status).toBe(404);
    const volumes = await w.request('GET', '/volumes');
    expect(volumes.json).toEqual([{ path: w.volume, alias: null, description: null }]);
  });
});
