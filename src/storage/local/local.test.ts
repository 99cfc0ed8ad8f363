import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeStorageConformance, localFixture } from '../conformance.ts';
import { makeLocalStorage } from './local.ts';

describeStorageConformance('local', {
  timeResolutionMs: 0,
  changeTime: 'status-change',
  async make() {
    const root = await mkdtemp(path.join(tmpdir(), 'ferry-local-'));
    return {
      storage: makeLocalStorage(),
      root,
      fixture: localFixture(root),
      async cleanup() {
        await rm(root, { recursive: true, force: true });
      },
    };
  },
});
