/** Cluster mode as a feature of the composition root: `{definitions, routes, start, stop}`. */
import { clusterRoutes } from '../api/routes/cluster.ts';
import type { RouteModule } from '../api/server.ts';
import { makeCluster, type ClusterDeps } from '../cluster/index.ts';
import type { JobDefinition } from '../jobs/index.ts';

export function clusterFeature(deps: ClusterDeps) {
  const cluster = makeCluster(deps);
  const routes: RouteModule[] = deps.config.role === 'worker' ? [] : [clusterRoutes(cluster)];
  return {
    /** None: job parts run under their zone's leases, not from the queue. */
    definitions: [] as readonly JobDefinition<never>[],
    routes,
    cluster,
    start: () => cluster.start(),
    stop: () => cluster.stop(),
  };
}

export type ClusterFeature = ReturnType<typeof clusterFeature>;
