/**
 * Resuming a file's copy to SFTP (a real OpenSSH server on loopback): an interrupted attempt
 * leaves a checkpointed temp file that the next attempt continues; a prefix that is not the
 * source's bytes fails verification and the attempt after it writes the file whole.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdProblem, startSshd, type SshServer } from '../../test/helpers/sshd.ts';
import { tempDir } from '../../test/helpers/stores.ts';
import { sha256File, writeRandom } from '../../test/helpers/transfers.ts';
import { isFerryError } from '../errors/index.ts';
import { makeLocalStorage, makeSftpStorage, parseSftpUrl, type Storage } from '../storage/index.ts';
import {
  copyFile,
  RESUMABLE_MIN_BYTES,
  tempNameFor,
  type CopyFileRequest,
  type ResumePoint,
} from './copy-file.ts';

const problem = sshdProblem();
const inCI = process.env.CI === 'true' || process.env.CI === '1';
if (problem && !inCI) console.warn(`SFTP resume tests SKIPPED: ${problem}`);

const MiB = 1024 * 1024;
const size = RESUMABLE_MIN_BYTES + 4 * MiB + 17;

describe.skipIf(problem !== undefined && !inCI)('resuming a copy to SFTP', () => {
  let server: SshServer | undefined;
  let sftp: Storage | undefined;
  const local = makeLocalStorage();
  const src = tempDir('ferry-resume-src-');
  const from = path.join(src.dir, 'big.bin');
  let sum = '';

  beforeAll(async () => {
    if (problem) throw new Error(`sshd is required in CI: ${problem}`);
    server = await startSshd();
    sftp = makeSftpStorage({
      url: parseSftpUrl(server.url),
      privateKey: await readFile(server.keyFile, 'utf8'),
      knownHosts: await readFile(server.knownHostsFile, 'utf8'),
    });
    sum = writeRandom(from, size);
  });
  afterAll(async () => {
    await sftp?.close();
    await server?.stop();
    src.remove();
  });

  /** A copy of the source to `dir/big.bin` on the server, checkpointing every 1 MiB chunk. */
  function request(dir: string, extra: Partial<CopyFileRequest> = {}): CopyFileRequest {
    return {
      source: local,
      from,
      destination: sftp as Storage,
      to: `${dir}/big.bin`,
      algorithm: 'xxh128',
      conflict: 'fail',
      tempTag: 'resume',
      chunkSize: MiB,
      checkpointEveryMs: 0,
      onCheckpoint: async () => {},
      ...extra,
    };
  }
  const onServer = (file: string) => path.join((server as SshServer).root, file);

  it('continues an interrupted upload from its last checkpoint, sending only the rest', async () => {
    const points: ResumePoint[] = [];
    const stop = new AbortController();
    const interrupted = await copyFile(
      request('a', {
        signal: stop.signal,
        onCheckpoint: async (point) => {
          points.push(point);
          if (point.offset >= 8 * MiB) stop.abort();
        },
      }),
    ).catch((e: unknown) => e);
    expect(stop.signal.aborted).toBe(true);
    expect(interrupted).toBeInstanceOf(Error);
    const last = points.at(-1) as ResumePoint;
    const temp = tempNameFor('a/big.bin', 'resume');
    expect(last).toMatchObject({ temp, size, mtimeMs: statSync(from).mtimeMs });
    // Stopped on purpose past a checkpoint: the partial file stays for the next attempt.
    expect(statSync(onServer(temp)).size).toBeGreaterThanOrEqual(last.offset);

    const resumed = await copyFile(request('a', { resume: last }));
    expect(resumed).toMatchObject({
      outcome: 'copied',
      bytes: size,
      resumedFrom: last.offset,
      bytesWritten: size - last.offset,
    });
    expect(resumed.destinationChecksum).toBe(resumed.sourceChecksum);
    expect(sha256File(onServer('a/big.bin'))).toBe(sum);
    expect(existsSync(onServer(temp))).toBe(false);
  });

  it('fails a prefix that is not the source, then writes the file whole', async () => {
    const temp = tempNameFor('b/big.bin', 'resume');
    await mkdir(onServer('b'));
    // A partial file whose first 8 MiB are not the source's bytes.
    writeFileSync(onServer(temp), randomBytes(8 * MiB));
    const point = { temp, offset: 8 * MiB, size, mtimeMs: statSync(from).mtimeMs };
    const error = await copyFile(request('b', { resume: point })).catch((e: unknown) => e);
    expect(isFerryError(error) && error.code).toBe('FERRY_ERR_CHECKSUM_MISMATCH');
    expect(existsSync(onServer(temp))).toBe(false);

    // The same recorded point again (as a retry reads it from the row): nothing to keep.
    const whole = await copyFile(request('b', { resume: point }));
    expect(whole).toMatchObject({ resumedFrom: 0, bytesWritten: size });
    expect(sha256File(onServer('b/big.bin'))).toBe(sum);
  });

  it('writes the file whole when the partial is of another source version', async () => {
    const temp = tempNameFor('c/big.bin', 'resume');
    await mkdir(onServer('c'));
    writeFileSync(onServer(temp), readFileSync(from).subarray(0, 8 * MiB));
    const mtimeMs = statSync(from).mtimeMs;
    const point = { temp, offset: 8 * MiB, size, mtimeMs: mtimeMs - 5000 };
    const whole = await copyFile(request('c', { resume: point }));
    expect(whole).toMatchObject({ resumedFrom: 0, bytesWritten: size });
    expect(sha256File(onServer('c/big.bin'))).toBe(sum);
  });
});
