/**
 * Ferry as real processes: start-up, the data-dir lock, shutdown during a burst of jobs,
 * crash recovery, and two processes racing for one lease on PostgreSQL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runNode, type Child } from './helpers/process.ts';
import { freshDatabase, storeKinds, tempDir } from './helpers/stores.ts';

const cli = 'src/cli/main.ts';
const burstNode = 'test/fixtures/burst-node.ts';
const leaseClient = 'test/fixtures/lease-client.ts';
const children: Child[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

function spawnTracked(...args: Parameters<typeof runNode>): Child {
  const child = runNode(...args);
  children.push(child);
  return child;
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await child.exited;
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Env for one node: its own data dir and, on PostgreSQL, its own database. */
async function nodeEnv(kind: string): Promise<Record<string, string>> {
  const data = tempDir();
  cleanups.push(data.remove);
  const env: Record<string, string> = {
    FERRY_DATA_DIR: data.dir,
    FERRY_HTTP_PORT: '0',
    FERRY_DATABASE_URL: '',
  };
  if (kind === 'postgres') {
    const database = await freshDatabase();
    cleanups.push(database.drop);
    env.FERRY_DATABASE_URL = database.url;
  }
  return env;
}

describe('ferry start on the embedded store', () => {
  it('answers /health, prints the store and a one-time admin key, and exits 0 on SIGTERM', async () => {
    const env = await nodeEnv('pglite');
    const node = spawnTracked(cli, ['start'], env);
    const [, url] = await node.waitFor(/listening on (http:\/\/\S+)/, 45_000);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'healthy',
      service: 'ferry',
      store: 'pglite',
    });
    expect(node.stdout()).toMatch(/store: embedded PGlite, data in /);
    expect(node.stdout()).toMatch(/embedded store is for one process on one machine/);
    expect(node.stdout()).toMatch(/Bootstrap admin API key \(shown once[^)]*\):\s+fry_/);
    node.proc.kill('SIGTERM');
    expect(await node.exited).toBe(0);

    const again = spawnTracked(cli, ['start'], env);
    await again.waitFor(/listening on/, 45_000);
    expect(again.stdout()).not.toMatch(/Bootstrap admin API key/);
  });

  it('refuses a second process on the same data dir, naming the lock', async () => {
    const env = await nodeEnv('pglite');
    const first = spawnTracked(cli, ['start'], env);
    await first.waitFor(/listening on/, 45_000);
    const second = spawnTracked(cli, ['start'], env);
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.stderr()).toMatch(
      /in use by another Ferry process \(pid \d+\); lock file .*ferry\.lock/,
    );
    expect(second.stderr()).toMatch(/fix: /);
    // The first process is unharmed.
    const [, url] = await first.waitFor(/listening on (http:\/\/\S+)/);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('creates an admin with `ferry users create-admin` who can log in and use admin routes', async () => {
    const env = await nodeEnv('pglite');
    const create = spawnTracked(
      cli,
      ['users', 'create-admin', '--email', 'root@example.com', '--password-stdin'],
      env,
    );
    create.proc.stdin.end('analytical1\n');
    expect(await create.exited).toBe(0);
    expect(create.stdout()).toMatch(/created admin root <root@example.com>/);
    const node = spawnTracked(cli, ['start'], env);
    const [, url] = await node.waitFor(/listening on (http:\/\/\S+)/, 45_000);
    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'root@example.com', password: 'analytical1' }),
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const metrics = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(metrics.status).toBe(200);
    // An admin account exists already, so no bootstrap key is made.
    expect(node.stdout()).not.toMatch(/Bootstrap admin API key/);
  });

  it('refuses a bad configuration at start, naming the key and the fix', async () => {
    const env = await nodeEnv('pglite');
    const node = spawnTracked(cli, ['start'], { ...env, FERRY_HTTP_PORT: 'eighty' });
    expect(await node.exited).toBe(1);
    expect(node.stderr()).toMatch(
      /http\.port \(from FERRY_HTTP_PORT\): must be a whole number; got 'eighty'/,
    );
    expect(node.stderr()).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe.each(storeKinds)('jobs across process lifetimes on %s', (kind) => {
  it('SIGTERM during a burst: exits within 15 s, and after restart every job is done, none twice', async () => {
    const env = await nodeEnv(kind);
    const jobs = 300;
    const node = spawnTracked(burstNode, ['enqueue', String(jobs)], env);
    await node.waitFor(/ready/, 30_000);
    const signalled = Date.now();
    node.proc.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    // The signal arrived mid-burst: work was left for the next start.
    const [, doneAtSignal] = /stopping with (\d+) done/.exec(node.stdout()) ?? [];
    expect(Number(doneAtSignal)).toBeLessThan(jobs);
    // A requirement of the issue (bounded shutdown), not a performance figure.
    expect(Date.now() - signalled).toBeLessThan(15_000);

    const drain = spawnTracked(burstNode, ['drain'], env);
    const [, result] = await drain.waitFor(/(\{"done".*\})/, 120_000);
    expect(JSON.parse(result ?? '{}')).toEqual({ done: jobs, runs: jobs });
  });

  it('SIGKILL during a burst: after restart every job is done', async () => {
    const env = await nodeEnv(kind);
    const jobs = 100;
    const extra: Record<string, string> =
      kind === 'postgres' ? { FERRY_JOBS_HEARTBEAT_SECONDS: '10' } : {};
    const node = spawnTracked(burstNode, ['enqueue', String(jobs)], { ...env, ...extra });
    await node.waitFor(/ready/, 30_000);
    node.proc.kill('SIGKILL');
    await node.exited;

    const drain = spawnTracked(burstNode, ['drain'], { ...env, ...extra });
    const [, result] = await drain.waitFor(/(\{"done".*\})/, 150_000);
    const { done, runs } = JSON.parse(result ?? '{}') as { done: number; runs: number };
    expect(done).toBe(jobs);
    // A job interrupted by the kill runs again (at-least-once); no finished job runs twice.
    expect(runs).toBeGreaterThanOrEqual(jobs);
    expect(runs).toBeLessThanOrEqual(jobs + 5);
  }, 200_000);
});

describe.runIf(storeKinds.includes('postgres'))(
  'two processes racing for one lease on PostgreSQL',
  () => {
    it('gives the lease to exactly one, and refuses the stale holder’s fenced write', async () => {
      const database = await freshDatabase();
      cleanups.push(database.drop);
      const pg = await import('pg');
      const admin = new pg.default.Client({ connectionString: database.url });
      await admin.connect();
      cleanups.push(() => admin.end());
      const { migrate, makePostgresDb } = await import('../src/db/index.ts');
      const db = makePostgresDb({ url: database.url, poolMax: 1 });
      await migrate(db);
      await db.close();
      await admin.query('CREATE TABLE lease_writes (holder text, token int)');

      const a = spawnTracked(leaseClient, [database.url, 'node-a']);
      const b = spawnTracked(leaseClient, [database.url, 'node-b']);
      const ask = async (child: Child, line: string, nth: number) => {
        child.proc.stdin.write(`${line}\n`);
        const matches = await child.waitFor(new RegExp(`^(?:.*\\n){${nth}}`), 15_000);
        const lines = child.stdout().trim().split('\n');
        return JSON.parse(lines[nth - 1] ?? matches[0]) as {
          ok: boolean;
          token?: number;
          code?: string;
        };
      };

      const [ra, rb] = await Promise.all([
        ask(a, 'acquire race 60000', 1),
        ask(b, 'acquire race 60000', 1),
      ]);
      expect([ra.ok, rb.ok].filter(Boolean)).toHaveLength(1);
      const [winner, loser] = ra.ok ? [a, b] : [b, a];
      const first = ra.ok ? ra : rb;

      // Time passes for the winner (a pause longer than its lease): the lease expires.
      await admin.query(
        `UPDATE ferry.leases SET expires_at = now() - interval '1 second' WHERE name = 'race'`,
      );
      const taken = await ask(loser, 'acquire race 60000', 2);
      expect(taken).toEqual({ ok: true, token: (first.token ?? 0) + 1 });
      expect(await ask(loser, 'write race', 3)).toEqual({ ok: true });
      expect(await ask(winner, 'write race', 2)).toEqual({
        ok: false,
        code: 'FERRY_ERR_LEASE_LOST',
      });

      const { rows } = await admin.query<{ token: number }>('SELECT token FROM lease_writes');
      expect(rows).toEqual([{ token: (first.token ?? 0) + 1 }]);
      a.proc.stdin.end('exit\n');
      b.proc.stdin.end('exit\n');
    });
  },
);
