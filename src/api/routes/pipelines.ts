/**
 * Intake pipeline routes, coordinator-compatible: `POST /api/v1/coordinator/runs` runs the
 * default pipeline, `POST /api/v1/pipelines/{name}/runs` any; reads of runs, files and ledger
 * history. Parse → call the pipelines domain → map the result. Pipelines act on shared folders
 * and partners' files, so every route is for admins (the default access).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { FileView, LedgerRow, Pipelines, RunRecord } from '../../pipelines/index.ts';
import { Id, PageQuery, Text, pageQuery, typed } from '../schemas/index.ts';

const tags = ['pipelines'];

const Name = Text({ minLength: 1, maxLength: 63 });
const NameParams = Type.Object({ name: Name });
const RunParams = Type.Object({ name: Name, run_id: Type.String({ format: 'uuid' }) });
const FileParams = Type.Object({ name: Name, id: Id });
const FilesQuery = Type.Object({
  ...pageQuery(),
  status: Type.Optional(Text({ minLength: 1, maxLength: 64 })),
});

function correlationOf(request: FastifyRequest): string {
  const given = request.headers['x-correlation-id'];
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : request.id;
}

function showRun(run: RunRecord) {
  return {
    run_id: run.id,
    pipeline: run.pipeline,
    trigger: run.trigger,
    correlation_id: run.correlationId,
    status: run.status,
    summary: run.summary,
    error: run.errors,
    archive: run.archive,
    started_at: run.startedAt.toISOString(),
    answered_at: run.answeredAt?.toISOString() ?? null,
    finished_at: run.finishedAt?.toISOString() ?? null,
  };
}

function showFile(file: FileView) {
  return {
    id: file.id,
    remitter: file.remitter,
    base_name: file.baseName,
    path: file.path,
    content_hash: file.contentHash,
    hash_algorithm: file.hashAlgorithm,
    size: file.size,
    status: file.status,
    attempt: file.attempt,
    reason: file.reason,
    archived: file.archived,
    notified: file.notified,
    first_seen: file.firstSeen.toISOString(),
    updated_at: file.updatedAt.toISOString(),
  };
}

function showRow(row: LedgerRow) {
  return {
    id: row.id,
    status: row.status,
    attempt: row.attempt,
    path: row.path,
    run_id: row.runId,
    reason: row.reason,
    detail: row.detail,
    ref_id: row.refId,
    created_at: row.createdAt.toISOString(),
  };
}

export interface PipelineRouteDeps {
  pipelines: Pipelines;
}

/** The pipeline routes over the pipelines capability. */
export function pipelineRoutes(deps: PipelineRouteDeps) {
  const { pipelines } = deps;
  return function registerPipelineRoutes(instance: FastifyInstance): void {
    const app = typed(instance);
    // Answers once the files are processed; archiving goes on after the answer.
    const runHandler = async (request: FastifyRequest, name: string | undefined) => {
      const started = await pipelines.run(name, {
        trigger: 'api',
        correlationId: correlationOf(request),
      });
      return started.outcome;
    };

    app.post(
      '/api/v1/coordinator/runs',
      // Any body is ignored: the coordinator's clients send `{}` or nothing.
      { schema: { tags, summary: 'Run the default pipeline' } },
      async function runDefault(request) {
        return runHandler(request, undefined);
      },
    );

    app.post(
      '/api/v1/pipelines/:name/runs',
      { schema: { tags, summary: 'Run a pipeline', params: NameParams } },
      async function runNamed(request) {
        return runHandler(request, request.params.name);
      },
    );

    app.get('/api/v1/pipelines', { schema: { tags } }, function list() {
      const items = pipelines.list();
      return { total: items.length, items };
    });

    app.get(
      '/api/v1/pipelines/:name/runs',
      { schema: { tags, params: NameParams, querystring: PageQuery } },
      async function listRuns(request) {
        const { name } = request.params;
        const q = request.query;
        const page = await pipelines.listRuns(name, {
          limit: q.limit,
          offset: q.offset,
        });
        return { total: page.total, items: page.items.map(showRun) };
      },
    );

    app.get(
      '/api/v1/pipelines/:name/runs/:run_id',
      { schema: { tags, params: RunParams } },
      async function readRun(request) {
        const { name, run_id } = request.params;
        return showRun(await pipelines.getRun(name, run_id));
      },
    );

    app.get(
      '/api/v1/pipelines/:name/files',
      {
        schema: {
          tags,
          summary: 'Latest status per file',
          params: NameParams,
          querystring: FilesQuery,
        },
      },
      async function listFiles(request) {
        const { name } = request.params;
        const q = request.query;
        const page = await pipelines.listFiles(name, {
          ...(q.status === undefined ? {} : { status: q.status }),
          limit: q.limit,
          offset: q.offset,
        });
        return { total: page.total, items: page.items.map(showFile) };
      },
    );

    app.get(
      '/api/v1/pipelines/:name/files/:id/history',
      { schema: { tags, summary: 'Ledger rows of one file', params: FileParams } },
      async function history(request) {
        const { name, id } = request.params;
        const found = await pipelines.fileHistory(name, id);
        return { file: showFile(found.file), items: found.items.map(showRow) };
      },
    );
  };
}
