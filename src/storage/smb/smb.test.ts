/**
 * The SMB backend against a real Samba on loopback: the conformance suite on a server with
 * Samba's default signing and on one that requires signing, then what only SMB has
 * (connection failures, logins, shares, names). Skipped with a printed reason where Samba is
 * missing, except in CI, where that fails.
 */
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  negotiateSecurityMode,
  sambaProblem,
  startSamba,
  type SambaServer,
} from '../../../test/helpers/samba.ts';
import { describeStorageConformance, localFixture } from '../conformance.ts';
import { StorageError, type Storage, type StorageFailure } from '../types.ts';
import { makeSmbStorage } from './smb.ts';

const problem = sambaProblem();
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const skip = problem !== undefined && !inCI;
if (skip) console.warn(`SMB storage tests SKIPPED: ${problem}`);

/** The reason `promise` rejects with; fails the test if it is not a StorageError. */
async function failureOf(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => expect.unreachable('expected a StorageError'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

async function drain(storage: Storage, file: string): Promise<number> {
  let bytes = 0;
  for await (const chunk of storage.read(file)) bytes += chunk.byteLength;
  return bytes;
}

/** Every operation's failure reason against one storage. */
async function reasonsOf(storage: Storage): Promise<StorageFailure[]> {
  const write = async () => {
    const handle = await storage.write('a.txt');
    await handle.write(Buffer.from('x'));
    await handle.commit();
  };
  const attempts = [
    storage.stat('a.txt'),
    storage.list(''),
    drain(storage, 'a.txt'),
    write(),
    storage.rename('a.txt', 'b.txt'),
    storage.remove('a.txt'),
  ];
  return Promise.all(attempts.map(async (attempt) => (await failureOf(attempt)).reason));
}

/** A fresh folder in the share, with a storage whose URL points at it. */
async function freshFolder(server: SambaServer, password = server.password) {
  const name = `t-${randomBytes(4).toString('hex')}`;
  const dir = path.join(server.shareDir, name);
  await mkdir(dir);
  await chown(dir, server.uid, server.gid);
  const storage = makeSmbStorage({ url: `${server.url}/${name}`, password, timeoutMs: 20_000 });
  return { name, dir, storage, fixture: localFixture(dir, server) };
}

function withSamba(signing: 'default' | 'mandatory', body: (get: () => SambaServer) => void) {
  describe.skipIf(skip)(`SMB on Samba (server signing = ${signing})`, () => {
    let server: SambaServer | undefined;
    beforeAll(async () => {
      if (problem) throw new Error(`Samba is required in CI: ${problem}`);
      server = await startSamba({ signing });
    });
    afterAll(async () => {
      await server?.stop();
    });
    const get = () => {
      if (!server) throw new Error('Samba did not start');
      return server;
    };

    it(`really runs with signing ${signing === 'mandatory' ? 'required' : 'optional'}`, async () => {
      const mode = await negotiateSecurityMode(get().port);
      expect(mode & 0x02).toBe(signing === 'mandatory' ? 0x02 : 0);
    });

    describeStorageConformance(`smb (signing ${signing})`, {
      timeResolutionMs: 1000,
      changeTime: 'write-time',
      async make() {
        const { dir, storage, fixture } = await freshFolder(get());
        return {
          storage,
          root: '',
          fixture,
          cleanup: () => rm(dir, { recursive: true, force: true }),
        };
      },
    });
    body(get);
  });
}

withSamba('mandatory', () => undefined);

describe.skipIf(skip)('SMB on Samba (encryption required)', () => {
  let server: SambaServer | undefined;
  beforeAll(async () => {
    if (problem) throw new Error(`Samba is required in CI: ${problem}`);
    server = await startSamba({ encrypt: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('writes, lists, reads, renames and removes over an encrypted session', async () => {
    if (!server) throw new Error('Samba did not start');
    const { storage, fixture } = await freshFolder(server);
    const handle = await storage.write('in/report.csv');
    await handle.write(Buffer.from('a,b\n1,2\n'));
    await handle.commit();
    expect((await storage.list('')).map((f) => [f.path, f.size])).toEqual([['in/report.csv', 8]]);
    await storage.rename('in/report.csv', 'done/report.csv');
    expect((await fixture.read('done/report.csv'))?.toString()).toBe('a,b\n1,2\n');
    expect(await drain(storage, 'done/report.csv')).toBe(8);
    await storage.remove('done/report.csv');
    expect(await storage.stat('done/report.csv')).toBeUndefined();
  });
});

withSamba('default', (get) => {
  describe('connection failures', () => {
    it('maps a closed port to unreachable for every operation', async () => {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as net.AddressInfo;
      await new Promise<void>((resolve) =>
        probe.close(() => {
          resolve();
        }),
      );
      const storage = makeSmbStorage({
        url: `smb://ferrysmb@127.0.0.1:${port}/share`,
        password: 'x',
      });
      expect(await reasonsOf(storage)).toEqual(Array(6).fill('unreachable'));
    });

    it('maps a server that accepts but never answers to unreachable', async () => {
      const silent = net.createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as net.AddressInfo;
      try {
        const storage = makeSmbStorage({
          url: `smb://ferrysmb@127.0.0.1:${port}/share`,
          password: 'x',
          timeoutMs: 1000,
        });
        expect((await failureOf(storage.stat('a.txt'))).reason).toBe('unreachable');
        expect((await failureOf(drain(storage, 'a.txt'))).reason).toBe('unreachable');
      } finally {
        silent.close();
      }
    });

    it('fails a read or write cut off by a server that went away as unreachable', async () => {
      const own = await startSamba();
      try {
        const { storage, fixture } = await freshFolder(own);
        await fixture.write('big.bin', randomBytes(64 * 1024 * 1024));
        const reader = storage.read('big.bin', { chunkSize: 64 * 1024 })[Symbol.asyncIterator]();
        expect((await reader.next()).done).toBe(false);
        const writer = await storage.write('out.bin');
        await writer.write(randomBytes(1024 * 1024));
        await own.stop();
        const rest = (async () => {
          for (;;) if ((await reader.next()).done) return;
        })();
        const readError = await failureOf(rest);
        expect(readError.reason, readError.message).toBe('unreachable');
        const finish = (async () => {
          for (let i = 0; i < 64; i += 1) await writer.write(randomBytes(1024 * 1024));
          await writer.commit();
        })();
        const writeError = await failureOf(finish);
        expect(writeError.reason, writeError.message).toBe('unreachable');
      } finally {
        await own.stop();
      }
    });

    it('says a wrong password is a refused login, without repeating the password', async () => {
      const wrong = 'not-the-Pw-42';
      const { storage } = await freshFolder(get(), wrong);
      const error = await failureOf(storage.list(''));
      expect(error.reason).toBe('permission_denied');
      expect(error.message).toMatch(/NT_STATUS_LOGON_FAILURE.*check the user name, password/);
      expect(error.message).not.toContain(wrong);
      expect(await reasonsOf(storage)).toEqual(Array(6).fill('permission_denied'));
    });

    it('names a missing share and a missing base folder as not_found', async () => {
      const server = get();
      const noShare = server.url.replace(/\/share$/, '/nosuchshare');
      const error = await failureOf(
        makeSmbStorage({ url: noShare, password: server.password }).list(''),
      );
      expect(error.reason).toBe('not_found');
      expect(error.message).toContain('no share named nosuchshare');
      const noBase = makeSmbStorage({
        url: `${server.url}/missing/base`,
        password: server.password,
      });
      expect((await failureOf(noBase.list(''))).reason).toBe('not_found');
      expect(await noBase.stat('')).toBeUndefined();
    });
  });

  describe('paths and names', () => {
    it('keeps paths inside the base folder and refuses names SMB cannot hold', async () => {
      const { storage, fixture, name } = await freshFolder(get());
      await fixture.write('a/b.txt', 'b');
      expect((await storage.stat('a/../a/./b.txt'))?.path).toBe('a/b.txt');
      expect((await storage.stat('/a/b.txt'))?.size).toBe(1);
      for (const bad of [
        '../x',
        `../../share/${name}/a/b.txt`,
        'a*',
        'q?.txt',
        'x:y',
        'a\\b',
        'l<t',
      ]) {
        expect((await failureOf(storage.stat(bad))).reason).toBe('invalid_name');
      }
      expect((await failureOf(storage.write('wild*.txt'))).reason).toBe('invalid_name');
      expect((await failureOf(storage.rename('a/b.txt', 'a/"q".txt'))).reason).toBe('invalid_name');
      expect((await failureOf(storage.remove('a/*'))).reason).toBe('invalid_name');
      expect(await fixture.read('a/b.txt')).toBeDefined();
    });

    it('refuses to remove a folder through remove()', async () => {
      const { storage, fixture } = await freshFolder(get());
      await fixture.write('dir/keep.txt', 'k');
      expect((await failureOf(storage.remove('dir'))).reason).toBe('io');
      expect(await fixture.read('dir/keep.txt')).toBeDefined();
    });

    it('reports a location without the password', async () => {
      const server = get();
      const storage = makeSmbStorage({ url: server.url, password: server.password });
      expect(storage.location).toBe(server.url);
      expect(storage.location).not.toContain(server.password);
    });
  });

  describe('close', () => {
    it('ends a read in flight and refuses later operations', async () => {
      const { storage, fixture } = await freshFolder(get());
      await fixture.write('big.bin', randomBytes(8 * 1024 * 1024));
      const reading = (async () => {
        for await (const _chunk of storage.read('big.bin', { chunkSize: 64 * 1024 })) {
          await storage.close();
        }
      })();
      await expect(reading).rejects.toBeInstanceOf(StorageError);
      expect((await failureOf(storage.stat('big.bin'))).message).toContain('closed');
    });
  });
});
