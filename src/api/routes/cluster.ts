/**
 * Cluster routes: nodes, zones, ping, and jobs (submit, read, list, wait, cancel), plus the
 * protocol negotiation headers and the draining redirect. Parse → call the cluster domain → shape.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { principalKey, scopeOf } from '../../auth/index.ts';
import type { Db } from '../../db/index.ts';
import { FerryError } from '../../errors/index.ts';
import type { JobView, JobsService } from '../../cluster/jobs.ts';
import { listNodes, type NodeRow } from '../../cluster/nodes.ts';
import { negotiate, protocolVersion } from '../../cluster/protocol.ts';
import { zoneSummary } from '../../cluster/zones.ts';
import { registerAdmission, type AdmissionDeps } from '../admission.ts';
import { Text, pageQuery, refuseUnstorableJson } from '../schemas/index.ts';

const tags = ['cluster'];
const user = { access: 'user' as const };
/** Job submissions may be larger than other bodies (a spec with many paths or labels). */
export const jobBodyLimit = 5 * 1024 * 1024;

const Zone = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_.-]*$' });
const Priority = Type.Union([
  Type.Literal('critical'),
  Type.Literal('high'),
  Type.Literal('normal'),
  Type.Literal('low'),
]);
const Submit = Type.Object(
  {
    kind: Text({ minLength: 1, maxLength: 64 }),
    spec: Type.Record(Type.String(), Type.Unknown()),
    zones: Type.Optional(Type.Array(Zone, { minItems: 1, maxItems: 32 })),
    zone_specs: Type.Optional(
      Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown())),
    ),
    priority: Type.Optional(Priority),
    timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 604800 })),
    idempotency_key: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
    labels: Type.Optional(Type.Record(Type.String(), Text({ maxLength: 200 }))),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object({
  status: Type.Optional(Text({ minLength: 1, maxLength: 32 })),
  zone: Type.Optional(Zone),
  label: Type.Optional(Text({ minLength: 1, maxLength: 400 })),
  ...pageQuery(),
});
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const WaitQuery = Type.Object({
  timeout_s: Type.Optional(Type.Number({ minimum: 0, maximum: 300, default: 30 })),
});
type Id = { Params: Static<typeof IdParams> };

const iso = (d: Date | null) => (d ? d.toISOString() : null);
/** The caller's ownership scope (src/auth/ownership.ts): whose jobs it sees. */
const viewerOf = (request: FastifyRequest) => scopeOf(request.principal);

/** The one job shape every job route answers with. */
export function showJob({ job, parts, leader }: JobView, acceptedUrl: string) {
  return {
    job_id: job.id,
    kind: job.kind,
    status: job.status,
    priority: job.priority,
    labels: job.labels,
    idempotency_key: job.idempotency_key,
    fence_token: job.fence_token,
    // The job's coordinator and its lease's token; before anyone holds it, the accepting node.
    leader: {
      node_id: leader?.node_id ?? job.accepted_by,
      url: leader?.url ?? (leader ? '' : acceptedUrl),
      fence_token: leader?.fence_token ?? 0,
    },
    zones: parts.map((p) => ({
      zone: p.zone,
      status: p.status,
      node_id: p.owner_node,
      url: p.owner_url,
      fence_token: p.fence_token,
      orphaned_at: iso(p.orphaned_at),
      result: p.result ?? null,
    })),
    result: job.result ?? null,
    spec: job.spec,
    zone_specs: job.zone_specs,
    created_at: iso(job.created_at),
    updated_at: iso(job.updated_at),
    completed_at: iso(job.completed_at),
  };
}

function showNode(n: NodeRow) {
  return {
    id: n.id,
    url: n.advertise_url,
    zone: n.zone,
    role: n.role,
    version: n.version,
    protocol: n.protocol,
    cores: n.cores,
    volumes: n.volumes,
    endpoints: n.endpoints,
    draining: n.draining,
    health: n.health,
    heartbeat_age_ms: Math.round(n.heartbeat_age_ms),
    started_at: iso(n.started_at),
    heartbeat_at: iso(n.heartbeat_at),
  };
}

export interface ClusterRouteDeps {
  db: Db;
  jobs: JobsService;
  heartbeatMs: number;
  ping: () => Promise<Record<string, unknown> & { url: string }>;
  draining: () => boolean;
  redirectTarget: () => Promise<string | undefined>;
  requests: { started(): void; finished(): void };
  admission: AdmissionDeps;
}

export function clusterRoutes(deps: ClusterRouteDeps) {
  const { jobs } = deps;
  const selfUrl = async () => (await deps.ping()).url;

  return async function registerCluster(app: FastifyInstance): Promise<void> {
    app.addHook('onRequest', async function negotiateProtocol(request, reply) {
      void reply.header('ferry-protocol', protocolVersion);
      const header = (name: string) => {
        const v = request.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      try {
        const agreed = negotiate(header('ferry-protocol'), header('ferry-capabilities'));
        void reply.header('ferry-capabilities', agreed.join(','));
      } catch (error) {
        if (error instanceof FerryError) {
          throw new FerryError(error.code, error.params, {
            extra: { server_protocol: protocolVersion, client_protocol: error.params.client },
          });
        }
        throw error;
      }
    });
    app.addHook('onRequest', async function countInFlight(_request, reply) {
      deps.requests.started();
      // 'close' comes when the answer is sent and when the client hangs up first: a request
      // dropped mid-body (no onResponse) must not count as in flight for ever, or the node
      // would shed every later request.
      reply.raw.once('close', () => {
        deps.requests.finished();
      });
    });
    await registerAdmission(app, deps.admission);

    app.get('/api/v1/cluster/ping', { config: user, schema: { tags } }, () => deps.ping());
    app.get('/api/v1/cluster/nodes', { config: user, schema: { tags } }, async () => {
      const nodes = await listNodes(deps.db, deps.heartbeatMs);
      return { total: nodes.length, items: nodes.map(showNode) };
    });
    app.get('/api/v1/cluster/zones', { config: user, schema: { tags } }, async () => {
      const zones = await zoneSummary(deps.db, deps.heartbeatMs);
      return { total: zones.length, items: zones };
    });

    app.post<{ Body: Static<typeof Submit> }>(
      '/api/v1/jobs',
      { config: user, bodyLimit: jobBodyLimit, schema: { tags, body: Submit } },
      async function submit(request, reply) {
        if (deps.draining()) {
          const target = await deps.redirectTarget();
          if (target) void reply.header('ferry-redirect', target);
          throw new FerryError(
            'FERRY_ERR_DRAINING',
            { redirect: target ?? 'another node' },
            { retryAfter: 1 },
          );
        }
        // Specs and labels are stored as jsonb: bounded nesting, text PostgreSQL can store.
        refuseUnstorableJson(request.body, 'body', 1);
        const caller = { scope: viewerOf(request), key: principalKey(request.principal) };
        const view = await jobs.submit(request.body, caller);
        return reply.code(202).send(showJob(view, await selfUrl()));
      },
    );
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/api/v1/jobs',
      { config: user, schema: { tags, querystring: ListQuery } },
      async function list(request) {
        const q = request.query;
        const page = await jobs.list(q, viewerOf(request));
        const url = await selfUrl();
        return { total: page.total, items: page.items.map((v) => showJob(v, url)) };
      },
    );
    app.get<Id>(
      '/api/v1/jobs/:id',
      { config: user, schema: { tags, params: IdParams } },
      async (request) =>
        showJob(await jobs.read(request.params.id, viewerOf(request)), await selfUrl()),
    );
    app.get<Id & { Querystring: Static<typeof WaitQuery> }>(
      '/api/v1/jobs/:id/wait',
      { config: user, schema: { tags, params: IdParams, querystring: WaitQuery } },
      async function wait(request) {
        const closed = new AbortController();
        request.raw.once('close', () => {
          closed.abort();
        });
        const timeoutMs = (request.query.timeout_s ?? 30) * 1000;
        const view = await jobs.wait(
          request.params.id,
          viewerOf(request),
          timeoutMs,
          closed.signal,
        );
        return showJob(view, await selfUrl());
      },
    );
    app.post<Id>(
      '/api/v1/jobs/:id/cancel',
      { config: user, schema: { tags, params: IdParams } },
      async function cancel(request) {
        const { outcome, job } = await jobs.cancel(request.params.id, viewerOf(request));
        return { job_id: job.id, outcome, status: job.status, fence_token: job.fence_token };
      },
    );
  };
}
