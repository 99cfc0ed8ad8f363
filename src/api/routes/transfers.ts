/**
 * Transfer and watch-profile routes, Ketter-compatible: the same handlers answer at
 * `/api/v1/transfers…` and `/transfers…`, and volumes at `/api/v1/volumes` and `/volumes`.
 * Parse → call the transfers domain → shape the answer.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ownerFor, scopeOf } from '../../auth/ownership.ts';
import { writableMhlFormats } from '../../mhl/index.ts';
import { PageQuery, PathId, Text, pageQuery, typed, type Api } from '../schemas/index.ts';
import { showPath, type VolumeGuard } from '../../storage/index.ts';
import { checksumAlgorithms, conflictPolicies, transferStatuses } from '../../transfers/index.ts';
import { reportCsv, type TransferReport } from '../../transfers/report.ts';
import { reportPdf } from '../../transfers/report-pdf.ts';
import type { FileRow, Transfers, Viewer } from '../../transfers/service.ts';
import type { TransferRow } from '../../transfers/records.ts';

const Create = Type.Object(
  {
    // Paths are checked by the volume guard (400 FERRY_ERR_PATH_OUTSIDE_VOLUMES, NUL included).
    source_path: Type.String({ minLength: 1, maxLength: 4096 }),
    destination_path: Type.String({ minLength: 1, maxLength: 4096 }),
    watch_mode_enabled: Type.Optional(Type.Boolean()),
    settle_time_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
    watch_continuous: Type.Optional(Type.Boolean()),
    operation_mode: Type.Optional(Type.Union([Type.Literal('copy'), Type.Literal('move')])),
    checksum_algorithm: Type.Optional(Type.Union(checksumAlgorithms.map((a) => Type.Literal(a)))),
    conflict_policy: Type.Optional(Type.Union(conflictPolicies.map((p) => Type.Literal(p)))),
    include: Type.Optional(Type.Array(Text({ minLength: 1, maxLength: 512 }), { maxItems: 100 })),
    exclude: Type.Optional(Type.Array(Text({ minLength: 1, maxLength: 512 }), { maxItems: 100 })),
    temp_patterns: Type.Optional(
      Type.Array(Text({ minLength: 1, maxLength: 512 }), { maxItems: 100 }),
    ),
    recursive: Type.Optional(Type.Boolean()),
    poll_interval_seconds: Type.Optional(Type.Number({ minimum: 0.2, maximum: 3600 })),
    on_new_version: Type.Optional(Type.Union([Type.Literal('transfer'), Type.Literal('ignore')])),
    mhl: Type.Optional(Type.Boolean()),
    mhl_hashes: Type.Optional(
      Type.Array(Type.Union(writableMhlFormats.map((f) => Type.Literal(f))), {
        maxItems: writableMhlFormats.length,
        uniqueItems: true,
      }),
    ),
    target_name: Type.Optional(Text({ minLength: 1, maxLength: 255, pattern: '^[^/]+$' })),
    source_endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    destination_endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    max_bytes_per_second: Type.Optional(Type.Integer({ minimum: 1, maximum: 1099511627776 })),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object({
  status: Type.Optional(Type.Union(transferStatuses.map((s) => Type.Literal(s)))),
  ...pageQuery(),
});
// A checksum list is read whole by scripts: its page is larger by default.
const ChecksumsQuery = Type.Object(pageQuery({ limit: 1000 }));
const ReportQuery = Type.Object({
  format: Type.Optional(
    Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('pdf')]),
  ),
});
const IdParams = PathId;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The Ketter transfer shape plus Ferry's extras. */
export function showTransfer(t: TransferRow) {
  return {
    id: t.id,
    source_path: showPath(t.source_path).path,
    destination_path: showPath(t.destination_path).path,
    source_endpoint: showPath(t.source_path).endpoint,
    destination_endpoint: showPath(t.destination_path).endpoint,
    max_bytes_per_second: t.options.max_bytes_per_second ?? null,
    status: t.status,
    operation_mode: t.operation_mode,
    watch_mode_enabled: t.watch_mode_enabled,
    watch_continuous: t.watch_continuous,
    watch_job_id: t.watch_job_id,
    watch_cycle_count: t.watch_cycle_count,
    settle_time_seconds: t.settle_time_seconds,
    file_name: t.file_name,
    file_size: t.file_size,
    file_count: t.file_count,
    bytes_transferred: t.bytes_transferred,
    progress_percent: Math.round(t.progress_percent * 100) / 100,
    error_message: t.error_message,
    checksum_algorithm: t.options.checksum_algorithm,
    conflict_policy: t.options.conflict_policy,
    mhl: t.options.mhl === true,
    mhl_hashes: t.options.mhl_hashes ?? [],
    created_at: iso(t.created_at),
    started_at: iso(t.started_at),
    completed_at: iso(t.completed_at),
  };
}

function showFile(f: FileRow) {
  return {
    id: f.id,
    file_name: f.relative_path.split('/').at(-1) ?? f.relative_path,
    file_path: f.relative_path,
    file_size: f.file_size,
    status: f.status === 'transferring' || f.status === 'verified' ? 'transferring' : f.status,
    algorithm: f.algorithm,
    source_checksum: f.source_checksum,
    destination_checksum: f.destination_checksum,
    checksum_match: f.checksum_match,
    attempts: f.attempts,
    detected_at: iso(f.detected_at),
    transfer_started_at: iso(f.transfer_started_at),
    transfer_completed_at: iso(f.transfer_completed_at),
    error_code: f.error_code,
    error_message: f.error_message,
  };
}

/** The Ketter pause/resume answer's common fields. */
function watchState(t: TransferRow) {
  return {
    id: t.id,
    status: t.status,
    watch_continuous: t.watch_continuous,
    watch_job_id: t.watch_job_id,
  };
}

function viewerOf(request: FastifyRequest): Viewer {
  return scopeOf(request.principal);
}

export interface TransferRouteDeps {
  transfers: Transfers;
  volumes: VolumeGuard;
}

export function transferRoutes(deps: TransferRouteDeps) {
  const { transfers } = deps;
  return function registerTransfers(app: FastifyInstance): void {
    for (const prefix of ['/api/v1', '']) register(typed(app), prefix);
  };

  function register(app: Api, prefix: string): void {
    const base = `${prefix}/transfers`;
    const tags = ['transfers'];
    // The Ketter paths are the same handlers; hide them from the docs to keep one entry each.
    const hide = prefix === '';
    const user = { access: 'user' as const };

    app.get(`${prefix}/volumes`, { config: user, schema: { tags, hide } }, function volumes() {
      return deps.volumes.volumes.map((v) => ({
        path: v.path,
        alias: v.alias ?? null,
        description: v.description ?? null,
      }));
    });

    app.get(`${prefix}/endpoints`, { config: user, schema: { tags, hide } }, function endpoints() {
      return transfers.endpoints;
    });

    app.post(
      base,
      { config: user, schema: { tags, hide, body: Create } },
      async function create(request, reply) {
        const row = await transfers.create(request.body, ownerFor(viewerOf(request)));
        return reply.code(201).send(showTransfer(row));
      },
    );

    app.get(
      base,
      { config: user, schema: { tags, hide, querystring: ListQuery } },
      async function list(request) {
        const { total, items } = await transfers.list(
          {
            status: request.query.status,
            limit: request.query.limit,
            offset: request.query.offset,
          },
          viewerOf(request),
        );
        return { total, items: items.map(showTransfer) };
      },
    );

    app.get(
      `${base}/:id`,
      { config: user, schema: { tags, hide, params: IdParams } },
      async function get(request) {
        return showTransfer(await transfers.get(request.params.id, viewerOf(request)));
      },
    );

    app.delete(
      `${base}/:id`,
      { config: user, schema: { tags, hide, params: IdParams } },
      async function remove(request, reply) {
        await transfers.remove(request.params.id, viewerOf(request));
        return reply.code(204).send();
      },
    );

    app.post(
      `${base}/:id/cancel`,
      { config: user, schema: { tags, hide, params: IdParams } },
      async function cancel(request) {
        return showTransfer(await transfers.cancel(request.params.id, viewerOf(request)));
      },
    );

    app.post(
      `${base}/:id/pause-watch`,
      { config: user, schema: { tags, hide, params: IdParams } },
      async function pause(request) {
        const t = await transfers.pause(request.params.id, viewerOf(request));
        return {
          ...watchState(t),
          message: `Watch paused for transfer ${t.id}; files in flight finish.`,
        };
      },
    );

    app.post(
      `${base}/:id/resume-watch`,
      { config: user, schema: { tags, hide, params: IdParams } },
      async function resume(request) {
        const t = await transfers.resume(request.params.id, viewerOf(request));
        return {
          ...watchState(t),
          watch_cycle_count: t.watch_cycle_count,
          message: `Watch resumed for transfer ${t.id}.`,
        };
      },
    );

    app.get(
      `${base}/:id/watch-history`,
      { config: user, schema: { tags, hide, params: IdParams, querystring: PageQuery } },
      async function history(request) {
        const page = { limit: request.query.limit, offset: request.query.offset };
        const r = await transfers.files(request.params.id, viewerOf(request), page);
        return {
          transfer_id: r.transfer.id,
          total_files_detected: r.total,
          total_files_completed: r.completed,
          total_files_failed: r.failed,
          last_detection: iso(r.lastDetection),
          watch_started_at: iso(r.transfer.started_at ?? r.transfer.created_at),
          watch_cycle_count: r.transfer.watch_cycle_count,
          files: r.items.map(showFile),
        };
      },
    );

    app.get(
      `${base}/:id/checksums`,
      { config: user, schema: { tags, hide, params: IdParams, querystring: ChecksumsQuery } },
      async function checksums(request) {
        const page = { limit: request.query.limit, offset: request.query.offset };
        const r = await transfers.files(request.params.id, viewerOf(request), page);
        return {
          transfer_id: r.transfer.id,
          algorithm: r.transfer.options.checksum_algorithm,
          total: r.total,
          items: r.items.map((f) => ({
            file_path: f.relative_path,
            file_size: f.file_size,
            algorithm: f.algorithm,
            source_checksum: f.source_checksum,
            destination_checksum: f.destination_checksum,
            checksum_match: f.checksum_match,
            verified_at: iso(f.transfer_completed_at),
          })),
        };
      },
    );

    app.get(
      `${base}/:id/logs`,
      { config: user, schema: { tags, hide, params: IdParams } },
      async function logs(request) {
        const r = await transfers.logs(request.params.id, viewerOf(request));
        return {
          transfer_id: r.transfer.id,
          total: r.items.length,
          items: r.items.map((l) => ({ ...l, at: iso(l.at) })),
        };
      },
    );

    app.get(
      `${base}/:id/report`,
      { config: user, schema: { tags, hide, params: IdParams, querystring: ReportQuery } },
      async function report(request, reply) {
        const r = await transfers.files(request.params.id, viewerOf(request), {
          limit: 100_000,
          offset: 0,
        });
        const data: TransferReport = {
          transfer: r.transfer,
          files: r.items,
          generated_at: new Date().toISOString(),
        };
        const name = `ferry-transfer-${r.transfer.id}`;
        switch (request.query.format ?? 'json') {
          case 'csv':
            return reply
              .type('text/csv; charset=utf-8')
              .header('content-disposition', `attachment; filename="${name}.csv"`)
              .send(reportCsv(data));
          case 'pdf':
            return reply
              .type('application/pdf')
              .header('content-disposition', `attachment; filename="${name}.pdf"`)
              .send(await reportPdf(data));
          default:
            return {
              transfer: showTransfer(r.transfer),
              files: r.items.map(showFile),
              generated_at: data.generated_at,
            };
        }
      },
    );
  }
}
