/**
 * Reads a file once into memory and hashes it in the same pass, so the bytes that are claimed
 * (by hash) are exactly the bytes uploaded to the extractor, even if the file changes after.
 * Pipeline inputs are documents; `max_file_bytes` keeps a stray huge file from exhausting memory.
 */
import type { Storage } from '../storage/index.ts';
// The transfers' streaming hashers: one implementation of every checksum Ferry records.
import { makeHasher, type ChecksumAlgorithm } from '../transfers/index.ts';

/** A file's bytes and their hash. */
export interface Content {
  readonly blob: Blob;
  readonly size: number;
  readonly hash: string;
}

/** The file grew past the configured limit while it was read. */
export class TooLargeError extends Error {
  constructor(file: string, limit: number) {
    super(`${file} is larger than max_file_bytes (${limit})`);
    this.name = 'TooLargeError';
  }
}

/** Reads `file` from `storage`, hashing with `algorithm`. */
export async function readContent(
  storage: Storage,
  file: string,
  algorithm: ChecksumAlgorithm,
  maxBytes: number,
): Promise<Content> {
  const hash = makeHasher(algorithm);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of storage.read(file)) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new TooLargeError(file, maxBytes);
    hash.update(chunk);
    chunks.push(chunk);
  }
  return { blob: new Blob(chunks), size, hash: hash.digest() };
}
