/**
 * The SFTP backend against a real OpenSSH server on loopback (its own host key, an authorized
 * client key): the conformance suite, then what only SFTP has (host keys, logins, the root).
 * Skipped with a printed reason where sshd is missing, except in CI, where that fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdProblem, startSshd, type SshServer } from '../../../test/helpers/sshd.ts';
import { describeStorageConformance, localFixture } from '../conformance.ts';
import { StorageError } from '../types.ts';
import { makeSftpStorage } from './sftp.ts';
import { parseSftpUrl } from './url.ts';

const problem = sshdProblem();
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const skip = problem !== undefined && !inCI;
if (skip) console.warn(`SFTP storage tests SKIPPED: ${problem}`);

describe.skipIf(skip)('SFTP on OpenSSH', () => {
  let server: SshServer | undefined;
  beforeAll(async () => {
    if (problem) throw new Error(`sshd is required in CI: ${problem}`);
    server = await startSshd();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const get = () => {
    if (!server) throw new Error('sshd did not start');
    return server;
  };
  const storageAt = async (folder: string, knownHosts = get().knownHostsFile) =>
    makeSftpStorage({
      url: parseSftpUrl(`${get().url}/${folder}`),
      privateKey: await readFile(get().keyFile, 'utf8'),
      knownHosts: await readFile(knownHosts, 'utf8'),
    });

  describeStorageConformance('sftp', {
    timeResolutionMs: 1000,
    changeTime: 'write-time',
    async make() {
      const name = `t-${randomBytes(4).toString('hex')}`;
      const dir = path.join(get().root, name);
      await mkdir(dir);
      return {
        storage: await storageAt(name),
        root: '',
        fixture: localFixture(dir),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  });

  it('refuses a server whose host key is not the one in known_hosts', async () => {
    const storage = await storageAt('', get().wrongKnownHostsFile);
    const error = await storage.stat('').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).reason).toBe('permission_denied');
    await storage.close();
  });

  it('refuses a key the server does not authorize', async () => {
    const storage = makeSftpStorage({
      url: parseSftpUrl(get().url),
      privateKey: await readFile(get().unauthorizedKeyFile, 'utf8'),
      knownHosts: await readFile(get().knownHostsFile, 'utf8'),
    });
    const error = await storage.stat('').catch((e: unknown) => e);
    expect((error as StorageError).reason).toBe('permission_denied');
    await storage.close();
  });

  it('refuses paths that leave the endpoint root', async () => {
    const storage = await storageAt('');
    for (const bad of ['../etc/passwd', 'a/../../x', '/etc/passwd']) {
      const error = await storage.stat(bad).catch((e: unknown) => e);
      expect((error as StorageError).reason).toBe('invalid_name');
    }
    await storage.close();
  });

  it('answers unreachable when nothing listens', async () => {
    const storage = makeSftpStorage({
      url: parseSftpUrl('sftp://nobody@127.0.0.1:1/x'),
      password: 'x',
      knownHosts: '',
    });
    const error = await storage.list('').catch((e: unknown) => e);
    expect((error as StorageError).reason).toBe('unreachable');
    await storage.close();
  });
});
