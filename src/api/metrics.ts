/** Prometheus metrics: one registry per server instance, so tests can run several in a process. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueDepth } from '../jobs/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';

/** What the HTTP layer records into. */
export interface Metrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

export function makeMetrics(deps: {
  bus: Bus<FerryEvents>;
  depths: () => Promise<QueueDepth[]>;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ferry_process_' });
  const requests = new Histogram({
    name: 'ferry_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const jobsDone = new Counter({
    name: 'ferry_jobs_total',
    help: 'Jobs finished by this node, by name and outcome.',
    labelNames: ['name', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'ferry_queue_jobs',
    help: 'Jobs in the queue by name and state (read at scrape time).',
    labelNames: ['name', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      // Without the store the other metrics still matter most: skip this gauge, do not fail.
      const depths = await deps.depths().catch(() => []);
      for (const d of depths) {
        for (const state of ['queued', 'active', 'deferred', 'failed'] as const) {
          this.set({ name: d.name, state }, d[state]);
        }
      }
    },
  });
  const rejected = new Counter({
    name: 'ferry_admission_rejected_total',
    help: 'Requests refused by admission control, by reason (rate_limited, shed) and priority.',
    labelNames: ['reason', 'priority'],
    registers: [registry],
  });
  deps.bus.on('admission:rejected', (e) => {
    rejected.inc({ reason: e.reason, priority: e.priority });
  });
  deps.bus.on('job:completed', (e) => {
    jobsDone.inc({ name: e.name, outcome: 'completed' });
  });
  deps.bus.on('job:failed', (e) => {
    jobsDone.inc({ name: e.name, outcome: 'failed' });
  });
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      requests.observe({ method, route, status: String(status) }, seconds);
    },
  };
}
