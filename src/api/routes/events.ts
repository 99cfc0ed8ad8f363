/**
 * Event ingestion routes, PulseBoard-compatible. Parse → call events → map the result.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import type { Db } from '../../db/index.ts';
import { FerryError, invalidFields } from '../../errors/index.ts';
import {
  countEvents,
  getEvent,
  listEvents,
  unstorableText,
  type EventRow,
  type Events,
  type NewEvent,
} from '../../events/index.ts';

const EventIn = Type.Object(
  {
    event_name: Type.String({ minLength: 1, maxLength: 255 }),
    event_type: Type.String({ minLength: 1, maxLength: 100 }),
    source: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
    session_id: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
    payload: Type.Optional(Type.Object({}, { additionalProperties: true })),
    properties: Type.Optional(
      Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    ),
    event_timestamp: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    ip_address: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    user_agent: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
    message_id: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()]),
    ),
  },
  { additionalProperties: false },
);
type EventIn = Static<typeof EventIn>;

const Batch = Type.Object(
  { events: Type.Array(EventIn, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  event_type: Type.Optional(Type.String({ maxLength: 100 })),
  processed: Type.Optional(Type.Boolean()),
});

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

function toNew(input: EventIn, request: FastifyRequest, userId: number | null): NewEvent {
  const agent = request.headers['user-agent'];
  return {
    user_id: userId,
    event_name: input.event_name,
    event_type: input.event_type,
    source: input.source ?? null,
    session_id: input.session_id ?? null,
    payload: input.payload ?? {},
    user_properties: input.properties ?? null,
    ip_address: input.ip_address ?? request.ip,
    user_agent: input.user_agent ?? (typeof agent === 'string' ? agent : null),
    event_timestamp: input.event_timestamp ?? null,
    message_id: input.message_id ?? null,
  };
}

/** 422 for text PostgreSQL cannot store (NUL, lone surrogates), named like schema errors. */
function refuseUnstorable(inputs: readonly EventIn[], prefix: (index: number) => string): void {
  inputs.forEach((input, index) => {
    const field = unstorableText(input, prefix(index));
    if (!field) return;
    const message = 'contains a NUL character or an unpaired surrogate, which cannot be stored';
    throw invalidFields([{ field, message }]);
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

const ownerOf = (request: FastifyRequest): number | null => request.principal?.userId ?? null;

export interface EventRouteDeps {
  db: Db;
  events: Events;
  /** Body limits: a single event may carry up to 1 MB of payload, a batch up to 1000 events. */
  singleBodyLimit: number;
  batchBodyLimit: number;
}

export function eventRoutes(deps: EventRouteDeps) {
  const { db, events } = deps;
  return function registerEventRoutes(app: FastifyInstance): void {
    const tags = ['events'];
    app.post(
      '/api/v1/events',
      {
        config: { access: 'user' },
        bodyLimit: deps.singleBodyLimit,
        schema: { tags, body: EventIn },
      },
      async function submit(request, reply) {
        refuseUnstorable([request.body as EventIn], () => 'body');
        const accepted = await events.submit(ownerOf(request), [
          toNew(request.body as EventIn, request, ownerOf(request)),
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
      { config: { access: 'user' }, bodyLimit: deps.batchBodyLimit, schema: { tags, body: Batch } },
      async function submitBatch(request, reply) {
        const owner = ownerOf(request);
        const items = (request.body as Static<typeof Batch>).events;
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
        const { id } = request.params as Static<typeof IdParams>;
        const row = await getEvent(db, id);
        if (!row) throw new FerryError('FERRY_ERR_EVENT_NOT_FOUND');
        if (row.user_id !== ownerOf(request) && request.principal?.role !== 'admin') {
          throw new FerryError('FERRY_ERR_EVENT_FORBIDDEN');
        }
        return show(row);
      },
    );

    app.get(
      '/api/v1/events',
      { config: { access: 'user' }, schema: { tags, querystring: ListQuery } },
      async function list(request, reply) {
        const q = request.query as Static<typeof ListQuery>;
        const page = await listEvents(db, {
          userId: ownerOf(request),
          eventType: q.event_type,
          processed: q.processed,
          limit: q.limit ?? 100,
          offset: q.offset ?? 0,
        });
        void reply.header('x-total-count', String(page.total));
        return page.items.map(show);
      },
    );
  };
}
