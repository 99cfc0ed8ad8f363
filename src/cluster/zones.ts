/** Per-zone summary for `GET /api/v1/cluster/zones`: nodes, health, cores and open work. */
import type { Queryable } from '../db/index.ts';
import { listNodes } from './nodes.ts';

export interface ZoneSummary {
  zone: string;
  nodes: number;
  healthy_nodes: number;
  cores: number;
  healthy_cores: number;
  queued_parts: number;
  running_parts: number;
  orphaned_parts: number;
}

export async function zoneSummary(db: Queryable, heartbeatMs: number): Promise<ZoneSummary[]> {
  const nodes = await listNodes(db, heartbeatMs);
  const { rows: work } = await db.query<{ zone: string; status: string; n: number }>(
    `SELECT zone, status, count(*)::int AS n FROM ferry.cluster_job_parts
     WHERE status IN ('queued', 'running', 'orphaned') GROUP BY zone, status`,
  );
  const zones = new Map<string, ZoneSummary>();
  const of = (zone: string): ZoneSummary => {
    let z = zones.get(zone);
    if (!z) {
      z = {
        zone,
        nodes: 0,
        healthy_nodes: 0,
        cores: 0,
        healthy_cores: 0,
        queued_parts: 0,
        running_parts: 0,
        orphaned_parts: 0,
      };
      zones.set(zone, z);
    }
    return z;
  };
  for (const n of nodes) {
    const z = of(n.zone);
    z.nodes += 1;
    z.cores += n.cores;
    if (n.health === 'healthy') {
      z.healthy_nodes += 1;
      z.healthy_cores += n.cores;
    }
  }
  for (const w of work) {
    const z = of(w.zone);
    if (w.status === 'queued') z.queued_parts += w.n;
    else if (w.status === 'running') z.running_parts += w.n;
    else z.orphaned_parts += w.n;
  }
  return [...zones.values()].sort((a, b) => a.zone.localeCompare(b.zone));
}
