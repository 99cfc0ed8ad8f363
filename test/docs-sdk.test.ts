/**
 * The SDK examples as the docs print them (docs/sdk.md's quick start, the README's Client SDK
 * section) run against `ferry start` on the embedded store, as a reader would run them: a
 * program of their own that imports the installed package `ferry/client`, with the bootstrap
 * key in FERRY_API_KEY. Only what the reader adapts to their machine is replaced: the server's
 * address (a free port here) and the `/data` volume (a temporary folder here).
 */
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runNode, type Child } from './helpers/process.ts';
import { tempDir } from './helpers/stores.ts';
import { writeRandom } from './helpers/transfers.ts';

/** The first ```ts block after `heading` in `file`. */
function example(file: string, heading: string): string {
  const doc = readFileSync(path.join(repoRoot, file), 'utf8');
  const from = doc.indexOf(heading);
  expect(from, `${file} has "${heading}"`).toBeGreaterThanOrEqual(0);
  const code = /```ts\n([\s\S]*?)```/.exec(doc.slice(from))?.[1];
  if (code === undefined) throw new Error(`no ts block after ${heading} in ${file}`);
  return code;
}

describe('the SDK examples in the docs run as written against ferry start', () => {
  const work = tempDir('ferry-docs-sdk-');
  const data = path.join(work.dir, 'data');
  let server: Child;
  let url = '';
  let key = '';

  beforeAll(async () => {
    mkdirSync(data);
    // The reader's program: its own folder, with the package installed under node_modules.
    mkdirSync(path.join(work.dir, 'app', 'node_modules'), { recursive: true });
    symlinkSync(repoRoot, path.join(work.dir, 'app', 'node_modules', 'ferry'), 'dir');
    server = runNode('src/cli/main.ts', ['start'], {
      FERRY_DATA_DIR: path.join(work.dir, 'ferry'),
      FERRY_HTTP_PORT: '0',
      // The embedded store, as `npm start` uses it.
      FERRY_DATABASE_URL: '',
      FERRY_VOLUMES: data,
    });
    [, url = ''] = await server.waitFor(/listening on (http:\/\/\S+)/, 40_000);
    [, key = ''] = await server.waitFor(/Bootstrap admin API key[^\n]*\n\s+(fry_\S+)/, 10_000);
  }, 60_000);

  afterAll(async () => {
    if (server.proc.exitCode === null) server.proc.kill('SIGTERM');
    await server.exited;
    work.remove();
  });

  async function runExample(name: string, code: string, source: string) {
    for (let i = 0; i < 3; i++)
      writeRandom(path.join(data, source, `f${String(i)}.bin`), 64 * 1024);
    const file = path.join(work.dir, 'app', `${name}.mts`);
    writeFileSync(
      file,
      code.replaceAll('http://127.0.0.1:8000', url).replaceAll("'/data/", `'${data}/`),
    );
    const child = runNode(file, [], { FERRY_API_KEY: key });
    const exit = await child.exited;
    return { code: exit, stdout: child.stdout(), stderr: child.stderr() };
  }

  it('docs/sdk.md: the quick start submits a transfer and prints its final status', async () => {
    const code = example('docs/sdk.md', '## Quick start');
    expect(code).toContain("from 'ferry/client'");
    const run = await runExample('quick-start', code, 'in/shoot-12');
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^completed /m);
    expect(readdirSync(path.join(data, 'out', 'shoot-12')).sort()).toEqual([
      'f0.bin',
      'f1.bin',
      'f2.bin',
    ]);
  }, 60_000);

  it('README: the Client SDK section submits a transfer and prints its final status', async () => {
    const code = example('README.md', '## Client SDK');
    const run = await runExample('readme', code, 'in/a');
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('completed');
    expect(readdirSync(path.join(data, 'out', 'a')).sort()).toEqual(['f0.bin', 'f1.bin', 'f2.bin']);
  }, 60_000);
});
