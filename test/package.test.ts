/**
 * The package as a user installs it: `npm pack` (which compiles to dist/), then
 * - `npm install -g` of the tarball into a temporary prefix with the system's (older) `node` first
 *   on PATH: the installed `ferry` runs `version`, `cp` and `start` (with /health answering) on the
 *   Node 24 the package brings;
 * - `npm install` of the tarball into an application's folder: a plain Node program imports the
 *   SDK (`ferry/client`, `ferry/client/reporters`) through the package name, and `tsc` checks a
 *   TypeScript one against the shipped declarations.
 * Slow by nature (a build and two installs); dependencies come from npm's cache when `npm ci`
 * filled it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runProgram, type Child } from './helpers/process.ts';
import { tempDir } from './helpers/stores.ts';

const work = tempDir('ferry-package-');
const children: Child[] = [];
afterAll(async () => {
  for (const child of children) {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await child.exited;
  }
  // The prefix holds the installed package and its dependencies (hundreds of MB).
  work.remove();
}, 300_000);

/** PATH without this project's node_modules/.bin, so the system's `node` and `npm` come first. */
const systemPath = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((dir) => !dir.includes(`node_modules${path.sep}.bin`))
  .join(path.delimiter);

async function run(command: string, args: string[], cwd = work.dir) {
  const child = runProgram(command, args, { PATH: systemPath }, cwd);
  children.push(child);
  const code = await child.exited;
  if (code !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${code}:\n${child.stderr()}${child.stdout()}`,
    );
  return child.stdout();
}

/** npm's options for installing the tarball: from the cache when it can, quietly. */
const installFlags = ['--prefer-offline', '--no-audit', '--no-fund'];

let tarball = '';
beforeAll(async () => {
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', work.dir], repoRoot);
  tarball = path.join(work.dir, packed.trim().split('\n').at(-1) ?? '');
}, 600_000);

describe('the packed package', () => {
  it('ships the compiled CLI and SDK with declarations, and no sources or tests', () => {
    const listing = execFileSync('tar', ['tzf', tarball]).toString().split('\n');
    expect(listing).toEqual(
      expect.arrayContaining([
        'package/bin/ferry.js',
        'package/dist/cli/main.js',
        'package/dist/db/migrations/0001_foundation.sql',
        'package/dist/client/index.js',
        'package/dist/client/index.d.ts',
        'package/dist/client/reporters.js',
        'package/dist/client/reporters.d.ts',
      ]),
    );
    expect(listing.filter((f) => /\.test\.|^package\/src\//.test(f))).toEqual([]);
  });
});

describe('the packed CLI', () => {
  it('installs with npm and runs version, cp and start on Node 24 even when node is older', async () => {
    const systemNode = execFileSync('node', ['--version'], { env: { PATH: systemPath } });
    console.log(`package test: system node ${systemNode.toString().trim()}`);

    const prefix = path.join(work.dir, 'prefix');
    await run('npm', ['install', '--global', '--prefix', prefix, ...installFlags, tarball]);
    const ferry = path.join(prefix, 'bin', 'ferry');
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect((await run(ferry, ['version'])).trim()).toBe(version);

    writeFileSync(path.join(work.dir, 'in.txt'), 'packed and verified\n');
    const copied = await run(ferry, ['cp', 'in.txt', 'out.txt']);
    expect(copied).toMatch(/verified .*out\.txt xxh128:[0-9a-f]{32}/);
    expect(readFileSync(path.join(work.dir, 'out.txt'), 'utf8')).toBe('packed and verified\n');

    const server = runProgram(
      ferry,
      ['start'],
      {
        PATH: systemPath,
        FERRY_DATA_DIR: path.join(work.dir, 'data'),
        FERRY_HTTP_PORT: '0',
        FERRY_DATABASE_URL: '',
      },
      work.dir,
    );
    children.push(server);
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+)/, 180_000);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'healthy', service: 'ferry' });
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 1_200_000);
});

describe('the packed SDK', () => {
  it('installs into an application that imports ferry/client by name, in JavaScript and TypeScript', async () => {
    const app = path.join(work.dir, 'app');
    mkdirSync(app);
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    );
    await run('npm', ['install', ...installFlags, tarball], app);

    // A plain ES module, as an application writes it (no flags, no TypeScript).
    writeFileSync(
      path.join(app, 'main.js'),
      `import { FerryClient, FerryClientError, clientProtocol } from 'ferry/client';
import { makeReporter } from 'ferry/client/reporters';
const client = new FerryClient({ nodes: 'http://127.0.0.1:1,http://127.0.0.1:65535', env: {}, live: false });
await client.start();
await client.stop();
const error = new FerryClientError('FERRY_CLIENT_ERR_TIMEOUT', 'x');
console.log(JSON.stringify({
  nodes: client.config.nodes,
  protocol: clientProtocol,
  retryable: error.retryable,
  reporter: typeof makeReporter,
}));
`,
    );
    const imported = await run(process.execPath, ['main.js'], app);
    expect(JSON.parse(imported)).toEqual({
      nodes: ['http://127.0.0.1:1', 'http://127.0.0.1:65535'],
      protocol: '1.0',
      retryable: true,
      reporter: 'function',
    });
    // CommonJS too (Node 24 requires ES modules without top-level await).
    const required = await run(
      process.execPath,
      ['-e', "console.log(typeof require('ferry/client').FerryClient)"],
      app,
    );
    expect(required.trim()).toBe('function');
    // Only the exported entries: the sources and dist's other files stay private.
    await expect(
      run(
        process.execPath,
        ['--input-type=module', '-e', "await import('ferry/dist/cli/main.js')"],
        app,
      ),
    ).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);

    // TypeScript against the shipped declarations, libraries checked too (no skipLibCheck): a
    // wrong option type must be an error, so the declarations are not `any`.
    writeFileSync(
      path.join(app, 'consumer.ts'),
      `import { FerryClient, type JobState } from 'ferry/client';
import { makeReporter } from 'ferry/client/reporters';
const client = new FerryClient({ nodes: ['http://127.0.0.1:1'], env: {}, live: false });
export const waited: Promise<JobState> = client.wait('a-job', { timeoutMs: 10 });
export const reporter = makeReporter;
// @ts-expect-error nodes is a string or a list of strings
export const wrong = new FerryClient({ nodes: 42 });
`,
    );
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2024',
          lib: ['ES2024', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          types: [],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    await run(
      process.execPath,
      [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', app],
      app,
    );
  }, 600_000);
});
