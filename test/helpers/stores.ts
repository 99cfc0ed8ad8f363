/**
 * Test stores: every store-dependent suite runs once per store kind in FERRY_TEST_STORES
 * (set by `npm test`: both in CI, PGlite only on a laptop without PostgreSQL). Each PostgreSQL
 * test gets its own fresh database, dropped afterwards unless FERRY_TEST_KEEP=1.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config/index.ts';
import {
  makePgliteDb,
  makePostgresDb,
  migrate,
  type Db,
  type StoreKind,
} from '../../src/db/index.ts';

/** Admin URL used to create and drop per-test databases. */
export const adminUrl =
  process.env.FERRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The store kinds this run covers. */
export const storeKinds: StoreKind[] = (process.env.FERRY_TEST_STORES ?? 'pglite')
  .split(',')
  .filter((k): k is StoreKind => k === 'pglite' || k === 'postgres');

/** A fresh PostgreSQL database; `drop()` removes it (skipped with FERRY_TEST_KEEP=1). */
export async function freshDatabase(
  prefix = 'ferry_t_',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}${randomBytes(5).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      if (process.env.FERRY_TEST_KEEP === '1') return;
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The admin URL with its password hidden, for messages. */
export const adminUrlShown = adminUrl.replace(/:[^:@/]+@/, ':***@');

/**
 * Why the PostgreSQL at FERRY_TEST_DATABASE_URL cannot be used, or undefined when it answers.
 * `npm test` and the benchmarks ask this before touching PostgreSQL.
 */
export async function postgresProblem(): Promise<string | undefined> {
  try {
    await withAdmin((c) => c.query('SELECT 1'));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  }
}

/**
 * A migrated store of `kind` for tests below the app (an in-memory PGlite, or a fresh
 * PostgreSQL database); `close()` closes it and drops the database.
 */
export async function migratedDb(kind: StoreKind): Promise<{ db: Db; close(): Promise<void> }> {
  if (kind === 'pglite') {
    const pglite = await makePgliteDb(undefined);
    await migrate(pglite);
    return { db: pglite, close: () => pglite.close() };
  }
  const database = await freshDatabase();
  const postgres = makePostgresDb({ url: database.url, poolMax: 5 });
  await migrate(postgres);
  return {
    db: postgres,
    async close() {
      await postgres.close();
      await database.drop();
    },
  };
}

/** A temporary folder, removed by the returned function. */
export function tempDir(prefix = 'ferry-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    dir,
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Everything a test needs to run Ferry on one store kind; `cleanup()` undoes it. */
export interface TestEnv {
  kind: StoreKind;
  config: Config;
  dataDir: string;
  databaseUrl: string;
  cleanup(): Promise<void>;
}

/** Config for a test node: temp data dir, any free port, silent logs, the given store. */
export async function testEnv(kind: StoreKind, env: Record<string, string> = {}): Promise<TestEnv> {
  const data = tempDir();
  const database = kind === 'postgres' ? await freshDatabase() : undefined;
  const config = loadConfig({
    cwd: data.dir,
    env: {
      FERRY_DATA_DIR: data.dir,
      FERRY_HTTP_PORT: '0',
      FERRY_LOG_LEVEL: 'silent',
      FERRY_DATABASE_URL: database?.url ?? '',
      // A loaded test machine lags: only the tests of shedding itself (which set it) may shed.
      FERRY_LIMITS_SHED_EVENT_LOOP_DELAY_MS: '60000',
      ...env,
    },
  });
  return {
    kind,
    config,
    dataDir: data.dir,
    databaseUrl: database?.url ?? '',
    async cleanup() {
      await database?.drop();
      data.remove();
    },
  };
}
