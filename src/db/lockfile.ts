import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { FerryError } from '../errors/index.ts';

// Lock files this process holds: a lock naming our own pid is ours only if listed here
// (after a container restart a new process often gets the dead one's pid).
const heldHere = new Set<string>();

/** A held data-directory lock; `release()` is idempotent. */
export interface DataDirLock {
  readonly file: string;
  release(): void;
}

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/**
 * PGlite has no data-directory lock of its own and two processes on one directory corrupt it.
 * Ferry creates `ferry.lock` exclusively; a lock left by a dead process (same host, pid gone)
 * is taken over, anything else is refused with FERRY_ERR_DATA_DIR_LOCKED.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'ferry.lock');
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  // The lock appears complete or not at all: written to a private name, then hard-linked into
  // place (link fails if the lock exists, so exactly one of two racing starters wins).
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, JSON.stringify(info));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(draft, file);
        heldHere.add(file);
        return heldLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = readLock(file);
        if (holder && isAlive(holder, file)) {
          throw new FerryError('FERRY_ERR_DATA_DIR_LOCKED', {
            dataDir,
            pid: holder.pid,
            lockFile: file,
          });
        }
        takeOverStale(file, holder);
      }
    }
    throw new FerryError('FERRY_ERR_DATA_DIR_LOCKED', { dataDir, pid: 'unknown', lockFile: file });
  } finally {
    rmSync(draft, { force: true });
  }
}

function heldLock(file: string): DataDirLock {
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(file);
      rmSync(file, { force: true });
    },
  };
}

/**
 * Moves a stale lock aside, then checks that what moved is the lock judged stale: if another
 * starter replaced it meanwhile, its fresh lock is put back instead of being deleted.
 */
function takeOverStale(file: string, judged: LockInfo | undefined): void {
  const aside = `${file}.stale.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readLock(aside);
  if (judged && moved && (moved.pid !== judged.pid || moved.started !== judged.started)) {
    try {
      linkSync(aside, file);
    } catch {
      // Someone took the lock in between; theirs stands.
    }
  }
  rmSync(aside, { force: true });
}

function readLock(file: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined; // Unreadable or half-written: treated as stale.
  }
}

function isAlive(holder: LockInfo, file: string): boolean {
  if (holder.host !== hostname()) return true; // Cannot check another machine: assume alive.
  if (holder.pid === process.pid) return heldHere.has(file);
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
