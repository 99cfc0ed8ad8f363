/**
 * The hash formats of ASC MHL 2.0 and how each is computed, printed and turned back into bytes.
 * Ferry writes md5, sha1, xxh64, xxh3 and xxh128 (its own streaming hashers) and reads c4 too,
 * so a history written with C4 file hashes still verifies.
 */
import { createHash } from 'node:crypto';
import { makeHasher, type ChecksumAlgorithm, type Hasher } from '../transfers/hashing.ts';
import { c4FromDigest, c4ToDigest } from './c4.ts';

/** Every format in the order the XSD's sequence requires inside a `<hash>` element. */
export const mhlFormats = ['c4', 'md5', 'sha1', 'xxh128', 'xxh3', 'xxh64'] as const;
export type MhlFormat = (typeof mhlFormats)[number];

/** The formats Ferry can record in a generation (the transfer's read computes them). */
export const writableMhlFormats = ['md5', 'sha1', 'xxh128', 'xxh3', 'xxh64'] as const;
export type WritableMhlFormat = (typeof writableMhlFormats)[number];

/** True for a format name of the specification. */
export function isMhlFormat(name: string): name is MhlFormat {
  return (mhlFormats as readonly string[]).includes(name);
}

/** True for a format Ferry computes during a copy. */
export function isWritableMhlFormat(name: string): name is WritableMhlFormat & ChecksumAlgorithm {
  return (writableMhlFormats as readonly string[]).includes(name);
}

function makeC4Hasher(): Hasher {
  const hash = createHash('sha512');
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    digest: () => c4FromDigest(hash.digest()),
  };
}

/** A streaming hasher printing the digest as the specification does (hex, or C4 for c4). */
export function makeMhlHasher(format: MhlFormat): Hasher {
  return format === 'c4' ? makeC4Hasher() : makeHasher(format);
}

/** The digest of some bytes in `format`. */
export function hashBytes(format: MhlFormat, ...parts: Uint8Array[]): string {
  const hasher = makeMhlHasher(format);
  for (const part of parts) hasher.update(part);
  return hasher.digest();
}

/** The bytes a printed digest stands for (hex decoded, or the C4 digest). */
export function digestBytes(format: MhlFormat, digest: string): Buffer {
  return format === 'c4' ? c4ToDigest(digest) : Buffer.from(digest, 'hex');
}

/** Keeps the specification's order and drops duplicates. */
export function orderFormats<F extends MhlFormat>(formats: Iterable<F>): F[] {
  const set = new Set<MhlFormat>(formats);
  return mhlFormats.filter((f) => set.has(f)) as F[];
}
