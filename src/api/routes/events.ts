/**
 * Event ingestion routes, PulseBoard-compatible. Parse → call events → map the result.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { mayAccess, ownerFor, scopeOf } from '../../auth/ownership.ts';
import type { Db } from '../../db/index.ts';
import { FerryError } from '../../errors/index.ts';
import { PathId, Text, pageQuery, refuseUnstorableJson, typed } from '../schemas/index.ts';
import {
  countEvents,
  getEvent,
  listEvents,
  type EventRow,
  type Events,
  type NewEvent,
  EventBatch,
  EventIn,
  toNewEvent,
} from '../../events/index.ts';

const ListQuery = Type.Object({
  ...pageQuery(),
  event_type: Type.Optional(Text({ maxLength: 100 })),
  processed: Type.Optional(Type.Boolean()),
});

const IdParams = PathId;

function toNew(input: EventIn, request: FastifyRequest, userId: number | null): NewEvent {
  const agent = request.headers['user-agent'];
  return toNewEvent(input, userId, {
    ip: request.ip,
    userAgent: typeof agent === 'string' ? agent : null,
  });
}

/**
 * 422 for text PostgreSQL cannot store (NUL, lone surrogates) and for nesting beyond the hard
 * parse limit, named like schema errors. Nesting beyond the processing limit (10) but within the
 * hard one is accepted and ends as a `processing_error`, as PulseBoard does.
 */
function refuseUnstorable(inputs: readonly EventIn[], prefix: (index: number) => string): void {
  inputs.forEach((input, index) => {
    refuseUnstorableJson(input, prefix(index), 1); // 1: the event object itself
  });
}

function show(row: EventRow) {
  return {
    ...row,
    event_timestamp: row.event_timestamp.toISOString(),
    created_at: row.created_at.toISOString(),
    processed_at: row.processed_at?.toISOString() ?? null,
  };
}

/** Events belong to the submitter's user (null for an admin credential without one). */
const ownerOf = (request: FastifyRequest): number | null => ownerFor(scopeOf(request.principal));

export interface EventRouteDeps {
  db: Db;
  events: Events;
  /** Body limits: a single event may carry up to 1 MB of payload, a batch up to 1000 events. */
  singleBodyLimit: number;
  batchBodyLimit: number;
}

export function eventRoutes(deps: EventRouteDeps) {
  const { db, events } = deps;
  return function registerEventRoutes(instance: FastifyInstance): void {
    const app = typed(instance);
    const tags = ['events'];
    app.post(
      '/api/v1/events',
      {
        config: { access: 'user' },
        bodyLimit: deps.singleBodyLimit,
        schema: { tags, body: EventIn },
      },
      async function submit(request, reply) {
        refuseUnstorable([request.body], () => 'body');
        const accepted = await events.submit(ownerOf(request), [
          toNew(request.body, request, ownerOf(request)),
        ]);
        return reply.status(202).send({
          event_id: accepted.ids[0],
          task_id: accepted.taskId,
          status: accepted.status,
          message:
            accepted.status === 'duplicate'
              ? 'Duplicate message_id: this is the original event'
              : 'Event accepted for processing',
        });
      },
    );

    app.post(
      '/api/v1/events/batch',
      {
        config: { access: 'user' },
        bodyLimit: deps.batchBodyLimit,
        schema: { tags, body: EventBatch },
      },
      async function submitBatch(request, reply) {
        const owner = ownerOf(request);
        const items = request.body.events;
        refuseUnstorable(items, (i) => `body.events.${i}`);
        const inputs = items.map((e) => toNew(e, request, owner));
        const accepted = await events.submit(owner, inputs);
        return reply.status(202).send({
          event_count: inputs.length,
          event_ids: accepted.ids,
          task_id: accepted.taskId,
          status: accepted.status,
          message: `${inputs.length} events accepted for processing`,
        });
      },
    );

    app.get(
      '/api/v1/events/status/unprocessed',
      { config: { access: 'user' }, schema: { tags } },
      async function unprocessed(request) {
        const owner = ownerOf(request);
        const counts = await countEvents(db, owner);
        return { unprocessed_count: counts.unprocessed, total_count: counts.total, user_id: owner };
      },
    );

    app.get(
      '/api/v1/events/:id',
      { config: { access: 'user' }, schema: { tags, params: IdParams } },
      async function read(request) {
        const { id } = request.params;
        const row = await getEvent(db, id);
        if (!row) throw new FerryError('FERRY_ERR_EVENT_NOT_FOUND');
        if (!mayAccess(scopeOf(request.principal), row.user_id)) {
          throw new FerryError('FERRY_ERR_EVENT_FORBIDDEN');
        }
        return show(row);
      },
    );

    app.get(
      '/api/v1/events',
      { config: { access: 'user' }, schema: { tags, querystring: ListQuery } },
      async function list(request, reply) {
        const q = request.query;
        const page = await listEvents(db, {
          userId: ownerOf(request),
          eventType: q.event_type,
          processed: q.processed,
          limit: q.limit,
          offset: q.offset,
        });
        void reply.header('x-total-count', String(page.total));
        return page.items.map(show);
      },
    );
  };
}
