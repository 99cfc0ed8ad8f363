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
import type { StoreKind } from '../db/index.ts';
import { makePipelines } from './index.ts';

const problem = sambaProblem();
if (problem) console.warn(`pipelines over SMB skipped: ${problem}`);

/** Starts Samba and a pipeline harness reading its share for the suite; a clean harness per test. */
function useSambaHarness(
  kind: StoreKind,
  options?: Parameters<typeof startSamba>[0],
): { readonly samba: SambaServer; readonly h: PipelineHarness } {
  const state = {} as { samba: SambaServer; h: PipelineHarness };
  beforeAll(async () => {
    const samba = (state.samba = await startSamba(options));
    state.h = await startPipelineHarness(kind, {
      dir: samba.shareDir,
      source: (folder) => `${samba.url}/${folder}`,
      archive: (folder) => `/${folder}`,
      password: samba.password,
      owner: { uid: samba.uid, gid: samba.gid },
    });
  });
  afterAll(async () => {
    await state.h.close();
    await state.samba.stop();
  });
  beforeEach(() => {
    state.h.reset();
    state.h.clear();
  });
  return state;
}

describe.skipIf(problem !== undefined).each(storeKinds)(
  'pipelines on a Samba share, %s store',
  (kind) => {
    const suite = useSambaHarness(kind);
    coreScenarios(() => suite.h);

    it('reads through the share (the pipelines name smb:// sources)', async () => {
      const list = await suite.h.get('/api/v1/pipelines');
      const items = (list.body as { items: { name: string; source: string; archive: string }[] })
        .items;
      expect(items[0]).toMatchObject({
        name: 'main',
        source: expect.stringMatching(/^smb:\/\/ferrysmb@127\.0\.0\.1:\d+\/share\/in$/),
        archive: 'archive',
      });
    });

    it('an SMB server that does not answer: an error entry and one notification', async () => {
      const [main] = suite.h.ferry.config.pipelines;
      if (!main) throw new Error('no pipeline');
      const offline = makePipelines({
        pipelines: [{ ...main, name: 'offline', source: 'smb://ferrysmb@127.0.0.1:1/share/in' }],
        db: suite.h.ferry.store.db,
        bus: suite.h.ferry.bus,
        log: suite.h.ferry.logger,
        nodeId: 'smb-test',
        env: { TEST_EXTRACTOR_TOKEN: 'x' },
      });
      const started = await offline.run('offline', { trigger: 'api' });
      await started.finished;
      expect(started.outcome.error).toEqual([
        { error: expect.stringMatching(/^source unreachable: /) },
      ]);
      expect(suite.h.fakes.notifier.calls.map((c) => c.body)).toEqual([
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
    const suite = useSambaHarness('pglite', { signing: 'mandatory' });

    it('the server really requires signing', async () => {
      expect((await negotiateSecurityMode(suite.samba.port)) & 0x02).toBe(0x02);
    });

    coreScenarios(
      () => suite.h,
      (name) => name.startsWith('happy path') || name.startsWith('versions'),
    );
  },
);
