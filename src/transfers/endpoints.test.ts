/**
 * Transfers to and from endpoints: the COPY and MOVE scenarios of the local tests, with a real
 * OpenSSH server (SFTP) and a real Samba share (SMB) on loopback as source or destination,
 * through the HTTP API of a real Ferry on each store; plus how endpoint fields are validated.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sambaProblem, startSamba, type SambaServer } from '../../test/helpers/samba.ts';
import {
  sftpEndpointConfig,
  sshdProblem,
  startSshd,
  type SshServer,
} from '../../test/helpers/sshd.ts';
import { storeKinds, tempDir } from '../../test/helpers/stores.ts';
import {
  sha256File,
  useTransferWorlds,
  writeRandom,
  type HistoryJson,
} from '../../test/helpers/transfers.ts';

const problem = sshdProblem() ?? sambaProblem();
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const skip = problem !== undefined && !inCI;
if (skip) console.warn(`Endpoint transfer tests SKIPPED: ${problem}`);

/** Where one endpoint's files are on this machine, and who must own fixtures there. */
interface Remote {
  name: 'partner' | 'share';
  dir: string;
  owner?: { uid: number; gid: number };
}

// Each test starts a Ferry and moves a few MiB through real servers: slower than local tests.
describe.skipIf(skip)('transfers with endpoints', { timeout: 180_000 }, () => {
  let sshd: SshServer | undefined;
  let samba: SambaServer | undefined;
  const configDir = tempDir('ferry-endpoints-');
  const configFile = path.join(configDir.dir, 'ferry.config.json');

  beforeAll(async () => {
    if (problem) throw new Error(`sshd and Samba are required in CI: ${problem}`);
    [sshd, samba] = await Promise.all([startSshd(), startSamba()]);
    // Endpoint secrets written as env:NAME are read from the server's environment.
    process.env.EP_SMB_PASSWORD = samba.password;
    mkdirSync(path.join(samba.shareDir, 'ep'));
    chownSync(path.join(samba.shareDir, 'ep'), samba.uid, samba.gid);
    writeFileSync(
      configFile,
      JSON.stringify({
        endpoints: [
          sftpEndpointConfig('partner', sshd),
          { name: 'share', url: `${samba.url}/ep`, password: 'env:EP_SMB_PASSWORD' },
        ],
      }),
    );
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), samba?.stop()]);
    configDir.remove();
  });

  const remotes = (): Remote[] => [
    { name: 'partner', dir: sshd?.root ?? '' },
    { name: 'share', dir: path.join(samba?.shareDir ?? '', 'ep'), owner: samba },
  ];

  describe.each(storeKinds)('on %s', (kind) => {
    const startWorld = useTransferWorlds();
    const start = async () =>
      await startWorld(
        kind,
        {},
        { FERRY_CONFIG: configFile, EP_SMB_PASSWORD: samba?.password ?? '' },
      );

    /** Three files in two folders under `dir`; their sha256 by relative path. */
    function tree(dir: string, owner?: { uid: number; gid: number }): Record<string, string> {
      const sums: Record<string, string> = {};
      for (const [relative, size] of [
        ['a.bin', 50_000],
        ['sub/b.bin', 3 * 1024 * 1024 + 5],
        ['sub/deeper/c.txt', 0],
      ] as const) {
        const file = path.join(dir, relative);
        sums[relative] = writeRandom(file, size);
        if (owner) {
          for (let d = path.dirname(file); d !== path.dirname(dir); d = path.dirname(d)) {
            chownSync(d, owner.uid, owner.gid);
          }
          chownSync(file, owner.uid, owner.gid);
        }
      }
      return sums;
    }

    for (const remote of ['partner', 'share'] as const) {
      it(`COPY to ${remote}: a folder arrives verified, sources remain`, async () => {
        const w = await start();
        const r = remotes().find((x) => x.name === remote) as Remote;
        const sums = tree(w.src);
        const target = `/copy-${kind}`;
        const created = await w.request('POST', '/api/v1/transfers', {
          source_path: w.src,
          destination_endpoint: remote,
          destination_path: target,
        });
        expect(created.json.detail ?? created.status).toBe(201);
        expect(created.json).toMatchObject({
          destination_endpoint: remote,
          destination_path: target,
          source_endpoint: null,
        });
        const done = await w.finished(created.json.id, 170_000);
        expect(done.error_message).toBeNull();
        expect(done.status).toBe('completed');
        for (const [relative, sum] of Object.entries(sums)) {
          expect(sha256File(path.join(r.dir, target, relative))).toBe(sum);
          expect(existsSync(path.join(w.src, relative))).toBe(true);
        }
        const history = await w.request<HistoryJson>(
          'GET',
          `/api/v1/transfers/${created.json.id}/watch-history`,
        );
        expect(history.json.total_files_completed).toBe(3);
        for (const f of history.json.files) expect(f.checksum_match).toBe(true);
        // No temp file left behind on the server.
        expect(readdirSync(path.join(r.dir, target)).sort()).toEqual(['a.bin', 'sub']);
      });

      it(`MOVE from ${remote}: files arrive verified, the remote sources are gone`, async () => {
        const w = await start();
        const r = remotes().find((x) => x.name === remote) as Remote;
        const folder = `move-${kind}`;
        const sums = tree(path.join(r.dir, folder), r.owner);
        const created = await w.request('POST', '/api/v1/transfers', {
          source_endpoint: remote,
          source_path: `/${folder}`,
          destination_path: w.dst,
          operation_mode: 'move',
        });
        expect(created.json.detail ?? created.status).toBe(201);
        const done = await w.finished(created.json.id, 170_000);
        expect(done.error_message).toBeNull();
        expect(done.status).toBe('completed');
        for (const [relative, sum] of Object.entries(sums)) {
          expect(sha256File(path.join(w.dst, relative))).toBe(sum);
          expect(existsSync(path.join(r.dir, folder, relative))).toBe(false);
        }
        // Emptied folders are pruned below the source folder, which stays.
        expect(readdirSync(path.join(r.dir, folder))).toEqual([]);
      });
    }

    it('COPY from one endpoint to the other (SFTP → SMB), verified', async () => {
      const w = await start();
      const [partner, share] = remotes() as [Remote, Remote];
      const sums = tree(path.join(partner.dir, `across-${kind}`));
      const created = await w.request('POST', '/api/v1/transfers', {
        source_endpoint: 'partner',
        source_path: `/across-${kind}`,
        destination_endpoint: 'share',
        destination_path: `/across-${kind}`,
      });
      expect((await w.finished(created.json.id, 170_000)).status).toBe('completed');
      for (const [relative, sum] of Object.entries(sums)) {
        expect(sha256File(path.join(share.dir, `across-${kind}`, relative))).toBe(sum);
      }
    });

    it('refuses unknown endpoints and paths leaving the endpoint root; lists endpoints', async () => {
      const w = await start();
      const unknown = await w.request('POST', '/api/v1/transfers', {
        source_path: w.src,
        destination_endpoint: 'nowhere',
        destination_path: '/x',
      });
      expect(unknown.status).toBe(422);
      expect(unknown.json.code).toBe('FERRY_ERR_ENDPOINT_UNKNOWN');
      for (const bad of ['/../etc', 'relative', '/a/%2e%2e/b', '/a\\b']) {
        const escaped = await w.request('POST', '/api/v1/transfers', {
          source_path: w.src,
          destination_endpoint: 'partner',
          destination_path: bad,
        });
        expect(escaped.status).toBe(400);
        expect(escaped.json.code).toBe('FERRY_ERR_PATH_OUTSIDE_ENDPOINT');
      }
      const missing = await w.request('POST', '/api/v1/transfers', {
        source_endpoint: 'partner',
        source_path: '/no-such-folder',
        destination_path: w.dst,
      });
      expect(missing.status).toBe(400);
      expect(missing.json.code).toBe('FERRY_ERR_SOURCE_NOT_FOUND');
      const listed = await w.request<{ name: string; kind: string }[]>('GET', '/api/v1/endpoints');
      expect(listed.json).toEqual([
        { name: 'partner', kind: 'sftp', description: null },
        { name: 'share', kind: 'smb', description: null },
      ]);
    });
  });
});
