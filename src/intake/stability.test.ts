import { describe, expect, it } from 'vitest';
import type { FileInfo } from '../storage/index.ts';
import { isOldEnough, makeSettleTracker, sampleStable } from './stability.ts';

const file = (size: number, mtimeMs: number, path = '/in/a'): FileInfo => ({
  path,
  size,
  mtimeMs,
  ctimeMs: mtimeMs,
  kind: 'file',
});

describe('settle tracker', () => {
  it('takes a file only after size and mtime stay unchanged for the settle time', () => {
    let t = 0;
    const tracker = makeSettleTracker(5, () => t);
    expect(tracker.observe([file(10, 1)])).toEqual([]);
    t = 3000;
    expect(tracker.observe([file(20, 2)])).toEqual([]); // still growing: the clock restarts
    t = 7000;
    expect(tracker.observe([file(20, 2)])).toEqual([]); // 4 s unchanged
    t = 8000;
    expect(tracker.observe([file(20, 2)])).toHaveLength(1);
  });

  it('settle 0 takes a file on first sighting; vanished files are forgotten', () => {
    const tracker = makeSettleTracker(0, () => 0);
    expect(tracker.observe([file(1, 1)])).toHaveLength(1);
    expect(tracker.observe([])).toEqual([]);
    expect(tracker.waiting).toBe(0);
  });
});

describe('minimum age and samples', () => {
  it('minimum age counts from the later of mtime and ctime', () => {
    const f = { ...file(1, 1000), ctimeMs: 5000 };
    expect(isOldEnough(f, 14_999, 10)).toBe(false);
    expect(isOldEnough(f, 15_000, 10)).toBe(true);
  });

  it('samples: all readings must agree', async () => {
    const readings = [file(5, 1), file(5, 1), file(6, 2)];
    let i = 0;
    const stat = () => Promise.resolve(readings[i++]);
    const sleep = () => Promise.resolve();
    expect(await sampleStable(stat, file(5, 1), { count: 3, intervalMs: 10 }, sleep)).toBeDefined();
    i = 1;
    expect(
      await sampleStable(stat, file(5, 1), { count: 3, intervalMs: 10 }, sleep),
    ).toBeUndefined();
  });
});
