/**
 * The live channel's wire protocol: JSON messages `{type, payload, id?}` both ways, the
 * commands a client may send with their payload schemas, and the close codes. docs/live.md is
 * the prose form of this file.
 */
import Type, { type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { hardMaxDepth, inspectJson } from '../db/index.ts';

/** Close codes the server uses; the reason text says more. */
export const closeCodes = {
  /** The node is stopping; reconnect (to any node) and the session is restored. */
  goingAway: 1001,
  /** Repeated malformed, oversize or excess messages. */
  policy: 1008,
  /** A frame far above live.max_message_bytes (refused by the WebSocket layer itself). */
  tooBig: 1009,
  internal: 1011,
  /** The session was resumed by a newer connection (on this node or another). */
  replaced: 4000,
  /** Missing, unknown, expired or revoked credentials. */
  unauthenticated: 4001,
  /** Nothing received (not even a pong) for live.idle_timeout_seconds. */
  idle: 4002,
  /** The send buffer passed live.send_buffer_bytes; the session is kept for recovery. */
  slowConsumer: 4008,
  /** The principal already holds live.connections_per_user connections on this node. */
  tooManyConnections: 4029,
} as const;

const Topics = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
  minItems: 1,
  maxItems: 100,
});
const Json = Type.Record(Type.String(), Type.Unknown());

/** Payload schema of every command a client may send. */
export const commandSchemas = {
  ping: Type.Object({ timestamp: Type.Optional(Type.Union([Type.String(), Type.Number()])) }),
  subscribe: Type.Object({ topics: Topics }),
  unsubscribe: Type.Object({ topics: Topics }),
  ack: Type.Object({ offset: Type.Integer({ minimum: 0 }) }),
  get_conversation_history: Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  }),
  get_session_context: Type.Object({}),
  get_agent_context: Type.Object({}),
  set_context: Type.Object({
    variables: Type.Optional(Json),
    user_preferences: Type.Optional(Json),
    workflow_state: Type.Optional(
      Type.Object({
        current_step: Type.Optional(Type.Union([Type.String(), Type.Integer(), Type.Null()])),
        total_steps: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
        pending_steps: Type.Optional(Type.Array(Type.Unknown())),
      }),
    ),
    /** A name the client gives this change, recorded in the operation history. */
    operation: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  }),
  context_status: Type.Object({}),
} satisfies Record<string, TSchema>;

export type CommandType = keyof typeof commandSchemas;

/** A validated command. */
export type Command = {
  [K in CommandType]: { type: K; payload: Static<(typeof commandSchemas)[K]>; id: MessageId };
}[CommandType];

/** The client's correlation id, echoed on the reply. */
export type MessageId = string | number | undefined;

/** A parsed message, or the problem that makes it unusable (with the id when one was readable). */
export type Parsed =
  { ok: true; command: Command } | { ok: false; problem: Problem; id: MessageId };

/** Why a message was refused: the error code for the `error` reply, and its detail. */
export interface Problem {
  code:
    'FERRY_ERR_LIVE_MALFORMED' | 'FERRY_ERR_LIVE_UNKNOWN_TYPE' | 'FERRY_ERR_LIVE_INVALID_PAYLOAD';
  params: Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readId(value: unknown): MessageId | null {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length <= 128) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return null;
}

function malformed(reason: string, id?: MessageId): Parsed {
  return { ok: false, problem: { code: 'FERRY_ERR_LIVE_MALFORMED', params: { reason } }, id };
}

/** Parses one text frame into a command, naming the first thing wrong with it. */
export function parseMessage(text: string): Parsed {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return malformed(`not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(data)) return malformed('a message must be a JSON object {type, payload, id?}');
  const id = readId(data.id);
  if (id === null) return malformed('id must be a string of at most 128 characters or a number');
  if (typeof data.type !== 'string' || data.type === '') {
    return malformed('type must be a non-empty string', id);
  }
  const type = data.type;
  if (!Object.hasOwn(commandSchemas, type)) {
    return {
      ok: false,
      problem: {
        code: 'FERRY_ERR_LIVE_UNKNOWN_TYPE',
        params: { type: type.slice(0, 64), known: Object.keys(commandSchemas).join(', ') },
      },
      id,
    };
  }
  const payload = data.payload ?? {};
  // Before anything recursive (the schema check, the store's JSON): too deep or unstorable is bad input.
  const shape = inspectJson(payload, 'payload');
  if (shape.tooDeep) return malformed(`payload nests deeper than ${hardMaxDepth} levels`, id);
  if (shape.unstorable) {
    const reason = `${shape.unstorable} contains a NUL character or an unpaired surrogate`;
    return {
      ok: false,
      problem: { code: 'FERRY_ERR_LIVE_INVALID_PAYLOAD', params: { type, reason } },
      id,
    };
  }
  const schema = commandSchemas[type as CommandType];
  if (!Value.Check(schema, payload)) {
    const first = [...Value.Errors(schema, payload)][0];
    const where = first?.instancePath
      ? `payload${first.instancePath.replace(/\//g, '.')}`
      : 'payload';
    const reason = `${where} ${first?.message ?? 'does not match the command'}`;
    return {
      ok: false,
      problem: { code: 'FERRY_ERR_LIVE_INVALID_PAYLOAD', params: { type, reason } },
      id,
    };
  }
  return { ok: true, command: { type, payload, id } as Command };
}

/** Serializes a server message; `id` is included only when the client gave one. */
export function frame(type: string, payload: unknown, id?: MessageId): string {
  return JSON.stringify(id === undefined ? { type, payload } : { type, payload, id });
}
