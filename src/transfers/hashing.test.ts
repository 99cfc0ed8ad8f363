/**
 * Known answers for every checksum: the reference CLIs on real temp files (xxhsum, sha256sum,
 * sha1sum, md5sum; b3sum when installed), the official BLAKE3 test vectors, and a second,
 * independent implementation of every algorithm. A missing CLI skips its case with a printed
 * reason on a laptop and fails in CI (CI=true), where .ci/run installs them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { xxh3 } from '@node-rs/xxhash';
import {
  createBLAKE3,
  createMD5,
  createSHA1,
  createSHA256,
  createXXHash3,
  createXXHash64,
  type IHasher,
} from 'hash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checksumAlgorithms,
  makeHasher,
  makeMultiHasher,
  type ChecksumAlgorithm,
} from './hashing.ts';

const MiB = 1024 * 1024;
const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** The tool that prints each algorithm's reference digest, and where it comes from. */
interface Reference {
  command: string;
  args: string[];
  debianPackage: string;
  /** b3sum is not in .ci/run: for blake3 the official vectors are the known answers. */
  requiredInCi: boolean;
}

const references: Record<ChecksumAlgorithm, Reference> = {
  xxh128: { command: 'xxhsum', args: ['-H2'], debianPackage: 'xxhash', requiredInCi: true },
  xxh3: { command: 'xxhsum', args: ['-H3'], debianPackage: 'xxhash', requiredInCi: true },
  xxh64: { command: 'xxhsum', args: ['-H1'], debianPackage: 'xxhash', requiredInCi: true },
  sha256: { command: 'sha256sum', args: [], debianPackage: 'coreutils', requiredInCi: true },
  sha1: { command: 'sha1sum', args: [], debianPackage: 'coreutils', requiredInCi: true },
  md5: { command: 'md5sum', args: [], debianPackage: 'coreutils', requiredInCi: true },
  blake3: { command: 'b3sum', args: [], debianPackage: 'b3sum', requiredInCi: false },
};

/** Digest width in hex digits: a digest with leading zeros must keep them. */
const hexLength: Record<ChecksumAlgorithm, number> = {
  xxh128: 32,
  xxh3: 16,
  xxh64: 16,
  sha256: 64,
  sha1: 40,
  md5: 32,
  blake3: 64,
};

/** Odd piece sizes (0 included) that cross every internal block and stripe boundary. */
const pieceSizes = [1, 0, 7, 4093, 65_536, MiB + 3, 13, 2 * MiB - 1];

function hashPieces(algorithm: ChecksumAlgorithm, bytes: Uint8Array): string {
  const hasher = makeHasher(algorithm);
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = pieceSizes[i % pieceSizes.length] ?? 1;
    hasher.update(bytes.subarray(at, at + size));
    at += size;
  }
  return hasher.digest();
}

/** The way the transfer engine hashes: 1 MiB chunks straight from a read stream. */
async function hashStream(algorithm: ChecksumAlgorithm, file: string): Promise<string> {
  const hasher = makeHasher(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) {
    hasher.update(chunk as Buffer);
  }
  return hasher.digest();
}

function installed(command: string): boolean {
  const { error } = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return !(error && 'code' in error && error.code === 'ENOENT');
}

/** Runs the reference CLI; reads both `hex  name` and BSD `XXH3 (name) = hex` lines. */
function referenceDigest(algorithm: ChecksumAlgorithm, file: string): string {
  const { command, args, debianPackage } = references[algorithm];
  let stdout: string;
  try {
    stdout = execFileSync(command, [...args, file], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `${command} ${args.join(' ')} failed on ${file}; install the Debian package ` +
        `${debianPackage} (CI installs it in .ci/run)`,
      { cause: error },
    );
  }
  const line = stdout.trim().split('\n')[0] ?? '';
  const digest = / = ([0-9a-f]+)$/.exec(line)?.[1] ?? /^\\?([0-9a-f]+)\s/.exec(line)?.[1];
  if (digest?.length !== hexLength[algorithm]) {
    throw new Error(`cannot read a ${algorithm} digest from ${command} output: ${stdout}`);
  }
  return digest;
}

let dir = '';
/** Files the CLIs read; `leading-zeros` hashes to 0… under xxh64, xxh3 and xxh128. */
const files = {
  empty: Buffer.alloc(0),
  'one-byte': Buffer.from('a'),
  'leading-zeros': Buffer.from('ferry 7909\n'),
  '3-MiB-and-12345-bytes': randomBytes(3 * MiB + 12_345),
};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ferry-hashing-'));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('makeHasher against the reference CLIs', () => {
  for (const algorithm of checksumAlgorithms) {
    const reference = references[algorithm];
    const cli = [reference.command, ...reference.args].join(' ');
    const skip = !installed(reference.command) && !(inCi && reference.requiredInCi);
    if (skip) {
      console.warn(
        `hashing.test: SKIPPED ${algorithm} against \`${cli}\`: ${reference.command} is not ` +
          `installed (Debian package ${reference.debianPackage})`,
      );
    }
    it.skipIf(skip)(`${algorithm} equals \`${cli}\` streamed and in odd pieces`, async () => {
      for (const [name, bytes] of Object.entries(files)) {
        const file = path.join(dir, name);
        const expected = referenceDigest(algorithm, file);
        expect(await hashStream(algorithm, file), name).toBe(expected);
        expect(hashPieces(algorithm, bytes), name).toBe(expected);
      }
    });
  }
});

/** Official BLAKE3 vectors (BLAKE3-team/BLAKE3 test_vectors.json): input byte i is i % 251. */
const blake3Vectors: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
  [8193, 'bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b'],
  [102400, 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085'],
];

describe('blake3 known answers', () => {
  it.each(blake3Vectors)('official vector, %i bytes, whole and in pieces', (length, hash) => {
    const input = Uint8Array.from({ length }, (_, i) => i % 251);
    const whole = makeHasher('blake3');
    whole.update(input);
    expect(whole.digest()).toBe(hash);
    expect(hashPieces('blake3', input)).toBe(hash);
  });
});

/** Implementations independent of the one each algorithm uses (xxh128: the one-shot native). */
const secondOpinions: Record<ChecksumAlgorithm, (bytes: Uint8Array) => Promise<string>> = {
  xxh128: async (bytes) => xxh3.xxh128(bytes).toString(16).padStart(32, '0'),
  xxh3: (bytes) => wasmDigest(createXXHash3(), bytes),
  xxh64: (bytes) => wasmDigest(createXXHash64(), bytes),
  sha256: (bytes) => wasmDigest(createSHA256(), bytes),
  sha1: (bytes) => wasmDigest(createSHA1(), bytes),
  md5: (bytes) => wasmDigest(createMD5(), bytes),
  blake3: (bytes) => wasmDigest(createBLAKE3(), bytes),
};

async function wasmDigest(hasher: Promise<IHasher>, bytes: Uint8Array): Promise<string> {
  return (await hasher).init().update(bytes).digest('hex');
}

describe('makeHasher against a second implementation', () => {
  it.each(checksumAlgorithms)('%s agrees on every test file', async (algorithm) => {
    for (const [name, bytes] of Object.entries(files)) {
      expect(hashPieces(algorithm, bytes), name).toBe(await secondOpinions[algorithm](bytes));
    }
  });
});

describe('hasher lifecycle', () => {
  it.each(checksumAlgorithms)('%s hashers interleaved chunk by chunk stay apart', (algorithm) => {
    const a = randomBytes(3 * MiB + 1);
    const b = randomBytes(2 * MiB + 7);
    const left = makeHasher(algorithm);
    const right = makeHasher(algorithm);
    for (let at = 0; at < Math.max(a.length, b.length); at += MiB) {
      left.update(a.subarray(at, at + MiB));
      right.update(b.subarray(at, at + MiB));
    }
    expect(left.digest()).toBe(hashPieces(algorithm, a));
    expect(right.digest()).toBe(hashPieces(algorithm, b));
  });

  it.each(checksumAlgorithms)('%s refuses update and digest after digest', (algorithm) => {
    const hasher = makeHasher(algorithm);
    hasher.update(Buffer.from('abc'));
    hasher.digest();
    expect(() => {
      hasher.update(Buffer.from('d'));
    }).toThrow(/already been digested/);
    expect(() => hasher.digest()).toThrow(/already been digested/);
  });

  it('names the accepted algorithms when given an unknown one', () => {
    expect(() => makeHasher('crc32' as ChecksumAlgorithm)).toThrow(
      'unknown checksum algorithm "crc32"; expected one of xxh128, xxh3, xxh64, sha256, sha1, md5, blake3',
    );
  });
});

describe('makeMultiHasher', () => {
  it('gives each algorithm the digest its own hasher gives for the same chunks', () => {
    const pieces = [randomBytes(1000), Buffer.alloc(0), randomBytes(70_000)];
    const multi = makeMultiHasher([...checksumAlgorithms, 'md5']);
    for (const piece of pieces) multi.update(piece);
    const all = multi.digest();
    expect(Object.keys(all).sort()).toEqual([...checksumAlgorithms].sort());
    for (const algorithm of checksumAlgorithms) {
      const single = makeHasher(algorithm);
      for (const piece of pieces) single.update(piece);
      expect(all[algorithm], algorithm).toBe(single.digest());
    }
  });
});
