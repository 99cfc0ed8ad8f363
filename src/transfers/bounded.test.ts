import { describe, expect, it } from 'vitest';
import { forEachBounded } from './bounded.ts';

/** A task per item that stays open until released, counting how many run at once. */
function gated() {
  const state = { running: 0, most: 0, done: [] as number[] };
  const gates = new Map<number, () => void>();
  const each = async (n: number) => {
    state.running++;
    state.most = Math.max(state.most, state.running);
    await new Promise<void>((resolve) => gates.set(n, resolve));
    state.running--;
    state.done.push(n);
  };
  /** Releases every task started so far, until `count` have finished. */
  async function releaseUntil(count: number): Promise<void> {
    while (state.done.length < count) {
      for (const [n, open] of gates) {
        gates.delete(n);
        open();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { state, each, releaseUntil };
}

describe('forEachBounded', () => {
  it('runs at most `limit` at once and every item exactly once', async () => {
    const { state, each, releaseUntil } = gated();
    const items = Array.from({ length: 10 }, (_, i) => i);
    const all = forEachBounded(items, 3, each);
    await releaseUntil(10);
    await all;
    expect(state.most).toBe(3);
    expect([...state.done].sort((a, b) => a - b)).toEqual(items);
  });

  it('takes no new item once told to stop, and waits for those in flight', async () => {
    const { state, each, releaseUntil } = gated();
    let stop = false;
    const all = forEachBounded([1, 2, 3, 4, 5, 6], 2, each, () => stop);
    await new Promise((resolve) => setImmediate(resolve));
    stop = true;
    await releaseUntil(2);
    await all;
    expect(state.done.sort()).toEqual([1, 2]);
    expect(state.running).toBe(0);
  });

  it('rethrows the first failure only after every worker ended', async () => {
    const ended: number[] = [];
    const run = forEachBounded([1, 2, 3], 3, async (n) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (n === 1) throw new Error('disk full');
      ended.push(n);
    });
    await expect(run).rejects.toThrow('disk full');
    expect(ended.sort()).toEqual([2, 3]);
  });
});
