/**
 * The node registry: one row per running node, kept fresh by heartbeats. Health is read from the
 * heartbeat's age in the store's clock, so nodes with skewed clocks still agree.
 */
import type { Queryable } from '../db/index.ts';

/** healthy: heartbeat within 2 intervals; suspect: within 3; down: older. */
export type Health = 'healthy' | 'suspect' | 'down';

/** What a node says about itself when it registers. */
export interface NodeInfo {
  id: string;
  advertiseUrl: string;
  zone: string;
  role: string;
  version: string;
  protocol: string;
  cores: number;
  /** Real paths of the volumes it can reach. */
  volumes: readonly string[];
  /** Remote endpoints (SMB/SFTP hosts) it can reach. */
  endpoints: readonly string[];
  startedAt: Date;
}

/** A registered node as the API shows it. */
export interface NodeRow {
  id: string;
  advertise_url: string;
  zone: string;
  role: string;
  version: string;
  protocol: string;
  cores: number;
  volumes: string[];
  endpoints: string[];
  draining: boolean;
  started_at: Date;
  heartbeat_at: Date;
  heartbeat_age_ms: number;
  health: Health;
}

/** Inserts or refreshes this node's row. */
export async function registerNode(db: Queryable, node: NodeInfo): Promise<void> {
  await db.query(
    `INSERT INTO ferry.cluster_nodes (id, advertise_url, zone, role, version, protocol, cores, volumes,
       endpoints, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET advertise_url = EXCLUDED.advertise_url, zone = EXCLUDED.zone,
       volumes = EXCLUDED.volumes, endpoints = EXCLUDED.endpoints, heartbeat_at = now(), draining = false`,
    [
      node.id,
      node.advertiseUrl,
      node.zone,
      node.role,
      node.version,
      node.protocol,
      node.cores,
      JSON.stringify(node.volumes),
      JSON.stringify(node.endpoints),
      node.startedAt,
    ],
  );
}

/** Refreshes the heartbeat; false when the row is gone (deleted as long dead), so re-register. */
export async function heartbeat(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ferry.cluster_nodes SET heartbeat_at = now() WHERE id = $1`,
    [id],
  );
  return rowCount > 0;
}

/** Marks a node draining: it takes no new work and redirects submissions. */
export async function markDraining(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE ferry.cluster_nodes SET draining = true WHERE id = $1`, [id]);
}

/** Removes a node on a clean stop. */
export async function deregisterNode(db: Queryable, id: string): Promise<void> {
  await db.query(`DELETE FROM ferry.cluster_nodes WHERE id = $1`, [id]);
}

/** Forgets nodes down for a long time (the leader's sweep), so the list stays readable. */
export async function forgetDeadNodes(db: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM ferry.cluster_nodes WHERE heartbeat_at < now() - make_interval(secs => $1::float8 / 1000)`,
    [olderThanMs],
  );
  return rowCount;
}

/** Every registered node with its health, by zone then id. */
export async function listNodes(
  db: Queryable,
  heartbeatMs: number,
  filter: { zone?: string } = {},
): Promise<NodeRow[]> {
  const { rows } = await db.query<NodeRow>(
    `SELECT id, advertise_url, zone, role, version, protocol, cores, volumes, endpoints, draining,
       started_at, heartbeat_at,
       (extract(epoch FROM clock_timestamp() - heartbeat_at) * 1000)::float8 AS heartbeat_age_ms,
       CASE WHEN clock_timestamp() - heartbeat_at <= make_interval(secs => $1::float8 * 2 / 1000) THEN 'healthy'
            WHEN clock_timestamp() - heartbeat_at <= make_interval(secs => $1::float8 * 3 / 1000) THEN 'suspect'
            ELSE 'down' END AS health
     FROM ferry.cluster_nodes WHERE ($2::text IS NULL OR zone = $2) ORDER BY zone, id`,
    [heartbeatMs, filter.zone ?? null],
  );
  return rows;
}

/** Whether `p` is one of `roots` or inside one (paths already resolved). */
export function reaches(roots: readonly string[], p: string): boolean {
  return roots.some((root) => p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`));
}
