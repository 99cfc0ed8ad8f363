import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/stores.ts';
import { lockDataDir } from './lockfile.ts';

describe('data-dir lock', () => {
  const dirs: (() => void)[] = [];
  afterEach(() => {
    for (const remove of dirs.splice(0)) remove();
  });
  function dir(): string {
    const d = tempDir();
    dirs.push(d.remove);
    return d.dir;
  }

  it('refuses a second holder in the same process until released', () => {
    const dataDir = dir();
    const lock = lockDataDir(dataDir);
    expect(() => lockDataDir(dataDir)).toThrow(
      expect.objectContaining({ code: 'FERRY_ERR_DATA_DIR_LOCKED' }),
    );
    lock.release();
    lockDataDir(dataDir).release();
  });

  it('takes over a lock left by a dead process, even one that had our pid', () => {
    const dataDir = dir();
    const file = path.join(dataDir, 'ferry.lock');
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), started: 'earlier' }));
    const lock = lockDataDir(dataDir);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), started: 'earlier' }));
    lockDataDir(dataDir).release();
  });

  it('treats a lock from another host as held', () => {
    const dataDir = dir();
    writeFileSync(
      path.join(dataDir, 'ferry.lock'),
      JSON.stringify({ pid: 1, host: 'elsewhere', started: 'x' }),
    );
    expect(() => lockDataDir(dataDir)).toThrow(/in use by another Ferry process \(pid 1\)/);
  });
});
