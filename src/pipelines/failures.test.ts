/**
 * Extraction and submission failures end to end: every mapping of the extractor's answers, one
 * notification each, no submission, the file left in place, and a second run that changes
 * nothing; submission failures, 5xx retries and token refresh.
 */
import { describe, expect, it } from 'vitest';
import { useLocalPipelineHarness } from '../../test/helpers/pipeline-harness.ts';
import type { FakeMode } from '../../test/helpers/pipeline-fakes.ts';
import { callCounts, filesOf, historyOf, listTree } from '../../test/helpers/pipeline-scenarios.ts';
import { storeKinds } from '../../test/helpers/stores.ts';

describe.each(storeKinds)('pipeline failures, %s store', (kind) => {
  const h = useLocalPipelineHarness(kind, 'ferry-pipeline-failures-');
  let serial = 0;

  const ledgerRows = async () =>
    (
      await h().ferry.store.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM ferry.pipeline_ledger',
      )
    ).rows[0]?.n;

  it.each<[FakeMode, string]>([
    ['password', 'extraction_file_password_failed'],
    ['fail', 'extraction_file_failed'],
    ['status:400', 'extraction_file_failed'],
    ['status:422', 'extraction_file_failed'],
    ['nonobject', 'extraction_service_failed'],
    ['empty', 'extraction_service_failed'],
    ['noresult', 'extraction_service_failed'],
    ['5xx', 'extraction_service_failed'],
    ['status:404', 'extraction_service_failed'],
    ['timeout', 'extraction_service_failed'],
    ['reset', 'extraction_service_failed'],
  ])(
    'extractor %s → %s: one notification, no submission, file left, never reprocessed',
    async (mode, status) => {
      const remitter = `ex${(serial += 1)}`;
      h().put('in', `${remitter}/DOC.pdf`, `document ${remitter}`);
      h().fakes.extractor.mode = mode;
      const first = await h().runSettled();
      expect(first.summary).toMatchObject({ claimed: 1, succeeded: 0, failed: { [status]: 1 } });
      expect(first.error).toEqual([
        { error: expect.stringMatching(new RegExp(`^${status}: `)), file: `${remitter}/DOC.pdf` },
      ]);
      expect(callCounts(h())).toMatchObject({ submitter: 0, notifier: 1 });
      const [file] = await filesOf(h(), remitter);
      expect(file).toMatchObject({ status, notified: true, archived: false });
      expect(h().fakes.notifier.calls[0]?.body).toEqual({
        file_path: h().at('in', remitter, 'DOC.pdf'),
        reason: expect.stringMatching(new RegExp(`^${status}: `)),
        record_id: expect.any(Number),
        status,
      });
      expect(listTree(h(), 'in')).toEqual([`${remitter}/DOC.pdf`]);

      h().fakes.extractor.mode = 'ok';
      const calls = callCounts(h());
      const rows = await ledgerRows();
      const second = await h().runSettled();
      expect(second.summary).toMatchObject({ claimed: 0, already_claimed: 1, failed: {} });
      expect(callCounts(h())).toEqual(calls);
      expect(await ledgerRows()).toBe(rows);
      expect(listTree(h(), 'in')).toEqual([`${remitter}/DOC.pdf`]);
      expect((await historyOf(h(), file?.id ?? 0)).map((r) => r.status)).toEqual([
        'processing',
        status,
        'notified',
      ]);
    },
  );

  it.each<FakeMode>(['fail', 'status:400'])(
    'submitter %s → submission_failed, one notification, not archived, not reprocessed',
    async (mode) => {
      const remitter = `sub${(serial += 1)}`;
      h().put('in', `${remitter}/DOC.pdf`, `document ${remitter}`);
      h().fakes.submitter.mode = mode;
      const first = await h().runSettled();
      expect(first.summary).toMatchObject({ succeeded: 0, failed: { submission_failed: 1 } });
      expect(callCounts(h())).toEqual({ extractor: 1, submitter: 1, notifier: 1 });
      expect(h().fakes.notifier.calls[0]?.body).toMatchObject({ status: 'submission_failed' });
      expect(listTree(h(), 'in')).toEqual([`${remitter}/DOC.pdf`]);
      h().fakes.submitter.mode = 'ok';
      const rows = await ledgerRows();
      await h().runSettled();
      expect(callCounts(h())).toEqual({ extractor: 1, submitter: 1, notifier: 1 });
      expect(await ledgerRows()).toBe(rows);
      expect((await filesOf(h(), remitter))[0]).toMatchObject({
        status: 'submission_failed',
        archived: false,
      });
    },
  );

  it('status_names coordinator: itm_failed in the answer, reads and notification; both names filter', async () => {
    h().put('scheduled', 'itm/DOC.pdf', 'itm document');
    h().fakes.submitter.mode = 'status:400';
    const run = await h().runSettled('scheduled');
    expect(run.summary.failed).toEqual({ itm_failed: 1 });
    expect(h().fakes.notifier.calls[0]?.body).toMatchObject({
      status: 'itm_failed',
      reason: expect.stringMatching(/^itm_failed: /),
    });
    const [file] = await filesOf(h(), 'itm', 'scheduled');
    expect(file).toMatchObject({ status: 'itm_failed', archived: false });
    expect((await historyOf(h(), file?.id ?? 0, 'scheduled')).map((r) => r.status)).toEqual([
      'processing',
      'submitting',
      'itm_failed',
      'notified',
    ]);
    const stored = await h().get(`/api/v1/pipelines/scheduled/runs/${run.run_id}`);
    expect(stored.body).toMatchObject({ summary: { failed: { itm_failed: 1 } } });
    for (const name of ['itm_failed', 'submission_failed']) {
      const listed = await h().get(`/api/v1/pipelines/scheduled/files?status=${name}`);
      expect(listed.body).toMatchObject({ total: 1, items: [{ id: file?.id }] });
    }
    // The ledger keeps Ferry's name; a pipeline with Ferry's names still shows it.
    const { rows } = await h().ferry.store.db.query<{ status: string }>(
      'SELECT status FROM ferry.pipeline_ledger WHERE file_id = $1 ORDER BY id',
      [file?.id],
    );
    expect(rows.map((r) => r.status)).toContain('submission_failed');
  });

  it('archive_succeeded filters the files the archive step moved, and only those', async () => {
    h().fakes.submitter.mode = 'status:400';
    h().put('in', 'kept/DOC.pdf', 'kept document');
    await h().runSettled();
    h().fakes.submitter.mode = 'ok';
    h().put('in', 'arch2/DOC.pdf', 'archived document 2');
    await h().runSettled();
    type Item = { id: number; remitter: string; archived: boolean };
    const all = (await h().get('/api/v1/pipelines/main/files?limit=1000')).body as {
      items: Item[];
    };
    const res = await h().get('/api/v1/pipelines/main/files?status=archive_succeeded&limit=1000');
    const { items } = res.body as { items: Item[] };
    expect(items.map((f) => f.remitter)).toContain('arch2');
    expect(items.map((f) => f.remitter)).not.toContain('kept');
    expect(items.map((f) => f.id)).toEqual(all.items.filter((f) => f.archived).map((f) => f.id));
  });

  it('submission 5xx: retried with backoff, then retried by a later run that succeeds', async () => {
    h().put('in', 'flaky/DOC.pdf', 'flaky document');
    const delays: number[] = [];
    h().onSleep = (ms) => {
      delays.push(ms);
    };
    h().fakes.submitter.mode = '5xx';
    const first = await h().runSettled();
    expect(first.summary).toMatchObject({ failed: { submission_internal_failed: 1 } });
    expect(h().fakes.submitter.calls).toHaveLength(3); // retries: 2
    expect(delays).toEqual([1, 2]);
    expect(h().fakes.notifier.calls).toHaveLength(1);
    expect(listTree(h(), 'in')).toEqual(['flaky/DOC.pdf']);

    h().fakes.submitter.mode = 'ok';
    const second = await h().runSettled();
    expect(second.summary).toMatchObject({ claimed: 1, succeeded: 1 });
    const refs = h().fakes.submitter.calls.map(
      (c) =>
        (c.body as { instructions: { sourceUniqueRef: string }[] }).instructions[0]
          ?.sourceUniqueRef,
    );
    expect(new Set(refs).size).toBe(1); // the same references on every attempt
    expect(listTree(h(), 'archive')).toEqual(['flaky/DOC.pdf']);
    const [file] = await filesOf(h(), 'flaky');
    expect((await historyOf(h(), file?.id ?? 0)).map((r) => `${r.status}#${r.attempt}`)).toEqual([
      'processing#1',
      'submitting#1',
      'submission_internal_failed#1',
      'notified#1',
      'processing#2',
      'submitting#2',
      'success#2',
      'archive_succeeded#2',
    ]);
  });

  it('a submitter timeout is retried within the run', async () => {
    h().put('in', 'slowsub/DOC.pdf', 'slow submitter');
    h().fakes.submitter.next('timeout', 'reset');
    const body = await h().runSettled();
    expect(body.summary).toMatchObject({ succeeded: 1 });
    expect(h().fakes.submitter.calls).toHaveLength(3);
  });

  it('a token rejected with 401 is fetched again once, then the submission goes through', async () => {
    h().put('in', 'tok/A.pdf', 'a');
    await h().runSettled(); // caches a token
    h().fakes.submitter.requireToken = true;
    h().fakes.submitter.revokeToken();
    h().fakes.submitter.calls.length = 0;
    h().fakes.submitter.tokenCalls.length = 0;
    h().put('in', 'tok/B.pdf', 'b');
    const body = await h().runSettled();
    expect(body.summary).toMatchObject({ succeeded: 1 });
    expect(h().fakes.submitter.tokenCalls).toHaveLength(1);
    expect(h().fakes.submitter.calls.map((c) => c.headers.authorization)).toEqual([
      expect.stringMatching(/^Bearer token-/),
      expect.stringMatching(/^Bearer token-/),
    ]);
    expect(h().fakes.submitter.calls[0]?.headers.authorization).not.toBe(
      h().fakes.submitter.calls[1]?.headers.authorization,
    );
  });

  it('an extractor token endpoint failure releases the claim; the next run retries it', async () => {
    h().put('sampled', 'tokfail/A.pdf', 'a');
    h().fakes.extractor.tokenMode = 'fail';
    const first = await h().runSettled('sampled');
    expect(first.summary).toMatchObject({ claimed: 1, succeeded: 0, failed: {} });
    expect(first.error[0]?.error).toMatch(/claim was released/);
    expect(callCounts(h())).toEqual({ extractor: 0, submitter: 0, notifier: 0 });
    h().fakes.extractor.tokenMode = 'ok';
    const second = await h().runSettled('sampled');
    expect(second.summary).toMatchObject({ claimed: 1, succeeded: 1 });
    const [file] = await filesOf(h(), 'tokfail', 'sampled');
    expect(
      (await historyOf(h(), file?.id ?? 0, 'sampled')).map((r) => `${r.status}#${r.attempt}`),
    ).toEqual([
      'processing#1',
      'released#1',
      'processing#2',
      'submitting#2',
      'success#2',
      'archive_succeeded#2',
    ]);
  });

  it('a notification that does not get through is delivered by the next run, once', async () => {
    h().put('in', 'quiet/DOC.pdf', 'doc');
    h().fakes.extractor.mode = 'fail';
    h().fakes.notifier.mode = '5xx';
    const first = await h().runSettled();
    expect(first.error.map((e) => e.error)).toEqual([
      expect.stringMatching(/^extraction_file_failed/),
      expect.stringMatching(/^notification for extraction_file_failed not delivered/),
    ]);
    h().fakes.notifier.mode = 'ok';
    await h().runSettled();
    await h().runSettled();
    expect(h().fakes.notifier.calls).toHaveLength(2); // the failed one and the delivered one
    expect((await filesOf(h(), 'quiet'))[0]).toMatchObject({ notified: true });
  });
});
