/**
 * The gaps the original coordinator never covered: an unreachable source, files deleted
 * mid-run, concurrent run requests (one node and two), and claims a crashed run left behind.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useLocalPipelineHarness } from '../../test/helpers/pipeline-harness.ts';
import { callCounts, filesOf, historyOf, listTree } from '../../test/helpers/pipeline-scenarios.ts';
import { storeKinds, tempDir } from '../../test/helpers/stores.ts';
import { appendLedger, claimFile } from './claims.ts';
import { makePipelines } from './index.ts';

describe.each(storeKinds)('pipeline gaps, %s store', (kind) => {
  const h = useLocalPipelineHarness(kind, 'ferry-pipeline-gaps-');

  it('source unreachable: the run answers with an error entry and one notification', async () => {
    renameSync(h().at('in'), h().at('in-away'));
    try {
      const { status, body, settled } = await h().run();
      await settled;
      expect(status).toBe(200);
      expect(body.error).toEqual([{ error: expect.stringMatching(/^source unreachable: /) }]);
      expect(body.summary).toMatchObject({ scanned: 0, claimed: 0 });
      expect(h().fakes.notifier.calls.map((c) => c.body)).toEqual([
        {
          file_path: h().at('in'),
          reason: expect.stringMatching(/^source_unreachable: /),
          record_id: body.run_id,
          status: 'source_unreachable',
        },
      ]);
      expect(callCounts(h())).toMatchObject({ extractor: 0, submitter: 0 });
    } finally {
      rmSync(h().at('in'), { recursive: true, force: true });
      renameSync(h().at('in-away'), h().at('in'));
    }
  });

  it('a file deleted mid-run is reported and left out; the others go on', async () => {
    h().put('in', 'gone/A.pdf', 'a');
    h().put('in', 'gone/B.pdf', 'b');
    h().fakes.extractor.onCall = () => {
      rmSync(h().at('in', 'gone', 'B.pdf'), { force: true });
    };
    const body = await h().runSettled();
    expect(body.summary).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(body.error).toEqual([
      { error: 'the file disappeared before it was read', file: 'gone/B.pdf' },
    ]);
    expect((await filesOf(h(), 'gone')).map((f) => f.base_name)).toEqual(['A.pdf']);
  });

  it('a file deleted after its submission is marked archive_skipped, not retried forever', async () => {
    h().put('in', 'vanish/C.pdf', 'c');
    h().fakes.submitter.onCall = () => {
      rmSync(h().at('in', 'vanish', 'C.pdf'), { force: true });
    };
    const body = await h().runSettled();
    expect(body.summary).toMatchObject({ succeeded: 1 });
    const [file] = await filesOf(h(), 'vanish');
    expect((await historyOf(h(), file?.id ?? 0)).map((r) => r.status)).toEqual([
      'processing',
      'submitting',
      'success',
      'archive_skipped',
    ]);
  });

  it('concurrent run requests: exactly one runs, the other gets 409', async () => {
    h().put('in', 'race/A.pdf', 'a');
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    h().fakes.extractor.onCall = () => gate;
    const first = h().run();
    await h().fakes.extractor.waitForCalls(1);
    const [named, coordinator] = await Promise.all([h().run('main'), h().run()]);
    for (const second of [named, coordinator]) {
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('FERRY_ERR_PIPELINE_BUSY');
    }
    // Another node on the same store is refused by the same lease.
    const otherNode = makePipelines({
      pipelines: h().ferry.config.pipelines,
      db: h().ferry.store.db,
      bus: h().ferry.bus,
      log: h().ferry.logger,
      nodeId: 'other-node',
      env: { TEST_EXTRACTOR_TOKEN: 'x' },
    });
    await expect(otherNode.run('main', { trigger: 'api' })).rejects.toMatchObject({
      code: 'FERRY_ERR_PIPELINE_BUSY',
    });
    // A run that has not answered yet is listed with zero counts (it has stored no summary).
    const during = await h().get('/api/v1/pipelines/main/runs?limit=1000');
    expect(during.status).toBe(200);
    const running = (during.body as { items: { status: string; summary: unknown }[] }).items;
    expect(running.find((r) => r.status === 'running')?.summary).toMatchObject({
      claimed: 0,
      failed: {},
    });
    open();
    const done = await first;
    expect(done.status).toBe(200);
    await done.settled;
    expect(h().fakes.extractor.calls).toHaveLength(1);
    const runs = await h().get('/api/v1/pipelines/main/runs?limit=1000');
    const items = (runs.body as { items: { status: string }[] }).items;
    expect(items.filter((r) => r.status === 'running' || r.status === 'archiving')).toEqual([]);
  });

  it('claims a crashed run left: processing is released and redone, submitting is never resent', async () => {
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    h().put('in', 'crash/REDO.pdf', 'redo me');
    h().put('in', 'crash/SENT.pdf', 'maybe sent');
    const crashedRun = '00000000-0000-4000-8000-00000000dead';
    const key = (baseName: string, content: string) => ({
      pipeline: 'main',
      remitter: 'crash',
      baseName,
      contentHash: md5(content),
      hashAlgorithm: 'md5',
      size: content.length,
    });
    const db = h().ferry.store.db;
    await claimFile(db, key('REDO.pdf', 'redo me'), { path: 'crash/REDO.pdf', runId: crashedRun });
    const sent = await claimFile(db, key('SENT.pdf', 'maybe sent'), {
      path: 'crash/SENT.pdf',
      runId: crashedRun,
    });
    if (!sent.claimed) throw new Error('expected a claim');
    await appendLedger(db, {
      ...sent,
      status: 'submitting',
      path: 'crash/SENT.pdf',
      runId: crashedRun,
    });

    const body = await h().runSettled();
    expect(body.summary).toMatchObject({ claimed: 1, already_claimed: 1, succeeded: 1 });
    expect(h().fakes.extractor.calls.map((c) => c.files.file?.name)).toEqual(['REDO.pdf']);
    expect(h().fakes.notifier.calls.map((c) => (c.body as { status: string }).status)).toEqual([
      'submission_unknown',
    ]);
    const files = await filesOf(h(), 'crash');
    const byName = new Map(files.map((f) => [f.base_name, f]));
    expect(byName.get('REDO.pdf')).toMatchObject({ status: 'success', archived: true });
    expect(byName.get('SENT.pdf')).toMatchObject({ status: 'submission_unknown', notified: true });
    expect(listTree(h(), 'in')).toEqual(['crash/SENT.pdf']);
  });

  // Issue 10, item 1: a pipeline's local folders are pinned like a watch profile's roots.
  it.each(['in', 'archive'])(
    'the %s folder swapped for a symlink to outside between runs: refused, outside untouched',
    async (folder) => {
      h().put('in', 'pinned/A.pdf', 'first');
      await h().runSettled(); // pins both folders
      const outside = tempDir('ferry-outside-');
      mkdirSync(path.join(outside.dir, 'pinned'));
      writeFileSync(path.join(outside.dir, 'pinned', 'SECRET.pdf'), 'not yours');
      renameSync(h().at(folder), h().at(`${folder}-real`));
      symlinkSync(outside.dir, h().at(folder));
      try {
        if (folder === 'archive') h().put('in', 'pinned/B.pdf', 'second');
        h().reset();
        const body = await h().runSettled();
        expect(body.error).toEqual([{ error: expect.stringMatching(/^source unreachable: /) }]);
        expect(callCounts(h())).toMatchObject({ extractor: 0, submitter: 0 });
        expect(readdirSync(path.join(outside.dir, 'pinned'))).toEqual(['SECRET.pdf']);
        if (folder === 'archive') expect(existsSync(h().at('in', 'pinned', 'B.pdf'))).toBe(true);
      } finally {
        rmSync(h().at(folder));
        renameSync(h().at(`${folder}-real`), h().at(folder));
        outside.remove();
      }
    },
  );
});
