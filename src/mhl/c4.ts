/**
 * C4 ids (SMPTE ST 2114, the ASC MHL chain file's required hash): the SHA-512 digest of the bytes,
 * read as one big-endian integer and written in base 58 with the C4 alphabet (no 0, O, I, l),
 * left-padded with the alphabet's zero ('1') to 88 digits, after the prefix `c4`: 90 characters.
 */
import { createHash } from 'node:crypto';

const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const digits = 88;

/** The C4 id of a SHA-512 digest (64 bytes). */
export function c4FromDigest(digest: Uint8Array): string {
  let value = BigInt(`0x${Buffer.from(digest).toString('hex') || '0'}`);
  let text = '';
  while (value > 0n) {
    text = alphabet.charAt(Number(value % 58n)) + text;
    value /= 58n;
  }
  return `c4${text.padStart(digits, '1')}`;
}

/** The 64 digest bytes behind a C4 id; throws on anything that is not one. */
export function c4ToDigest(id: string): Buffer {
  if (!/^c4[1-9A-HJ-NP-Za-km-z]{88}$/.test(id)) throw new Error(`not a C4 id: ${id}`);
  let value = 0n;
  for (const char of id.slice(2)) value = value * 58n + BigInt(alphabet.indexOf(char));
  return Buffer.from(value.toString(16).padStart(128, '0'), 'hex');
}

/** The C4 id of some bytes. */
export function c4Id(data: Uint8Array | string): string {
  return c4FromDigest(createHash('sha512').update(data).digest());
}
