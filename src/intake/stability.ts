/**
 * When a file is complete enough to take. Ferry decides this itself and never trusts a watcher's
 * "write finished": a file is stable when its size and times stop changing (settle time), when it
 * is old enough (minimum age), or when N readings in a row agree (samples).
 */
import type { FileInfo } from '../storage/index.ts';

/** The three stability policies intake supports. */
export type StabilityPolicy =
  | { kind: 'settle'; seconds: number }
  | { kind: 'min_age'; seconds: number }
  | { kind: 'samples'; count: number; intervalMs: number };

/** True when now − max(mtime, ctime) ≥ the minimum age. */
export function isOldEnough(file: FileInfo, nowMs: number, minAgeSeconds: number): boolean {
  return nowMs - Math.max(file.mtimeMs, file.ctimeMs) >= minAgeSeconds * 1000;
}

function sameReading(a: FileInfo, b: FileInfo): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/**
 * Remembers what each path looked like across scans and since when it has not changed. Used by
 * continuous watch profiles, which scan every few seconds.
 */
export interface SettleTracker {
  /** Feeds one scan's listing; returns the files that have been unchanged for the settle time. */
  observe(files: readonly FileInfo[]): FileInfo[];
  /** Forgets a path (taken, or gone). */
  forget(path: string): void;
  /** Paths currently waiting to settle. */
  readonly waiting: number;
}

/** A settle tracker; `settleSeconds` 0 takes a file on first sighting (for rename-into-place writers). */
export function makeSettleTracker(settleSeconds: number, now: () => number): SettleTracker {
  const seen = new Map<string, { reading: FileInfo; since: number }>();
  return {
    observe(files) {
      const t = now();
      const stable: FileInfo[] = [];
      const present = new Set<string>();
      for (const file of files) {
        present.add(file.path);
        const previous = seen.get(file.path);
        if (!previous || !sameReading(previous.reading, file)) {
          seen.set(file.path, { reading: file, since: t });
          if (settleSeconds === 0) stable.push(file);
          continue;
        }
        if (t - previous.since >= settleSeconds * 1000) stable.push(file);
      }
      for (const key of seen.keys()) if (!present.has(key)) seen.delete(key);
      return stable;
    },
    forget(path) {
      seen.delete(path);
    },
    get waiting() {
      return seen.size;
    },
  };
}

/**
 * Takes `count` readings `intervalMs` apart; stable when all agree. Returns the last reading, or
 * undefined when the file changed or vanished. Used by pipeline runs, which look only once.
 */
export async function sampleStable(
  stat: (path: string) => Promise<FileInfo | undefined>,
  first: FileInfo,
  policy: { count: number; intervalMs: number },
  sleep: (ms: number) => Promise<void>,
): Promise<FileInfo | undefined> {
  let last = first;
  for (let i = 1; i < policy.count; i += 1) {
    await sleep(policy.intervalMs);
    const next = await stat(first.path);
    if (!next || !sameReading(last, next)) return undefined;
    last = next;
  }
  return last;
}
