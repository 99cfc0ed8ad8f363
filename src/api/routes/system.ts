/** Health, status and metrics: the routes an operator and a load balancer use. */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { StoreKind } from '../../db/index.ts';
import type { QueueDepth } from '../../jobs/index.ts';
import type { Metrics } from '../metrics.ts';

/** What GET /api/v1/status reports. */
export interface StatusReport {
  service: 'ferry';
  version: string;
  store: StoreKind;
  role: 'all' | 'api' | 'worker';
  node_id: string;
  uptime_seconds: number;
  started_at: string;
  workers: { job_names: string[]; running: boolean };
  queues: QueueDepth[];
}

const Health = Type.Object({
  status: Type.Literal('healthy'),
  service: Type.Literal('ferry'),
  version: Type.String(),
  store: Type.Union([Type.Literal('pglite'), Type.Literal('postgres')]),
});

export interface SystemRouteDeps {
  version: string;
  store: StoreKind;
  status: () => Promise<StatusReport>;
  metrics: Metrics;
}

export function systemRoutes(deps: SystemRouteDeps) {
  return function registerSystemRoutes(app: FastifyInstance): void {
    app.get(
      '/health',
      { config: { access: 'public' }, schema: { tags: ['system'], response: { 200: Health } } },
      function health() {
        return { status: 'healthy', service: 'ferry', version: deps.version, store: deps.store };
      },
    );
    app.get(
      '/api/v1/status',
      {
        config: { access: 'user' },
        schema: { tags: ['system'], summary: 'Store, queues, workers, uptime' },
      },
      function status() {
        return deps.status();
      },
    );
    app.get(
      '/metrics',
      { config: { access: 'admin' }, schema: { tags: ['system'], summary: 'Prometheus metrics' } },
      async function metrics(_request, reply) {
        const text = await deps.metrics.registry.metrics();
        return reply.type(deps.metrics.registry.contentType).send(text);
      },
    );
  };
}
