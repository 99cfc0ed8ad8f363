/**
 * The shape of an event as clients send it (PulseBoard-compatible), and how it becomes a row to
 * insert: one declaration for the events routes and for `event_batch` cluster jobs.
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { Text } from '../db/index.ts';
import { invalidFields } from '../errors/index.ts';
import type { NewEvent } from './store.ts';

export const EventIn = Type.Object(
  {
    event_name: Text({ minLength: 1, maxLength: 255 }),
    event_type: Text({ minLength: 1, maxLength: 100 }),
    source: Type.Optional(Type.Union([Text({ maxLength: 255 }), Type.Null()])),
    session_id: Type.Optional(Type.Union([Text({ maxLength: 255 }), Type.Null()])),
    payload: Type.Optional(Type.Object({}, { additionalProperties: true })),
    properties: Type.Optional(
      Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    ),
    event_timestamp: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    ip_address: Type.Optional(Type.Union([Text({ maxLength: 64 }), Type.Null()])),
    user_agent: Type.Optional(Type.Union([Text({ maxLength: 1024 }), Type.Null()])),
    message_id: Type.Optional(Type.Union([Text({ minLength: 1, maxLength: 255 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type EventIn = Static<typeof EventIn>;

/** A batch: 1 … 1000 events. */
export const EventBatch = Type.Object(
  { events: Type.Array(EventIn, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);
export type EventBatch = Static<typeof EventBatch>;

/** The sender's address and agent, used where the event names none. */
export interface EventClient {
  ip: string | null;
  userAgent: string | null;
}

export function toNewEvent(input: EventIn, userId: number | null, client: EventClient): NewEvent {
  return {
    user_id: userId,
    event_name: input.event_name,
    event_type: input.event_type,
    source: input.source ?? null,
    session_id: input.session_id ?? null,
    payload: input.payload ?? {},
    user_properties: input.properties ?? null,
    ip_address: input.ip_address ?? client.ip,
    user_agent: input.user_agent ?? client.userAgent,
    event_timestamp: input.event_timestamp ?? null,
    message_id: input.message_id ?? null,
  };
}

/**
 * 422 naming every field of `value` (at `field`) that is not a valid event batch, the way a body
 * that fails its schema is answered.
 */
export function checkEventBatch(value: unknown, field: string): asserts value is EventBatch {
  if (Value.Check(EventBatch, value)) return;
  const problems = [...Value.Errors(EventBatch, value)].slice(0, 20).map((e) => ({
    field: `${field}${e.instancePath.replace(/\//g, '.')}`,
    message: e.message,
  }));
  throw invalidFields(problems);
}
