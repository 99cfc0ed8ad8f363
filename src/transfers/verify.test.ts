/**
 * Verification failures, injected through the destination storage (a double passed through the
 * constructor): reads of the temp file come back with one byte flipped.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { advanceUntil, makeFakeClock, type FakeClock } from '../../test/helpers/clock.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import {
  sha256File,
  useTransferWorlds,
  writeRandom,
  type HistoryJson,
  type TransferWorld,
} from '../../test/helpers/transfers.ts';
import { makeLocalStorage, type Storage } from '../storage/index.ts';

/** Local storage whose next `corruptions` reads of a `.part` file flip the first byte. */
function corrupting(corruptions: number): Storage {
  const local = makeLocalStorage();
  const state = { left: corruptions };
  return {
    ...local,
    async *read(file, options) {
      const corrupt = file.endsWith('.part') && state.left > 0;
      if (corrupt) state.left -= 1;
      let first = corrupt;
      for await (const chunk of local.read(file, options)) {
        if (first && chunk.byteLength > 0) {
          const copy = Buffer.from(chunk);
          copy[0] = (copy[0] ?? 0) ^ 0xff;
          first = false;
          yield copy;
        } else yield chunk;
      }
    },
  };
}

describe.each(storeKinds)('checksum verification on %s', (kind) => {
  const startWorld = useTransferWorlds();

  const fileOf = async (w: TransferWorld, id: number) =>
    (await w.request<HistoryJson>('GET', `/transfers/${id}/watch-history`)).json.files[0];

  /** Runs a transfer to its end, advancing the clock through its retry delays. */
  async function run(
    w: TransferWorld,
    clock: FakeClock,
    body: object,
    whileWaiting?: (id: number) => Promise<void>,
  ) {
    const created = await w.request('POST', '/transfers', body);
    const ended = w.ended(created.json.id);
    await whileWaiting?.(created.json.id);
    await advanceUntil(clock, ended, 1000);
    const transfer = (await w.request('GET', `/transfers/${created.json.id}`)).json;
    return { transfer, file: await fileOf(w, created.json.id) };
  }

  it('a mismatch once is retried after the retry delay and the transfer completes', async () => {
    const clock = makeFakeClock();
    const w = await startWorld(kind, {
      transferStorage: { destination: corrupting(1) },
      transferClock: clock,
    });
    const sum = writeRandom(path.join(w.src, 'f.bin'), 100 * 1024);
    const { transfer, file } = await run(
      w,
      clock,
      { source_path: path.join(w.src, 'f.bin'), destination_path: w.dst },
      async (id) => {
        // The first attempt failed; the retry waits on the clock until the test advances it.
        await clock.asleep();
        expect(await fileOf(w, id)).toMatchObject({ attempts: 1 });
        const { status } = (await w.request('GET', `/transfers/${id}`)).json;
        expect(['completed', 'failed']).not.toContain(status);
      },
    );
    expect(transfer.status).toBe('completed');
    expect(file).toMatchObject({ status: 'completed', attempts: 2, checksum_match: true });
    expect(sha256File(path.join(w.dst, 'f.bin'))).toBe(sum);
    const logs = (await w.request('GET', `/transfers/${transfer.id}/logs`)).json;
    expect(logs.items.map((l) => l.event)).toContain('file.retry');
  });

  it('a persistent mismatch fails the move: nothing under the final name, no temp left, source kept', async () => {
    const clock = makeFakeClock();
    const w = await startWorld(kind, {
      transferStorage: { destination: corrupting(100) },
      transferClock: clock,
    });
    const sum = writeRandom(path.join(w.src, 'f.bin'), 100 * 1024);
    const { transfer, file } = await run(w, clock, {
      source_path: path.join(w.src, 'f.bin'),
      destination_path: w.dst,
      operation_mode: 'move',
    });
    expect(transfer.status).toBe('failed');
    expect(transfer.error_message).toMatch(/Checksum mismatch/);
    expect(file).toMatchObject({
      status: 'failed',
      error_code: 'FERRY_ERR_CHECKSUM_MISMATCH',
      checksum_match: false,
      attempts: 3,
    });
    expect(file?.source_checksum).not.toBe(file?.destination_checksum);
    expect(existsSync(path.join(w.dst, 'f.bin'))).toBe(false);
    expect(readdirSync(w.dst)).toEqual([]);
    expect(sha256File(path.join(w.src, 'f.bin'))).toBe(sum);
  });
});
