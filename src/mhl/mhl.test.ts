/**
 * ASC MHL against the reference tool's own example histories (../shared/asc-mhl/scenarios, whose
 * log.txt files print the expected hashes), the XSDs (xmllint --nonet), and the CLI on the
 * failure cases: a corrupted, a missing and a new file.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMhl } from '../cli/mhl.ts';
import { makeLocalStorage } from '../storage/index.ts';
import { copyScenario, scenariosDir, validateXml } from '../../test/helpers/mhl.ts';
import { loadHistory, parseGeneration, sealFolder, verifyFolder } from './index.ts';

const work = mkdtempSync(path.join(tmpdir(), 'ferry-mhl-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});
const storage = makeLocalStorage();

/** Every history folder of the scenarios (a folder holding `ascmhl/`). */
function histories(): string[] {
  const found: string[] = [];
  for (const scenario of readdirSync(scenariosDir)) {
    for (const drive of readdirSync(path.join(scenariosDir, scenario))) {
      const dir = path.join(scenariosDir, scenario, drive);
      if (drive.endsWith('.txt')) continue;
      for (const folder of readdirSync(dir)) found.push(path.join(scenario, drive, folder));
    }
  }
  return found;
}

/** `label  xxh64: <hex> (content), <hex> (structure)` lines of a log, by label. */
function logHashes(scenario: string): {
  files: Map<string, string>;
  dirs: Map<string, [string, string]>;
} {
  const text = readFileSync(path.join(scenariosDir, scenario, 'log.txt'), 'utf8');
  const files = new Map<string, string>();
  const dirs = new Map<string, [string, string]>();
  for (const m of text.matchAll(/hash for\s+(\S+)\s+(\w+): ([0-9a-f]+)\n/g))
    files.set(`${m[1]} ${m[2]}`, m[3] ?? '');
  for (const m of text.matchAll(
    /calculated (?:directory hash for (\S+)|root hash)\s+(\w+): ([0-9a-f]+) \(content\), ([0-9a-f]+) \(structure\)/g,
  ))
    dirs.set(`${m[1] ?? ''} ${m[2]}`, [m[3] ?? '', m[4] ?? '']);
  return { files, dirs };
}

describe('the reference scenarios', () => {
  it.each(histories())('%s: every generation is read and every file verifies', async (folder) => {
    const history = await loadHistory(storage, path.join(scenariosDir, folder));
    expect(history?.problems).toEqual([]);
    expect(history?.generations.length).toBeGreaterThan(0);
    const result = await verifyFolder(storage, path.join(scenariosDir, folder));
    expect(result.missing).toEqual([]);
    expect(result.files.map((f) => f.verdict)).toEqual(['verified', 'verified', 'verified']);
  });

  it.each([
    ['scenario_01', ['xxh64']],
    ['scenario_03', ['md5']],
  ] as const)(
    "%s copied onward gets the reference tool's file, folder and root hashes",
    async (scenario, formats) => {
      const folder = copyScenario(
        `${scenario}/travel_01/A002R2EC`,
        mkdtempSync(path.join(work, 'onward-')),
      );
      const result = await sealFolder(storage, folder, {
        formats: [...formats],
        process: 'transfer',
      });
      const written = readFileSync(path.join(folder, 'ascmhl', result.written.fileName), 'utf8');
      const generation = parseGeneration(written);
      const expected = logHashes(scenario);
      const format = formats[0];
      for (const entry of generation.entries) {
        if (entry.kind === 'file') {
          const value = entry.hashes.find((h) => h.format === format)?.value;
          expect(value).toBe(expected.files.get(`${entry.path} ${format}`));
          expect(entry.hashes.every((h) => h.action === 'verified')).toBe(true);
        } else {
          const pair = expected.dirs.get(`${entry.path} ${format}`);
          expect([entry.content[0]?.value, entry.structure[0]?.value]).toEqual(pair);
        }
      }
      expect([generation.root?.content[0]?.value, generation.root?.structure[0]?.value]).toEqual(
        expected.dirs.get(` ${format}`),
      );
      expect(result.written.sequence).toBe(2);
      validateXml('ASCMHL.xsd', [path.join(folder, 'ascmhl', result.written.fileName)]);
      validateXml('ASCMHLDirectory.xsd', [path.join(folder, 'ascmhl', 'ascmhl_chain.xml')]);
      const history = await loadHistory(storage, folder);
      expect(history?.problems).toEqual([]);
      expect(history?.generations.map((g) => g.sequence)).toEqual([1, 2]);
    },
  );
});

describe('a generation of every format Ferry writes', () => {
  it('matches xxhsum -H1/-H2/-H3, md5sum and sha1sum and validates against the XSD', async () => {
    const folder = path.join(work, 'formats');
    const files = {
      'a.bin': Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a),
      'sub/b.txt': 'hello\n',
      'sub/deep/c': '',
    };
    for (const [name, data] of Object.entries(files)) {
      const file = path.join(folder, name);
      execFileSync('mkdir', ['-p', path.dirname(file)]);
      writeFileSync(file, data);
    }
    const formats = ['md5', 'sha1', 'xxh128', 'xxh3', 'xxh64'] as const;
    const result = await sealFolder(storage, folder, {
      formats: [...formats],
      process: 'in-place',
    });
    const tools: Record<(typeof formats)[number], [string, string[]]> = {
      md5: ['md5sum', []],
      sha1: ['sha1sum', []],
      xxh128: ['xxhsum', ['-H2']],
      xxh3: ['xxhsum', ['-H3']],
      xxh64: ['xxhsum', ['-H1']],
    };
    for (const file of result.files) {
      expect(file.verdict).toBe('new');
      for (const format of formats) {
        const [command, args] = tools[format];
        const out = execFileSync(command, [...args, path.join(folder, file.path)], {
          encoding: 'utf8',
        });
        // xxhsum -H3 prints "XXH3 (<file>) = <hex>"; the others print the bare digest first.
        const reference = out.startsWith('XXH3 (')
          ? out.trim().split(' = ').at(-1)
          : out.split(/\s+/)[0];
        expect(file.hashes.get(format), `${format} of ${file.path}`).toBe(reference);
      }
    }
    validateXml('ASCMHL.xsd', [path.join(folder, 'ascmhl', result.written.fileName)]);
  });
});

describe('failure cases', () => {
  /** The CLI's code path in this process (spawning node per call costs seconds here). */
  async function cli(...args: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const [sub, folder, ...rest] = args;
    const hashes = rest.filter((_, i) => rest[i - 1] === '--hash');
    const code = await runMhl(sub, folder, { hashes, json: false, out: (l) => lines.push(l) });
    return { code, out: lines.join('\n') };
  }

  /** The real binary, once: `ferry mhl` is wired into the command. */
  function spawned(...args: string[]): { code: number; out: string } {
    try {
      const out = execFileSync(
        process.execPath,
        [path.resolve('src/cli/main.ts'), 'mhl', ...args],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      return { code: 0, out };
    } catch (error) {
      const e = error as { status: number; stdout: string };
      return { code: e.status, out: e.stdout };
    }
  }

  it('a corrupted file fails, a missing file is reported, a new file is new', async () => {
    const folder = copyScenario(
      'scenario_01/travel_01/A002R2EC',
      mkdtempSync(path.join(work, 'fail-')),
    );
    appendFileSync(path.join(folder, 'Sidecar.txt'), 'x');
    unlinkSync(path.join(folder, 'Clips', 'A002C007_141024_R2EC.mov'));
    writeFileSync(path.join(folder, 'Clips', 'A002C008.mov'), 'new');
    const verify = await cli('verify', folder);
    expect(verify.code).toBe(1);
    expect(verify.out).toMatch(/^failed\s+Sidecar\.txt .*xxh64: expected 3ab5a4166b9bde44/m);
    expect(verify.out).toMatch(/^missing\s+Clips\/A002C007_141024_R2EC\.mov$/m);
    expect(verify.out).toMatch(/^new\s+Clips\/A002C008\.mov$/m);
    expect(verify.out).toMatch(/^verified\s+Clips\/A002C006_141024_R2EC\.mov$/m);
    const create = await cli('create', folder, '--hash', 'xxh64');
    expect(create.code).toBe(1);
    const history = await loadHistory(storage, folder);
    const latest = history?.generations.at(-1)?.generation;
    const actions = new Map(
      latest?.entries.flatMap((e) => (e.kind === 'file' ? [[e.path, e.hashes[0]?.action]] : [])),
    );
    expect(actions.get('Sidecar.txt')).toBe('failed');
    expect(actions.get('Clips/A002C008.mov')).toBe('original');
    expect(actions.get('Clips/A002C006_141024_R2EC.mov')).toBe('verified');
    const info = spawned('info', folder);
    expect(info.code).toBe(0);
    expect(info.out.trim().split('\n')).toHaveLength(2);
  });

  it('a folder that is not there, or a history that is not XML, is a message and exit 1', async () => {
    expect((await cli('verify', path.join(work, 'nothing-here'))).code).toBe(1);
    const folder = mkdtempSync(path.join(work, 'junk-'));
    mkdirSync(path.join(folder, 'ascmhl'));
    writeFileSync(path.join(folder, 'ascmhl', '0001_x_2020-01-01_000000Z.mhl'), 'not xml');
    expect((await cli('info', folder)).code).toBe(1);
    expect((await cli('bogus', folder)).code).toBe(2);
  });

  it('a generation whose bytes changed no longer matches its C4 id in the chain', async () => {
    const folder = copyScenario(
      'scenario_02/file_server/A002R2EC',
      mkdtempSync(path.join(work, 'c4-')),
    );
    const file = path.join(folder, 'ascmhl', '0001_A002R2EC_2020-01-16_091500Z.mhl');
    writeFileSync(file, readFileSync(file, 'utf8').replace('myHost.local', 'otherHost.lan'));
    const history = await loadHistory(storage, folder);
    expect(history?.problems).toEqual([
      'generation 0001_A002R2EC_2020-01-16_091500Z.mhl does not match its C4 id in the chain',
    ]);
    expect((await cli('verify', folder)).code).toBe(1);
  });
});
