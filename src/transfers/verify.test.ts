/**
 * Verification failures, injected through the destination storage (a double passed through the
 * constructor): reads of the temp file come back with one byte flipped.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds } from '../../test/helpers/stores.ts';
import {
  sha256File,
  transferWorld,
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
  let world: TransferWorld | undefined;
  afterEach(async () => {
    await world?.cleanup();
    world = undefined;
  });

  async function run(w: TransferWorld, body: object) {
    const created = await w.request('POST', '/transfers', body);
    await w.collect(
      'transfer:status',
      1,
      (s) => s.transferId === created.json.id && ['completed', 'failed'].includes(s.status),
    );
    const transfer = (await w.request('GET', `/transfers/${created.json.id}`)).json;
    const history = (
      await w.request<HistoryJson>('GET', `/transfers/${created.json.id}/watch-history`)
    ).json;
    return { transfer, file: history.files[0] };
  }

  it('a mismatch once is retried and the transfer completes', async () => {
    const w = (world = await transferWorld(kind, {
      transferStorage: { destination: corrupting(1) },
    }));
    const sum = writeRandom(path.join(w.src, 'f.bin'), 100 * 1024);
    const { transfer, file } = await run(w, {
      source_path: path.join(w.src, 'f.bin'),
      destination_path: w.dst,
    });
    expect(transfer.status).toBe('completed');
    expect(file).toMatchObject({ status: 'completed', attempts: 2, checksum_match: true });
    expect(sha256File(path.join(w.dst, 'f.bin'))).toBe(sum);
    const logs = (await w.request('GET', `/transfers/${transfer.id}/logs`)).json;
    expect(logs.items.map((l) => l.event)).toContain('file.retry');
  });

  it('a persistent mismatch fails the move: nothing under the final name, no temp left, source kept', async () => {
    const w = (world = await transferWorld(kind, {
      transferStorage: { destination: corrupting(100) },
    }));
    const sum = writeRandom(path.join(w.src, 'f.bin'), 100 * 1024);
    const { transfer, file } = await run(w, {
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
