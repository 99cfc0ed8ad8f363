/** C4 ids against the specification's examples and the reference tool's chain files. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenariosDir } from '../../test/helpers/mhl.ts';
import { c4Id, c4ToDigest } from './c4.ts';
import { parseChain } from './xml-read.ts';

describe('C4 ids', () => {
  it('matches the C4 specification (SMPTE ST 2114) example of empty input', () => {
    expect(c4Id('')).toBe(
      'c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT',
    );
  });

  it('equals the chain files of the reference tool for every generation', () => {
    let checked = 0;
    for (const folder of ['scenario_02/file_server/A002R2EC', 'scenario_03/file_server/A002R2EC']) {
      const dir = path.join(scenariosDir, folder, 'ascmhl');
      for (const entry of parseChain(readFileSync(path.join(dir, 'ascmhl_chain.xml'), 'utf8'))) {
        expect(c4Id(readFileSync(path.join(dir, entry.path)))).toBe(entry.c4);
        checked += 1;
      }
    }
    expect(checked).toBe(4);
  });

  it('round-trips to the SHA-512 digest, keeping leading zero digits', () => {
    const id = c4Id('abc');
    expect(id).toHaveLength(90);
    expect(c4ToDigest(id).toString('hex')).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    const zero = `c4${'1'.repeat(88)}`;
    expect(c4ToDigest(zero).equals(Buffer.alloc(64))).toBe(true);
    expect(() => c4ToDigest('c40')).toThrow(/not a C4 id/);
  });
});
