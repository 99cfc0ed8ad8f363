/**
 * A watch scan keeps up with big drops: one listing per scan and no query per file. The store is
 * wrapped to count statements; a scan of 2,000 new files must cost what a scan of one costs.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../bus/bus.ts';
import { makeFakeClock } from '../../test/helpers/clock.ts';
import { migratedDb, storeKinds } from '../../test/helpers/stores.ts';
import type { Db, Queryable } from '../db/index.ts';
import { makeLocalStorage, type Storage } from '../storage/index.ts';
import { pinTransferRoots } from './pins.ts';
import { insertTransfer, type TransferRow } from './records.ts';
import { makeWatchScanner } from './watch-scan.ts';
import type { FerryEvents } from '../bus/bus.ts';

/** `db` with every statement counted, inside transactions too. */
function counting(db: Db): { db: Db; statements: () => number } {
  let statements = 0;
  const wrap = (q: Queryable): Queryable => ({
    query: (text, values) => {
      statements += 1;
      return q.query(text, values);
    },
    exec: (script) => {
      statements += 1;
      return q.exec(script);
    },
  });
  return {
    db: { ...db, ...wrap(db), transaction: (fn) => db.transaction((tx) => fn(wrap(tx))) },
    statements: () => statements,
  };
}

describe.each(storeKinds)('watch scans on %s', (kind) => {
  let db: Db;
  let done: () => Promise<void>;
  let root: string;
  const local = makeLocalStorage();
  let listings = 0;
  const source: Storage = {
    ...local,
    list(dir, options) {
      listings += 1;
      return local.list(dir, options);
    },
  };

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'ferry-watch-scan-'));
    const store = await migratedDb(kind);
    db = store.db;
    done = () => store.close();
  });
  afterAll(async () => {
    await done();
    rmSync(root, { recursive: true, force: true });
  });

  /** A watch profile over a fresh folder holding `files` files; settle 0. */
  async function profile(
    name: string,
    files: number,
    onNewVersion: 'transfer' | 'ignore' = 'transfer',
  ): Promise<{ t: TransferRow; src: string }> {
    const src = path.join(root, name, 'src');
    const dst = path.join(root, name, 'dst');
    for (const dir of [src, dst]) mkdirSync(dir, { recursive: true });
    for (let i = 0; i < files; i++) writeFileSync(path.join(src, `f${i}.bin`), `file ${i}`);
    const pins = await pinTransferRoots({
      source_path: src,
      destination_path: dst,
      file_name: null,
    });
    const t = await insertTransfer(db, {
      ...{ owner_user_id: null, source_path: src, destination_path: dst, status: 'active' },
      ...{ operation_mode: 'copy', watch_mode_enabled: true, watch_continuous: true },
      ...{ watch_job_id: null, settle_time_seconds: 0, file_name: null, file_size: null },
      ...{ source_root: pins.source, destination_root: pins.destination },
      options: {
        ...{ checksum_algorithm: 'xxh128', conflict_policy: 'fail', include: [], exclude: [] },
        ...{ temp_patterns: [], recursive: true, poll_interval_seconds: 1 },
        on_new_version: onNewVersion,
      },
    });
    return { t, src };
  }

  async function rows(id: number): Promise<{ relative_path: string; status: string }[]> {
    const { rows: found } = await db.query<{ relative_path: string; status: string }>(
      'SELECT relative_path, status FROM ferry.transfer_files WHERE transfer_id = $1 ORDER BY id',
      [id],
    );
    return found;
  }

  /** One scan of `t` on a counting store: the statements it ran and the files it detected. */
  async function scanOnce(
    scanner: ReturnType<typeof makeWatchScanner>,
    bus: ReturnType<typeof makeBus<FerryEvents>>,
    t: TransferRow,
  ): Promise<{ statements: number; listings: number; detected: number }> {
    const store = counting(db);
    const before = listings;
    let detected = 0;
    const off = bus.on('watch:file-detected', () => (detected += 1));
    try {
      const files = await scanner.list(store.db, t);
      await scanner.claim(store.db, t, files, 'always');
    } finally {
      off();
    }
    return { statements: store.statements(), listings: listings - before, detected };
  }

  function scannerFor(t: TransferRow) {
    const bus = makeBus<FerryEvents>();
    const scanner = makeWatchScanner({ bus, source, clock: makeFakeClock() }, t.id);
    return { bus, scanner };
  }

  it('a scan of 2,000 new files costs one listing and the statements a scan of one costs', async () => {
    const lone = await profile('lone', 1);
    const many = await profile('many', 2000);
    const a = scannerFor(lone.t);
    const b = scannerFor(many.t);
    const one = await scanOnce(a.scanner, a.bus, lone.t);
    const big = await scanOnce(b.scanner, b.bus, many.t);
    expect(one).toEqual({ statements: 1, listings: 1, detected: 1 });
    expect(big).toEqual({ statements: 1, listings: 1, detected: 2000 });
    expect(await rows(many.t.id)).toHaveLength(2000);
    // The next scans find nothing new and ask the store nothing.
    expect(await scanOnce(b.scanner, b.bus, many.t)).toEqual({
      statements: 0,
      listings: 1,
      detected: 0,
    });
  });

  it('a new version of one file among many is claimed in the same one statement, superseding the old', async () => {
    const { t, src } = await profile('versions', 500);
    const { scanner, bus } = scannerFor(t);
    await scanOnce(scanner, bus, t);
    writeFileSync(path.join(src, 'f7.bin'), 'file 7, second version');
    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(src, 'f7.bin'), later, later);
    expect(await scanOnce(scanner, bus, t)).toEqual({ statements: 1, listings: 1, detected: 1 });
    const versions = (await rows(t.id)).filter((r) => r.relative_path === 'f7.bin');
    expect(versions.map((r) => r.status)).toEqual(['skipped', 'detected']);
  });

  it('on_new_version ignore: known paths are filtered in the same statement, and not asked again', async () => {
    const { t, src } = await profile('ignore', 300, 'ignore');
    const first = scannerFor(t);
    await scanOnce(first.scanner, first.bus, t);
    writeFileSync(path.join(src, 'f3.bin'), 'file 3, changed');
    writeFileSync(path.join(src, 'new.bin'), 'a new path');
    // A restarted node remembers nothing: the store says which paths it knows, in one statement.
    const restarted = scannerFor(t);
    expect(await scanOnce(restarted.scanner, restarted.bus, t)).toEqual({
      statements: 1,
      listings: 1,
      detected: 1,
    });
    expect(await scanOnce(restarted.scanner, restarted.bus, t)).toEqual({
      statements: 0,
      listings: 1,
      detected: 0,
    });
    expect((await rows(t.id)).filter((r) => r.relative_path === 'f3.bin')).toHaveLength(1);
  });

  it('while a backlog drains, the source is listed again only once the poll interval has passed', async () => {
    const { t } = await profile('backlog', 3);
    const clock = makeFakeClock();
    const scanner = makeWatchScanner({ bus: makeBus<FerryEvents>(), source, clock }, t.id);
    expect(scanner.due(true, 1000)).toBe(true);
    await scanner.list(db, t);
    expect(scanner.due(false, 1000)).toBe(true);
    expect(scanner.due(true, 1000)).toBe(false);
    clock.advance(999);
    expect(scanner.due(true, 1000)).toBe(false);
    clock.advance(1);
    expect(scanner.due(true, 1000)).toBe(true);
  });
});
