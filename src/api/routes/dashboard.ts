/**
 * The read routes the dashboard needs beyond the capabilities' own: users and the effective
 * configuration (admins), the audit trail, folder browsing inside volumes, stored chart history
 * and event figures. Parse → call src/dashboard → shape the answer.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { listOwner, scopeOf } from '../../auth/index.ts';
import { maskedConfig, type Config } from '../../config/index.ts';
import type { Db } from '../../db/index.ts';
import { FerryError } from '../../errors/index.ts';
import type { VolumeGuard } from '../../storage/index.ts';
import { searchAudit } from '../../dashboard/audit.ts';
import { auditCsv } from '../../dashboard/csv.ts';
import { eventStats } from '../../dashboard/event-stats.ts';
import { fileCounts } from '../../dashboard/file-counts.ts';
import { listFolder } from '../../dashboard/folders.ts';
import { bucketCount, eventHistory, maxBuckets, transferHistory } from '../../dashboard/history.ts';
import { listUsers } from '../../dashboard/users.ts';
import { Text, pageQuery, typed } from '../schemas/index.ts';

const Page = pageQuery();
const UsersQuery = Type.Object(
  { ...Page, q: Type.Optional(Text({ maxLength: 200 })) },
  { additionalProperties: false },
);
const AuditQuery = Type.Object(
  {
    ...Page,
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    user_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
    transfer_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
    file: Type.Optional(Text({ minLength: 1, maxLength: 512 })),
    outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('error')])),
    q: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
  },
  { additionalProperties: false },
);
const FolderQuery = Type.Object(
  { ...Page, path: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);
const HistoryQuery = Type.Object(
  {
    window_seconds: Type.Optional(
      Type.Integer({ minimum: 60, maximum: 31 * 86400, default: 86400 }),
    ),
    bucket_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, default: 300 })),
  },
  { additionalProperties: false },
);
const CountsQuery = Type.Object(
  { ids: Type.String({ pattern: '^[1-9][0-9]{0,9}(,[1-9][0-9]{0,9}){0,199}$' }) },
  { additionalProperties: false },
);
const StatsQuery = Type.Object(
  {
    window_seconds: Type.Optional(
      Type.Integer({ minimum: 60, maximum: 31 * 86400, default: 86400 }),
    ),
  },
  { additionalProperties: false },
);

/** Whose rows a figure counts (src/auth/ownership.ts): every owner's for admins, else the user's. */
function ownerFilter(request: FastifyRequest): number | undefined {
  return listOwner(scopeOf(request.principal));
}

function windowOf(q: Static<typeof HistoryQuery>) {
  const to = new Date();
  const w = {
    bucketSeconds: q.bucket_seconds ?? 300,
    from: new Date(to.getTime() - (q.window_seconds ?? 86400) * 1000),
    to,
  };
  if (bucketCount(w) > maxBuckets) {
    throw new FerryError('FERRY_ERR_BAD_REQUEST', {
      reason: `window_seconds / bucket_seconds gives more than ${maxBuckets} buckets; use larger buckets`,
    });
  }
  return w;
}

export interface DashboardRouteDeps {
  db: Db;
  config: Config;
  volumes: VolumeGuard;
}

export function dashboardRoutes(deps: DashboardRouteDeps) {
  const { db } = deps;
  return function registerDashboardRoutes(instance: FastifyInstance): void {
    const app = typed(instance);
    const tags = ['dashboard'];
    const user = { access: 'user' as const };
    app.get(
      '/api/v1/whoami',
      { config: user, schema: { tags, summary: 'Who the credential belongs to' } },
      function whoami(request) {
        const p = request.principal;
        return {
          kind: p?.kind ?? 'anonymous',
          role: p?.role ?? 'user',
          user_id: p?.userId ?? null,
          label: p?.label ?? 'anonymous',
        };
      },
    );
    app.get(
      '/api/v1/users',
      { config: { access: 'admin' }, schema: { tags, querystring: UsersQuery } },
      async function users(request) {
        const q = request.query;
        const page = await listUsers(db, {
          ...(q.q ? { text: q.q } : {}),
          limit: q.limit,
          offset: q.offset,
        });
        return {
          total: page.total,
          items: page.items.map((u) => ({ ...u, created_at: u.created_at.toISOString() })),
        };
      },
    );
    app.get(
      '/api/v1/config',
      {
        config: { access: 'admin' },
        schema: { tags, summary: 'The effective configuration, secrets masked' },
      },
      function config() {
        return maskedConfig(deps.config);
      },
    );
    app.get(
      '/api/v1/audit',
      { config: user, schema: { tags, querystring: AuditQuery } },
      async function audit(request, reply) {
        const q = request.query;
        const csv = q.format === 'csv';
        const owner = ownerFilter(request);
        const page = await searchAudit(
          db,
          {
            ...(q.from ? { from: new Date(q.from) } : {}),
            ...(q.to ? { to: new Date(q.to) } : {}),
            ...(q.user_id !== undefined ? { userId: q.user_id } : {}),
            ...(q.transfer_id !== undefined ? { transferId: q.transfer_id } : {}),
            ...(q.file ? { file: q.file } : {}),
            ...(q.outcome ? { outcome: q.outcome } : {}),
            ...(q.q ? { text: q.q } : {}),
            // An export holds the whole filtered trail, up to a bound that keeps one answer sane.
            limit: csv ? 100_000 : q.limit,
            offset: csv ? 0 : q.offset,
          },
          owner === undefined ? undefined : { userId: owner },
        );
        if (csv) {
          return reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', 'attachment; filename="ferry-audit.csv"')
            .send(auditCsv(page.items));
        }
        return {
          total: page.total,
          items: page.items.map((e) => ({ ...e, at: e.at.toISOString() })),
        };
      },
    );
    app.get(
      '/api/v1/volumes/folders',
      { config: user, schema: { tags, querystring: FolderQuery } },
      async function folders(request) {
        const q = request.query;
        return listFolder(deps.volumes, q.path, { limit: q.limit, offset: q.offset });
      },
    );
    app.get(
      '/api/v1/history/events',
      { config: user, schema: { tags, querystring: HistoryQuery } },
      async function events(request) {
        const w = windowOf(request.query);
        return {
          bucket_seconds: w.bucketSeconds,
          series: await eventHistory(db, w, ownerFilter(request)),
        };
      },
    );
    app.get(
      '/api/v1/history/transfers',
      { config: user, schema: { tags, querystring: HistoryQuery } },
      async function transfers(request) {
        const w = windowOf(request.query);
        return {
          bucket_seconds: w.bucketSeconds,
          series: await transferHistory(db, w, ownerFilter(request)),
        };
      },
    );
    app.get(
      '/api/v1/stats/transfers',
      {
        config: user,
        schema: { tags, summary: 'Files per transfer by outcome', querystring: CountsQuery },
      },
      async function counts(request) {
        const q = request.query;
        const ids = q.ids
          .split(',')
          .map(Number)
          .filter((n) => n <= 2147483647);
        return fileCounts(db, ids, ownerFilter(request));
      },
    );
    app.get(
      '/api/v1/stats/events',
      { config: user, schema: { tags, querystring: StatsQuery } },
      async function stats(request) {
        const q = request.query;
        const since = new Date(Date.now() - (q.window_seconds ?? 86400) * 1000);
        return eventStats(db, since, ownerFilter(request));
      },
    );
  };
}
