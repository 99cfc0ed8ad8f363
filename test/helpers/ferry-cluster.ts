/**
 * A real Ferry cluster for tests: `ferry start` processes on one fresh PostgreSQL database,
 * zones `eu` and `us` with disjoint volumes, short heartbeats and grace so takeovers are quick.
 * Used by the cluster tests and the SDK's integration tests.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { runNode, until as pollUntil, type Child } from './process.ts';
import { freshDatabase, tempDir } from './stores.ts';
import { writeRandom } from './transfers.ts';

const cli = 'src/cli/main.ts';

export interface ClusterNode {
  name: string;
  child: Child;
  url: string;
  id: string;
}

export type Zone = 'eu' | 'us' | 'lab';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

export function makeFerryCluster() {
  const cleanups: (() => Promise<void> | void)[] = [];
  const children: Child[] = [];
  let databaseUrl = '';
  const db = { client: undefined as pg.Client | undefined };
  const volumes = {
    eu: tempDir('ferry-eu-'),
    us: tempDir('ferry-us-'),
    lab: tempDir('ferry-lab-'),
  };
  const nodes = new Map<string, ClusterNode>();

  /** Starts node `name` in `zone` (again, after it was killed) and waits until it listens. */
  async function start(name: string, zone: Zone, env: Record<string, string> = {}) {
    const data = tempDir();
    cleanups.push(data.remove);
    const child = runNode(cli, ['start'], {
      FERRY_DATA_DIR: data.dir,
      FERRY_DATABASE_URL: databaseUrl,
      FERRY_HTTP_PORT: '0',
      FERRY_AUTH_ANONYMOUS: 'loopback',
      FERRY_VOLUMES: volumes[zone].dir,
      FERRY_CLUSTER_ZONE: zone,
      FERRY_CLUSTER_HEARTBEAT_SECONDS: '1',
      FERRY_CLUSTER_ORPHAN_GRACE_SECONDS: '2',
      FERRY_TRANSFERS_CHECKSUM_ALGORITHM: 'sha256',
      // A node frozen inside a fenced write must not hold its lease row past the test's patience.
      FERRY_STORE_IDLE_TRANSACTION_TIMEOUT_SECONDS: '2',
      FERRY_LOG_LEVEL: 'warn',
      ...env,
    });
    children.push(child);
    const [, url = ''] = await child.waitFor(/listening on (http:\/\/\S+)/, 60_000);
    const ping = (await (await fetch(`${url}/api/v1/cluster/ping`)).json()) as { node_id: string };
    const node = { name, child, url, id: ping.node_id };
    nodes.set(name, node);
    return node;
  }

  /** SIGKILLs a node and forgets it. */
  async function kill(node: ClusterNode) {
    node.child.proc.kill('SIGKILL');
    await node.child.exited;
    nodes.delete(node.name);
  }

  return {
    nodes,
    volumes,
    /** The cluster's database (set up by `setup`). */
    get databaseUrl(): string {
      return databaseUrl;
    },
    start,
    kill,
    /** The store, for assertions the processes cannot be asked about. */
    get db(): pg.Client {
      if (!db.client) throw new Error('the cluster is not set up');
      return db.client;
    },
    /** A fresh database, node `a` (migrates), then the others in parallel. */
    async setup(
      layout: [string, Zone][] = [
        ['a', 'eu'],
        ['b', 'eu'],
        ['c', 'us'],
      ],
    ) {
      const database = await freshDatabase();
      cleanups.push(database.drop);
      databaseUrl = database.url;
      db.client = new pg.Client({ connectionString: databaseUrl });
      const [first, ...rest] = layout;
      if (first) await start(...first);
      await db.client.connect();
      await Promise.all(rest.map((entry) => start(...entry)));
    },
    async teardown() {
      await db.client?.end().catch(() => undefined);
      for (const child of children) {
        if (child.proc.exitCode === null && child.proc.signalCode === null)
          child.proc.kill('SIGKILL');
        await child.exited;
      }
      for (const cleanup of cleanups.reverse()) await cleanup();
      for (const volume of Object.values(volumes)) volume.remove();
    },
    /** A folder of `count` random 256 KiB files in a zone's volume, and where it goes. */
    folder: (zone: Zone, name: string, count: number) => {
      const src = path.join(volumes[zone].dir, name);
      for (let i = 0; i < count; i++)
        writeRandom(path.join(src, `f${String(i).padStart(3, '0')}.bin`), 256 * 1024);
      return { source_path: src, destination_path: path.join(volumes[zone].dir, `${name}-out`) };
    },
    /** Every source file is at the destination with the same bytes. */
    verified: (spec: { source_path: string; destination_path: string }) => {
      const names = readdirSync(spec.source_path).sort();
      expect(readdirSync(spec.destination_path).sort()).toEqual(names);
      for (const n of names) {
        expect(sha(path.join(spec.destination_path, n))).toBe(sha(path.join(spec.source_path, n)));
      }
    },
    /** The node that owns a job's part in `zone` now. */
    async ownerOf(jobId: string, zone: Zone): Promise<ClusterNode> {
      const { rows } = await (db.client as pg.Client).query<{ owner_node: string }>(
        `SELECT owner_node FROM ferry.cluster_job_parts WHERE job_id = $1 AND zone = $2`,
        [jobId, zone],
      );
      const owner = [...nodes.values()].find((n) => n.id === rows[0]?.owner_node);
      if (!owner) throw new Error(`no running node owns ${jobId}:${zone}`);
      return owner;
    },
    /** A part's per-file records. */
    files: async (part: string) => {
      const { rows } = await (db.client as pg.Client).query<{
        relative_path: string;
        status: string;
        attempts: number;
        transfer_completed_at: Date | null;
      }>(
        `SELECT f.relative_path, f.status, f.attempts, f.transfer_completed_at FROM ferry.transfer_files f
         JOIN ferry.transfers t ON t.id = f.transfer_id WHERE t.cluster_part = $1 ORDER BY f.relative_path`,
        [part],
      );
      return rows;
    },
  };
}

/** `until` of ./process.ts with the description first, as the cluster tests read best. */
export function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 60_000,
  everyMs = 50,
) {
  return pollUntil(check, what, ms, everyMs);
}
