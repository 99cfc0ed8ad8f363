/**
 * The transfer commands of the `ferry` CLI as a user runs them: `cp` in-process, and `watch` /
 * `transfers` against a running server.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, type Child } from './helpers/process.ts';
import { tempDir } from './helpers/stores.ts';
import { sha256File, writeRandom } from './helpers/transfers.ts';

async function ferry(args: string[], env: Record<string, string> = {}) {
  const child = runNode('src/cli/main.ts', args, env);
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('ferry cp', () => {
  const work = tempDir('ferry-cli-cp-');
  afterAll(work.remove);

  it('copies a file with verification and prints its checksum', async () => {
    const sum = writeRandom(path.join(work.dir, 'a.bin'), 300 * 1024);
    const result = await ferry(['cp', path.join(work.dir, 'a.bin'), path.join(work.dir, 'out/')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^verified .*out\/a\.bin xxh128:[0-9a-f]{32}$/m);
    expect(sha256File(path.join(work.dir, 'out/a.bin'))).toBe(sum);
    expect(result.stderr).toMatch(/100\.0%/);
  });

  it('moves a folder: files verified at the destination, sources and emptied folders gone', async () => {
    writeRandom(path.join(work.dir, 'tree/x/1.bin'), 1024);
    const sum = writeRandom(path.join(work.dir, 'tree/x/y/2.bin'), 1024);
    const result = await ferry([
      'cp',
      path.join(work.dir, 'tree'),
      path.join(work.dir, 'moved'),
      '--move',
      '--algo',
      'sha256',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/2 of 2 files verified/);
    expect(sha256File(path.join(work.dir, 'moved/x/y/2.bin'))).toBe(sum);
    expect(existsSync(path.join(work.dir, 'tree'))).toBe(false);
  });

  it('exits 1 with the reason and a fix on a conflict or a bad flag', async () => {
    writeRandom(path.join(work.dir, 'c.bin'), 10);
    writeRandom(path.join(work.dir, 'd.bin'), 10);
    const conflict = await ferry([
      'cp',
      path.join(work.dir, 'c.bin'),
      path.join(work.dir, 'd.bin'),
    ]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/Destination already exists.*\n\s+fix:/);
    const bad = await ferry([
      'cp',
      path.join(work.dir, 'c.bin'),
      path.join(work.dir, 'e.bin'),
      '--algo',
      'crc32',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--algo must be one of xxh128/);
  });
});

describe('ferry watch and ferry transfers against a server', () => {
  const volume = tempDir('ferry-cli-watch-');
  const data = tempDir('ferry-cli-data-');
  let server: Child;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = runNode('src/cli/main.ts', ['start'], {
      FERRY_DATA_DIR: data.dir,
      FERRY_DATABASE_URL: '',
      FERRY_HTTP_PORT: '0',
      FERRY_VOLUMES: volume.dir,
      FERRY_AUTH_ANONYMOUS: 'loopback',
      FERRY_TRANSFERS_POLL_INTERVAL_SECONDS: '0.2',
    });
    const [, url = ''] = await server.waitFor(/listening on (http:\/\/\S+)/, 60_000);
    env = { FERRY_SERVER: url };
  });
  afterAll(async () => {
    server.proc.kill('SIGTERM');
    await server.exited;
    volume.remove();
    data.remove();
  });

  it('adds, lists, pauses, resumes and removes a watch profile; lists and shows transfers', async () => {
    const src = path.join(volume.dir, 'in');
    const dst = path.join(volume.dir, 'out');
    mkdirSync(src);
    mkdirSync(dst);
    const added = await ferry(['watch', 'add', src, dst, '--settle', '0'], env);
    expect(added.code).toBe(0);
    const id = /watching:\s+(\d+)/.exec(added.stdout)?.[1] ?? '';
    expect(id).not.toBe('');
    expect((await ferry(['watch', 'ls'], env)).stdout).toMatch(new RegExp(`${id}\\s+active`));
    expect((await ferry(['watch', 'pause', id], env)).stdout).toMatch(/Watch paused/);
    expect((await ferry(['watch', 'resume', id], env)).stdout).toMatch(/Watch resumed/);
    const listed = await ferry(['transfers', 'ls', '--json'], env);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      total: 1,
      items: [{ id: Number(id), status: 'active' }],
    });
    expect((await ferry(['transfers', 'show', id], env)).stdout).toContain(src);
    expect((await ferry(['watch', 'rm', id], env)).code).toBe(0);
    const gone = await ferry(['transfers', 'show', id], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(new RegExp(`Transfer with ID ${id} not found`));
  });

  it('explains an unreachable server', async () => {
    const result = await ferry(['transfers', 'ls'], { FERRY_SERVER: 'http://127.0.0.1:9' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot reach the Ferry server at http:\/\/127\.0\.0\.1:9/);
  });
});
