/**
 * Watch-profile behaviours beyond the seed scenarios: new versions, the error state, watch-once,
 * nested folders and temp names, and one owner across nodes.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFerry, type Ferry } from '../app/index.ts';
import { makeLocalStorage, type Storage } from '../storage/index.ts';
import { advanceUntil, makeFakeClock } from '../../test/helpers/clock.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import {
  sha256File,
  useTransferWorlds,
  writeRandom,
  type HistoryJson,
} from '../../test/helpers/transfers.ts';

describe.each(storeKinds)('watch profiles on %s', (kind) => {
  const startWorld = useTransferWorlds();
  const extra: Ferry[] = [];
  afterEach(async () => {
    for (const f of extra.splice(0)) await f.stop();
  });

  it('a file that reappears with new content is a new version and is transferred again', async () => {
    const w = await startWorld(kind);
    const id = (await w.watch()).json.id;
    const file = path.join(w.src, 'report.csv');
    const first = w.collect('watch:file-finished', 1, (e) => e.transferId === id);
    writeFileSync(file, 'version 1\n');
    await first;
    const second = w.collect('watch:file-finished', 1, (e) => e.transferId === id);
    writeFileSync(file, 'version 2, longer\n');
    await second;
    expect(readFileSync(path.join(w.dst, 'report.csv'), 'utf8')).toBe('version 2, longer\n');
    const history = (await w.request<HistoryJson>('GET', `/transfers/${id}/watch-history`)).json;
    expect(history).toMatchObject({ total_files_detected: 2, total_files_completed: 2 });
  });

  it('nested folders are preserved and temp names are left alone', async () => {
    const w = await startWorld(kind);
    const id = (await w.watch()).json.id;
    const done = w.collect('watch:file-finished', 2, (e) => e.transferId === id);
    for (const temp of ['.hidden', '~$lock.xlsx', 'a.part', 'b.tmp', 'c.crdownload']) {
      writeFileSync(path.join(w.src, temp), 'partial');
    }
    const a = writeRandom(path.join(w.src, 'day1/cam-a/clip.mov'), 4096);
    const b = writeRandom(path.join(w.src, 'day1/clip.mov'), 4096);
    await done;
    expect(sha256File(path.join(w.dst, 'day1/cam-a/clip.mov'))).toBe(a);
    expect(sha256File(path.join(w.dst, 'day1/clip.mov'))).toBe(b);
    const history = (await w.request<HistoryJson>('GET', `/transfers/${id}/watch-history`)).json;
    expect(history.total_files_detected).toBe(2);
  });

  it('repeated failures put the profile in error with the reason instead of spinning', async () => {
    const w = await startWorld(kind, {}, { FERRY_TRANSFERS_FAILURE_LIMIT: '3' });
    const id = (await w.watch()).json.id;
    const errored = w.collect(
      'transfer:status',
      1,
      (s) => s.transferId === id && s.status === 'error',
    );
    rmSync(w.src, { recursive: true });
    await errored;
    const t = (await w.request('GET', `/transfers/${id}`)).json;
    expect(t.status).toBe('error');
    expect(t.error_message).toMatch(/3 consecutive failures: scan failed/);
    // Resume is how an operator retries once the cause is fixed.
    mkdirSync(w.src);
    const resumed = await w.request('POST', `/transfers/${id}/resume-watch`);
    expect(resumed.json).toMatchObject({ status: 'active' });
  });

  it('a stop that comes mid-cycle ends the loop without waiting out the poll', async () => {
    // On a fake clock a poll never ends by itself: a loop that went to sleep after its stop
    // keeps the stop waiting forever (CI saw a test's cleanup hang 60 s on this).
    const local = makeLocalStorage();
    const scans = { count: 0, release: () => {} };
    let held: () => void = () => {};
    const holding = new Promise(
      (resolve) =>
        (held = () => {
          resolve(true);
        }),
    );
    const source: Storage = {
      ...local,
      async list(dir, options) {
        scans.count += 1;
        if (scans.count === 2) {
          // The second scan waits: the stop arrives while this cycle runs.
          const gate = new Promise<void>((resolve) => (scans.release = resolve));
          held();
          await gate;
        }
        return local.list(dir, options);
      },
    };
    const clock = makeFakeClock();
    const w = await startWorld(kind, { transferClock: clock, transferStorage: { source } });
    await w.watch({ poll_interval_seconds: 3600 });
    await clock.asleep();
    clock.advance(3600 * 1000);
    await holding;
    const stopping = w.ferry.transfers.supervisor.stop();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the stop reaches the loop
    scans.release();
    const outcome = await Promise.race([
      stopping.then(() => 'stopped'),
      new Promise((resolve) => setTimeout(resolve, 10_000, 'still waiting')),
    ]);
    expect(outcome).toBe('stopped');
  });

  it('watch-once waits for the whole source to be stable, transfers it once, then completes', async () => {
    const clock = makeFakeClock();
    const w = await startWorld(kind, { transferClock: clock });
    writeRandom(path.join(w.src, 'a.bin'), 1024);
    writeRandom(path.join(w.src, 'b/c.bin'), 1024);
    const created = await w.watch({ watch_continuous: false, settle_time_seconds: 1 });
    expect(created.json.watch_continuous).toBe(false);
    const completed = w.collect(
      'transfer:status',
      1,
      (s) => s.transferId === created.json.id && s.status === 'completed',
    );
    // Nothing is taken before the settle time has passed on the profile's clock.
    await clock.asleep();
    clock.advance(900);
    await clock.asleep();
    expect(
      (await w.request<HistoryJson>('GET', `/transfers/${created.json.id}/watch-history`)).json
        .total_files_detected,
    ).toBe(0);
    await advanceUntil(clock, completed, 200);
    const history = (
      await w.request<HistoryJson>('GET', `/transfers/${created.json.id}/watch-history`)
    ).json;
    expect(history).toMatchObject({ total_files_detected: 2, total_files_completed: 2 });
  });

  it.runIf(kind === 'postgres')(
    'two nodes on one store: one scans a profile; the other takes over when it stops',
    async () => {
      const w = await startWorld(kind);
      const second = makeFerry(w.env.config);
      extra.push(second);
      await second.start();
      const id = (await w.watch()).json.id;
      /** Resolves when either node reports `name` delivered for this profile. */
      const deliveredOnEither = (name: string) =>
        new Promise<void>((resolve) => {
          for (const f of [w.ferry, second]) {
            f.bus.on('watch:file-finished', (e) => {
              if (e.transferId === id && e.path === name) resolve();
            });
          }
        });
      const firstFile = deliveredOnEither('one.bin');
      writeRandom(path.join(w.src, 'one.bin'), 1024);
      await firstFile;
      const owners = [w.ferry, second].filter((f) => f.transfers.supervisor.owned.includes(id));
      expect(owners).toHaveLength(1);
      const [owner] = owners;
      const other = owner === w.ferry ? second : w.ferry;
      const takenOver = new Promise<void>((resolve) => {
        other.bus.on('watch:file-finished', (e) => {
          if (e.transferId === id && e.path === 'two.bin') resolve();
        });
      });
      await owner?.stop();
      writeRandom(path.join(w.src, 'two.bin'), 1024);
      await takenOver;
      expect(other.transfers.supervisor.owned).toEqual([id]);
    },
  );
});
