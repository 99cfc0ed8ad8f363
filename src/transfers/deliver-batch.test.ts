import { describe, expect, it } from 'vitest';
import { parallelismFor } from './deliver-batch.ts';
import type { Item } from './deliver-steps.ts';

/** An item of `size` bytes (only the size matters here). */
const item = (size: number) => ({ row: { file_size: size } }) as unknown as Item;

describe('files delivered at once', () => {
  it('raises the bound for a batch of small files, keeps it otherwise', () => {
    const small = [item(50 * 1024), item(1024 * 1024)];
    expect(parallelismFor(4, small)).toBe(16);
    expect(parallelismFor(32, small)).toBe(64);
    expect(parallelismFor(4, [...small, item(1024 * 1024 + 1)])).toBe(4);
    // One at a time stays one at a time.
    expect(parallelismFor(1, small)).toBe(1);
    expect(parallelismFor(undefined, small)).toBe(1);
  });
});
