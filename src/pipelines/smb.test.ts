/**
 * The core pipeline scenarios with a Samba share as the source: the same tests as on a local
 * folder, reading, moving and archiving through the SMB backend. Samba runs on a loopback port
 * with its own temp config (test/helpers/samba.ts); the suite is skipped, saying why, where
 * smbd cannot run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPipelineHarness, type PipelineHarness } from '../../test/helpers/pipeline-harness.ts';
import { coreScenarios } from '../../test/helpers/pipeline-scenarios.ts';
import {
  negotiateSecurityMode,
  sambaProblem,
  startSamba,
  type SambaServer,
} from '../../test/helpers/samba.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import { makePipelines } from './index.ts';

const problem = sambaProblem();
if (problem) console.warn(`pipelines over SMB skipped: ${problem}`);

describe.skipIf(problem !== undefined).each(storeKinds)(
  'pipelines on a Samba share, %s store',
  (kind) => {
    let samba: SambaServer;
    let h: PipelineHarness;

    beforeAll(async () => {
      samba = await startSamba();
      h = await startPipelineHarness(kind, {
        dir: samba.shareDir,
        source: (folder) => `${samba.url}/${folder}`,
        archive: (folder) => `/${folder}`,
        password: samba.password,
        owner: { uid: samba.uid, gid: samba.gid },
      });
    });
    afterAll(async () => {
      await h.close();
      await samba.stop();
    });
    beforeEach(() => {
      h.reset();
      h.clear();
    });

    coreScenarios(() => h);

    it('reads through the share (the pipelines name smb:// sources)', async () => {
      const list = await h.get('/api/v1/pipelines');
      const items = (list.body as { items: { name: string; source: string; archive: string }[] })
        .items;
      expect(items[0]).toMatchObject({
        name: 'main',
        source: expect.stringMatching(/^smb:\/\/ferrysmb@127\.0\.0\.1:\d+\/share\/in$/),
        archive: 'archive',
      });
    });

    it('an SMB server that does not answer: an error entry and one notification', async () => {
      const [main] = h.ferry.config.pipelines;
      if (!main) throw new Error('no pipeline');
      const offline = makePipelines({
        pipelines: [{ ...main, name: 'offline', source: 'smb://ferrysmb@127.0.0.1:1/share/in' }],
        db: h.ferry.store.db,
        bus: h.ferry.bus,
        log: h.ferry.logger,
        nodeId: 'smb-test',
        env: { TEST_EXTRACTOR_TOKEN: 'x' },
      });
      const started = await offline.run('offline', { trigger: 'api' });
      await started.finished;
      expect(started.outcome.error).toEqual([
        { error: expect.stringMatching(/^source unreachable: /) },
      ]);
      expect(h.fakes.notifier.calls.map((c) => c.body)).toEqual([
        expect.objectContaining({
          status: 'source_unreachable',
          record_id: started.outcome.run_id,
        }),
      ]);
    });
  },
);

describe.skipIf(problem !== undefined)(
  'pipelines on a Samba share that requires signing (pglite store)',
  () => {
    let samba: SambaServer;
    let h: PipelineHarness;

    beforeAll(async () => {
      samba = await startSamba({ signing: 'mandatory' });
      h = await startPipelineHarness('pglite', {
        dir: samba.shareDir,
        source: (folder) => `${samba.url}/${folder}`,
        archive: (folder) => `/${folder}`,
        password: samba.password,
        owner: { uid: samba.uid, gid: samba.gid },
      });
    });
    afterAll(async () => {
      await h.close();
      await samba.stop();
    });
    beforeEach(() => {
      h.reset();
      h.clear();
    });

    it('the server really requires signing', async () => {
      expect((await negotiateSecurityMode(samba.port)) & 0x02).toBe(0x02);
    });

    coreScenarios(
      () => h,
      (name) => name.startsWith('happy path') || name.startsWith('versions'),
    );
  },
);
