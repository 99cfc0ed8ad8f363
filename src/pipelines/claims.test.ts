import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds, testEnv, type TestEnv } from '../../test/helpers/stores.ts';
import { migrate, openStore, type Store } from '../db/index.ts';
import {
  appendLedger,
  claimFile,
  fileHistory,
  filesInStatus,
  latestStatus,
  releaseClaim,
  type ClaimKey,
} from './claims.ts';

describe.each(storeKinds)('claim ledger on %s', (kind) => {
  let env: TestEnv;
  let store: Store;
  let n = 0;
  const key = (): ClaimKey => ({
    pipeline: 'p',
    remitter: 'acme',
    baseName: `R${(n += 1)}.xlsx`,
    contentHash: 'abc',
    hashAlgorithm: 'md5',
    size: 3,
  });
  const at = { path: 'acme/R.xlsx', runId: '00000000-0000-4000-8000-000000000001' };

  beforeAll(async () => {
    env = await testEnv(kind);
    store = await openStore(env.config, () => undefined);
    await migrate(store.db);
  });
  afterAll(async () => {
    await store.close();
    await env.cleanup();
  });

  it('concurrent claims of one content: exactly one wins', async () => {
    const k = key();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => store.db.transaction((tx) => claimFile(tx, k, at))),
    );
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(results.flatMap((r) => (r.claimed ? [] : [r.status]))).toEqual(
      Array(5).fill('processing'),
    );
    const fileIds = new Set(results.map((r) => r.fileId));
    expect(fileIds.size).toBe(1);
  });

  it('a final outcome is never claimed again; a retryable one is, with the next attempt', async () => {
    const k = key();
    const first = await claimFile(store.db, k, at, ['submission_internal_failed']);
    if (!first.claimed) throw new Error('expected a claim');
    await appendLedger(store.db, { ...first, status: 'submission_internal_failed', ...at });
    const second = await claimFile(store.db, k, at, ['submission_internal_failed']);
    expect(second).toMatchObject({ claimed: true, attempt: 2 });
    if (!second.claimed) return;
    await appendLedger(store.db, { ...second, status: 'success', ...at });
    await appendLedger(store.db, { ...second, status: 'archive_succeeded', ...at });
    expect(await claimFile(store.db, k, at, ['submission_internal_failed'])).toMatchObject({
      claimed: false,
      status: 'success',
    });
    expect((await latestStatus(store.db, first.fileId))?.status).toBe('success');
    const history = await fileHistory(store.db, first.fileId);
    expect(history.map((r) => [r.status, r.attempt])).toEqual([
      ['processing', 1],
      ['submission_internal_failed', 1],
      ['processing', 2],
      ['success', 2],
      ['archive_succeeded', 2],
    ]);
  });

  it('a released claim (crash before any downstream call) is claimed by the next run', async () => {
    const k = key();
    const first = await claimFile(store.db, k, at);
    if (!first.claimed) throw new Error('expected a claim');
    const stale = await filesInStatus(store.db, 'p', ['processing']);
    expect(stale.map((r) => r.fileId)).toContain(first.fileId);
    await releaseClaim(store.db, first, { ...at, reason: 'crashed' });
    expect(await claimFile(store.db, k, at)).toMatchObject({ claimed: true, attempt: 2 });
  });

  it('another remitter or another content is another file', async () => {
    const k = key();
    const a = await claimFile(store.db, k, at);
    const b = await claimFile(store.db, { ...k, remitter: 'beta' }, at);
    const c = await claimFile(store.db, { ...k, contentHash: 'def' }, at);
    expect([a.claimed, b.claimed, c.claimed]).toEqual([true, true, true]);
  });

  it('the ledger is append-only', async () => {
    await expect(store.db.query(`UPDATE ferry.pipeline_ledger SET status = 'x'`)).rejects.toThrow(
      /append-only/,
    );
    await expect(store.db.query(`DELETE FROM ferry.pipeline_ledger`)).rejects.toThrow(
      /append-only/,
    );
  });
});
