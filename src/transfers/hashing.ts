/**
 * Streaming checksums for verified transfers. Each algorithm comes from the fastest correct
 * streaming implementation measured on our machines (`npm run bench hashing` prints the figures
 * and warns when another candidate overtakes the choice): node:crypto (OpenSSL) for
 * sha256/sha1/md5, @node-rs/xxhash for xxh64/xxh3, xxhash-addon (native, N-API) for xxh128
 * (@node-rs/xxhash hashes xxh128 only in one shot; hash-wasm's WebAssembly one measured slower),
 * @napi-rs/blake-hash for blake3.
 *
 * Digests are lowercase hex in the canonical big-endian form that `xxhsum -H1/-H2/-H3`,
 * `sha256sum`, `sha1sum`, `md5sum` and `b3sum` print, zero-padded to the full width.
 */
import { createHash } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { Xxh64, xxh3 } from '@node-rs/xxhash';
import xxhashAddon from 'xxhash-addon';

/** Every checksum a transfer can record; xxh128 is the default (ASC MHL's choice). */
export const checksumAlgorithms = [
  'xxh128',
  'xxh3',
  'xxh64',
  'sha256',
  'sha1',
  'md5',
  'blake3',
] as const;
export type ChecksumAlgorithm = (typeof checksumAlgorithms)[number];

/** A running checksum: feed chunks in order, then read the digest once. */
export interface Hasher {
  /** Adds the next bytes; a chunk may be any length, including 0, and any view of a buffer. */
  update(chunk: Uint8Array): void;
  /** Lowercase hex, canonical big-endian, full width; ends the hasher. */
  digest(): string;
}

/** Which library computes each algorithm, for logs and the benchmark. */
export const checksumImplementations: Readonly<Record<ChecksumAlgorithm, string>> = Object.freeze({
  xxh128: 'xxhash-addon XXHash128 (native)',
  xxh3: '@node-rs/xxhash xxh3.Xxh3',
  xxh64: '@node-rs/xxhash Xxh64',
  sha256: 'node:crypto',
  sha1: 'node:crypto',
  md5: 'node:crypto',
  blake3: '@napi-rs/blake-hash Blake3Hasher',
});

/** 64-bit values print as 16 hex digits, leading zeros kept, as xxhsum does. */
function hex64(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

function makeOpenSslHasher(algorithm: 'sha256' | 'sha1' | 'md5'): Hasher {
  const hash = createHash(algorithm);
  return {
    update: function updateOpenSsl(chunk) {
      hash.update(chunk);
    },
    digest: function digestOpenSsl() {
      return hash.digest('hex');
    },
  };
}

function makeXxh64Hasher(): Hasher {
  const hash = new Xxh64();
  return {
    update: function updateXxh64(chunk) {
      hash.update(chunk);
    },
    digest: function digestXxh64() {
      return hex64(hash.digest());
    },
  };
}

function makeXxh3Hasher(): Hasher {
  const hash = xxh3.Xxh3.withSeed();
  return {
    update: function updateXxh3(chunk) {
      hash.update(chunk);
    },
    digest: function digestXxh3() {
      return hex64(hash.digest());
    },
  };
}

/** Seed 0, as `xxhsum -H2` uses (8 bytes: a seed; 136 or more would be a custom secret). */
const xxh128Seed = Buffer.alloc(8);

function makeXxh128Hasher(): Hasher {
  const hash = new xxhashAddon.XXHash128(xxh128Seed);
  return {
    update: function updateXxh128(chunk) {
      // The binding takes a Buffer; a view over the same bytes copies nothing.
      hash.update(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    },
    digest: function digestXxh128() {
      return hash.digest().toString('hex');
    },
  };
}

function makeBlake3Hasher(): Hasher {
  const hash = new Blake3Hasher();
  return {
    update: function updateBlake3(chunk) {
      // This version's binding takes a Buffer; a view over the same bytes copies nothing.
      hash.update(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    },
    digest: function digestBlake3() {
      return hash.digest('hex');
    },
  };
}

const factories: Readonly<Record<ChecksumAlgorithm, () => Hasher>> = {
  xxh128: makeXxh128Hasher,
  xxh3: makeXxh3Hasher,
  xxh64: makeXxh64Hasher,
  sha256: () => makeOpenSslHasher('sha256'),
  sha1: () => makeOpenSslHasher('sha1'),
  md5: () => makeOpenSslHasher('md5'),
  blake3: makeBlake3Hasher,
};

/**
 * A new streaming hasher for `algorithm`; synchronous, no setup call needed. The libraries differ
 * on what happens after digest (OpenSSL throws, the native ones keep going), so every hasher
 * here refuses `update` and a second `digest` alike.
 */
export function makeHasher(algorithm: ChecksumAlgorithm): Hasher {
  if (!Object.hasOwn(factories, algorithm)) {
    throw new Error(
      `unknown checksum algorithm ${JSON.stringify(algorithm)}; expected one of ${checksumAlgorithms.join(', ')}`,
    );
  }
  const inner = factories[algorithm]();
  let done = false;
  function ensureOpen(): void {
    if (done) {
      throw new Error(
        `this ${algorithm} hasher has already been digested; make a new one with makeHasher() for the next file`,
      );
    }
  }
  return {
    update: function update(chunk) {
      ensureOpen();
      inner.update(chunk);
    },
    digest: function digest() {
      ensureOpen();
      done = true;
      return inner.digest();
    },
  };
}

/** Several checksums of one stream: every chunk goes to each hasher (ASC MHL's formats). */
export interface MultiHasher {
  update(chunk: Uint8Array): void;
  /** Each algorithm's digest; ends every hasher. */
  digest(): Partial<Record<ChecksumAlgorithm, string>>;
}

/** Hashes one read with each of `algorithms` (duplicates hashed once). */
export function makeMultiHasher(algorithms: readonly ChecksumAlgorithm[]): MultiHasher {
  const hashers = [...new Set(algorithms)].map((a) => [a, makeHasher(a)] as const);
  return {
    update: function updateAll(chunk) {
      for (const [, hasher] of hashers) hasher.update(chunk);
    },
    digest: function digestAll() {
      return Object.fromEntries(hashers.map(([a, hasher]) => [a, hasher.digest()]));
    },
  };
}
