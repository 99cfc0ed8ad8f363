/** How many files of a batch are delivered at once. */
import { describe, expect, it } from 'vitest';
import { parallelismFor } from './deliver-batch.ts';
import type { Item } from './deliver-steps.ts';

/** An item of `size` bytes (only the size matters here). */
const item = (size: number) => ({ row: { file_size: size } }) as unknown as Item;

describe('files delivered at once', () => {
  it('raises the bound for a batch of small files, keeps it otherwise', () => {
    const small = [item(50 * 1024), item(1024 * 1024)];
    expect(parallelismFor(4, small, true)).toBe(16);
    expect(parallelismFor(32, small, true)).toBe(64);
    expect(parallelismFor(4, [...small, item(1024 * 1024 + 1)], true)).toBe(4);
    // To or from a server: the configured bound.
    expect(parallelismFor(4, small, false)).toBe(4);
    // One at a time stays one at a time.
    expect(parallelismFor(1, small, true)).toBe(1);
    expect(parallelismFor(undefined, small, true)).toBe(1);
  });
});
