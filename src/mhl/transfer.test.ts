/**
 * Transfers and watch profiles with `mhl: true`, through the HTTP API of a real Ferry on each
 * store: the reference tool's scenario copied onward (same hashes, history carried over, schema
 * valid), a corrupted / missing / new file, and one generation per watch cycle.
 */
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyScenario, validateXml } from '../../test/helpers/mhl.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import {
  useTransferWorlds,
  type HistoryJson,
  type TransferWorld,
} from '../../test/helpers/transfers.ts';
import { makeLocalStorage } from '../storage/index.ts';
import { loadHistory, type Generation } from './index.ts';

const storage = makeLocalStorage();

function generations(folder: string): string[] {
  return readdirSync(path.join(folder, 'ascmhl'))
    .filter((n) => n.endsWith('.mhl'))
    .sort();
}

/** Each listed file's action: `failed` when any of its formats failed. */
function fileActions(generation: Generation | undefined): Map<string, string | undefined> {
  const actions = new Map<string, string | undefined>();
  for (const e of generation?.entries ?? []) {
    if (e.kind !== 'file') continue;
    const failed = e.hashes.some((h) => h.action === 'failed');
    actions.set(e.path, failed ? 'failed' : e.hashes[0]?.action);
  }
  return actions;
}

describe.each(storeKinds)('ASC MHL transfers on %s', (kind) => {
  const startWorld = useTransferWorlds();

  async function run(w: TransferWorld, body: object) {
    const created = await w.request('POST', '/transfers', body);
    expect(created.status).toBe(201);
    const id = created.json.id;
    return w.finished(id);
  }

  it('a copy onward verifies the history, carries it over and appends the reference hashes', async () => {
    const w = await startWorld(kind);
    const source = copyScenario('scenario_01/travel_01/A002R2EC', w.src);
    const destination = path.join(w.dst, 'A002R2EC');
    const t = await run(w, {
      source_path: source,
      destination_path: destination,
      checksum_algorithm: 'xxh64',
      mhl: true,
      mhl_hashes: ['md5'],
    });
    expect(t).toMatchObject({ status: 'completed', mhl: true, mhl_hashes: ['md5'] });
    const names = generations(destination);
    expect(names[0]).toBe('0001_A002R2EC_2020-01-16_091500Z.mhl');
    expect(names[1]).toMatch(/^0002_A002R2EC_\d{4}-\d\d-\d\d_\d{6}Z\.mhl$/);
    const history = await loadHistory(storage, destination);
    expect(history?.problems).toEqual([]);
    const latest = history?.generations[1]?.generation;
    expect(latest?.process).toBe('transfer');
    const values = (format: string) =>
      Object.fromEntries(
        (latest?.entries ?? []).map((e) => [
          e.path,
          e.kind === 'file'
            ? e.hashes.find((h) => h.format === format)?.value
            : `${e.content.find((h) => h.format === format)?.value} ${e.structure.find((h) => h.format === format)?.value}`,
        ]),
      );
    // scenario_01/log.txt (xxh64) and scenario_03/log.txt (md5), as the reference tool printed them.
    expect(values('xxh64')).toEqual({
      'Clips/A002C006_141024_R2EC.mov': '0ea03b369a463d9d',
      'Clips/A002C007_141024_R2EC.mov': '7680e5f98f4a80fd',
      'Sidecar.txt': '3ab5a4166b9bde44',
      Clips: '4c226b42e27d7af3 906faa843d591a9f',
    });
    expect(values('md5')).toMatchObject({
      Clips: '202a2d71b56b080d9b089c1f4f29a4ba 4a739024fd19d928e9dea6bb5c480200',
    });
    expect(latest?.root?.content.map((h) => h.value)).toEqual([
      '6fae2da9bc6dca45486cb91bfea6db70',
      '8d02114c32e28cbe',
    ]);
    expect(latest?.root?.structure.map((h) => h.value)).toEqual([
      'be1f2eaed208efbed061845a64cacdfa',
      'f557f8ca8e5a88ef',
    ]);
    expect([...fileActions(latest).values()]).toEqual(['verified', 'verified', 'verified']);
    validateXml(
      'ASCMHL.xsd',
      names.map((n) => path.join(destination, 'ascmhl', n)),
    );
    validateXml('ASCMHLDirectory.xsd', [path.join(destination, 'ascmhl', 'ascmhl_chain.xml')]);
  });

  it('a corrupted file fails like a checksum mismatch, a missing one fails the transfer, a new one is new', async () => {
    const w = await startWorld(kind);
    const source = copyScenario('scenario_01/travel_01/A002R2EC', w.src);
    appendFileSync(path.join(source, 'Sidecar.txt'), 'bit rot');
    unlinkSync(path.join(source, 'Clips', 'A002C007_141024_R2EC.mov'));
    writeFileSync(path.join(source, 'Clips', 'A002C008.mov'), 'new take');
    const destination = path.join(w.dst, 'A002R2EC');
    const t = await run(w, {
      source_path: source,
      destination_path: destination,
      checksum_algorithm: 'xxh128',
      mhl: true,
    });
    expect(t.status).toBe('failed');
    const history0 = (await w.request<HistoryJson>('GET', `/transfers/${t.id}/watch-history`)).json;
    const byPath = new Map(
      (history0.files as (HistoryJson['files'][number] & { file_path: string })[]).map((f) => [
        f.file_path,
        f,
      ]),
    );
    expect(byPath.get('Sidecar.txt')).toMatchObject({
      status: 'failed',
      error_code: 'FERRY_ERR_CHECKSUM_MISMATCH',
      checksum_match: false,
      source_checksum: '3ab5a4166b9bde44',
    });
    expect(byPath.get('Clips/A002C008.mov')).toMatchObject({ status: 'completed' });
    expect(existsSync(path.join(destination, 'Sidecar.txt'))).toBe(false);
    const history = await loadHistory(storage, destination);
    const actions = fileActions(history?.generations.at(-1)?.generation);
    expect(actions.get('Sidecar.txt')).toBe('failed');
    expect(actions.get('Clips/A002C008.mov')).toBe('original');
    expect(actions.get('Clips/A002C006_141024_R2EC.mov')).toBe('verified');
    const logs = (
      await w.request<{ items: { event: string; message: string }[] }>(
        'GET',
        `/transfers/${t.id}/logs`,
      )
    ).json;
    expect(logs.items.find((l) => l.event === 'mhl.missing')?.message).toMatch(
      /Clips\/A002C007_141024_R2EC\.mov/,
    );
  });

  it('a watch profile writes one generation per cycle that delivered files', async () => {
    const w = await startWorld(kind);
    const created = await w.watch({ mhl: true });
    const id = created.json.id;
    const sealed = (n: number) =>
      w.collect(
        'watch:cycle',
        1,
        (e) =>
          e.transferId === id &&
          existsSync(path.join(w.dst, 'ascmhl')) &&
          generations(w.dst).length >= n,
      );
    const first = sealed(1);
    writeFileSync(path.join(w.src, 'a.txt'), 'first');
    await first;
    const second = sealed(2);
    cpSync(path.join(w.src, 'a.txt'), path.join(w.src, 'b.txt'));
    await second;
    const history = await loadHistory(storage, w.dst);
    expect(history?.problems).toEqual([]);
    expect(history?.generations.map((g) => [...fileActions(g.generation).keys()])).toEqual([
      ['a.txt'],
      ['b.txt'],
    ]);
    expect(readFileSync(path.join(w.dst, 'b.txt'), 'utf8')).toBe('first');
  });
});
