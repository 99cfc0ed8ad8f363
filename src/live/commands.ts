/**
 * What each command does to a session and what it answers. A command's change (subscriptions,
 * context, the two history entries) is written to the store before the reply is sent and before
 * memory changes, so a reply the client saw is never lost by a restart.
 */
import type { ErrorCode } from '../errors/index.ts';
import { errorBody, FerryError } from '../errors/index.ts';
import type { Fanout } from './fanout.ts';
import { frame, type Command, type MessageId } from './protocol.ts';
import {
  changedContext,
  contextStatus,
  contextView,
  encodeSubscriptions,
  historyJson,
  type LiveSession,
  type SessionContext,
} from './session.ts';
import type { HistoryRow, SessionChange } from './sql/sessions.ts';
import { parseTopic, subscribeProblem } from './topics.ts';

export interface CommandDeps {
  now: () => number;
  /** Feed position: a subscription made now starts after it. */
  position: () => number;
  fanout: Fanout;
  historyLimit: number;
  contextLimitBytes: number;
  /** Writes a change for the session, after its earlier writes. */
  save(session: LiveSession, change: SessionChange): Promise<void>;
  /** Records an acknowledgement (written lazily; the client also resends it on resume). */
  ack(session: LiveSession, offset: number): void;
}

/** What a command produced: the reply, what the history keeps of it, and the state change. */
interface Outcome {
  type: string;
  /** The reply payload as JSON text. */
  payload: string;
  /** For read-only replies, the history keeps this instead of a copy of what was read. */
  kept?: string;
  subscriptions?: Map<string, number>;
  context?: SessionContext;
}

/** Most topics one session may hold. */
const maxSubscriptions = 1000;
/**
 * Operations kept in the context's operation history. The context is rewritten on every change,
 * so it stays small; the conversation history is the full record.
 */
export const operationHistoryLimit = 100;

const json = (value: unknown) => JSON.stringify(value);

function failure(code: ErrorCode, params: Record<string, unknown>): Outcome {
  return {
    type: 'error',
    payload: json(errorBody(new FerryError(code, params))),
  };
}

function operation(deps: CommandDeps, name: string) {
  return { operation: name, timestamp: new Date(deps.now()).toISOString() };
}

function subscribe(deps: CommandDeps, session: LiveSession, topics: string[]): Outcome {
  const next = new Map(session.subscriptions);
  const accepted: string[] = [];
  const refused: { topic: string; code: ErrorCode; detail: string }[] = [];
  const refuse = (topic: string, code: ErrorCode, params: Record<string, unknown>) => {
    refused.push({ topic, code, detail: new FerryError(code, params).message });
  };
  for (const topic of new Set(topics)) {
    const name = parseTopic(topic);
    const problem = name && subscribeProblem(session.principal, name);
    if (!name) refuse(topic, 'FERRY_ERR_LIVE_TOPIC_UNKNOWN', { topic });
    else if (problem) refuse(topic, 'FERRY_ERR_LIVE_TOPIC_FORBIDDEN', { reason: problem });
    else if (!next.has(topic) && next.size >= maxSubscriptions) {
      refuse(topic, 'FERRY_ERR_LIVE_TOPIC_FORBIDDEN', {
        reason: `a session may hold ${maxSubscriptions} topics`,
      });
    } else {
      if (!next.has(topic)) next.set(topic, deps.position());
      accepted.push(topic);
    }
  }
  const context = changedContext(
    session.context,
    {},
    operation(deps, 'subscribe'),
    operationHistoryLimit,
  );
  return {
    type: 'subscribed',
    payload: json({ topics: accepted, refused, subscriptions: [...next.keys()] }),
    subscriptions: next,
    context,
  };
}

function unsubscribe(deps: CommandDeps, session: LiveSession, topics: string[]): Outcome {
  const next = new Map(session.subscriptions);
  const removed = topics.filter((t) => next.delete(t));
  const context = changedContext(
    session.context,
    {},
    operation(deps, 'unsubscribe'),
    operationHistoryLimit,
  );
  return {
    type: 'unsubscribed',
    payload: json({ topics: removed, subscriptions: [...next.keys()] }),
    subscriptions: next,
    context,
  };
}

function setContext(
  deps: CommandDeps,
  session: LiveSession,
  payload: Extract<Command, { type: 'set_context' }>['payload'],
): Outcome {
  const { operation: name, ...change } = payload;
  const context = changedContext(
    session.context,
    change,
    operation(deps, name ?? 'set_context'),
    operationHistoryLimit,
  );
  const size = Buffer.byteLength(json(context));
  if (size > deps.contextLimitBytes) {
    return failure('FERRY_ERR_LIVE_CONTEXT_TOO_LARGE', { size, limit: deps.contextLimitBytes });
  }
  // The operation history is left out: it is in get_session_context, and every reply is kept
  // in the conversation history.
  const { operation_history: operations, ...rest } = context;
  return {
    type: 'context_updated',
    payload: json({ ...rest, operations_count: operations.length }),
    context,
  };
}

function read(type: string, payload: string): Outcome {
  return {
    type,
    payload,
    kept: json({ omitted: 'read-only reply; ask again for the current state' }),
  };
}

function outcomeOf(deps: CommandDeps, session: LiveSession, command: Command): Outcome {
  switch (command.type) {
    case 'ping':
      return {
        type: 'pong',
        payload: json({
          timestamp: command.payload.timestamp ?? null,
          server_time: new Date(deps.now()).toISOString(),
        }),
      };
    case 'subscribe':
      return subscribe(deps, session, command.payload.topics);
    case 'unsubscribe':
      return unsubscribe(deps, session, command.payload.topics);
    case 'set_context':
      return setContext(deps, session, command.payload);
    case 'get_conversation_history':
      return read(
        'conversation_history',
        `{"entries":${historyJson(session.history, command.payload.limit)},"total":${session.history.length}}`,
      );
    case 'get_session_context':
      return read('session_context', json(contextView(session)));
    case 'get_agent_context':
      return read('agent_context', json(contextView(session)));
    case 'context_status':
      return read('context_status', json(contextStatus(session)));
    case 'ack':
      throw new Error('ack has no outcome');
  }
}

function replyFrame(type: string, payload: string, id: MessageId): string {
  const idPart = id === undefined ? '' : `,"id":${json(id)}`;
  return `{"type":${json(type)},"payload":${payload}${idPart}}`;
}

/**
 * Runs one command: the reply frame to send, or undefined (an ack has none). `text` is the
 * message as the client sent it; the history keeps it verbatim. `ping` is transport-level and
 * `ack` flow control: neither enters the conversation history.
 */
export async function runCommand(
  deps: CommandDeps,
  session: LiveSession,
  command: Command,
  text: string,
): Promise<string | undefined> {
  if (command.type === 'ack') {
    deps.ack(session, command.payload.offset);
    return undefined;
  }
  const outcome = outcomeOf(deps, session, command);
  const reply = replyFrame(outcome.type, outcome.payload, command.id);
  if (command.type === 'ping') return reply;
  const at = deps.now();
  const entries: HistoryRow[] = [
    { seq: session.historySeq + 1, role: 'client', content: text, at },
    {
      seq: session.historySeq + 2,
      role: 'server',
      content: outcome.kept ? replyFrame(outcome.type, outcome.kept, command.id) : reply,
      at,
    },
  ];
  const lastSeq = session.historySeq + 2;
  await deps.save(session, {
    history: entries,
    trimThrough: lastSeq - deps.historyLimit,
    ...(outcome.subscriptions && { subscriptions: encodeSubscriptions(outcome.subscriptions) }),
    ...(outcome.context && { context: json(outcome.context) }),
  });
  apply(deps, session, outcome, entries);
  return reply;
}

function apply(deps: CommandDeps, session: LiveSession, outcome: Outcome, entries: HistoryRow[]) {
  if (outcome.subscriptions) {
    for (const topic of session.subscriptions.keys()) {
      if (!outcome.subscriptions.has(topic)) deps.fanout.remove(session, topic);
    }
    for (const topic of outcome.subscriptions.keys()) deps.fanout.add(session, topic);
    session.subscriptions = outcome.subscriptions;
  }
  if (outcome.context) session.context = outcome.context;
  session.history.push(...entries);
  session.historySeq += entries.length;
  const excess = session.history.length - deps.historyLimit;
  if (excess > 0) session.history.splice(0, excess);
}

/** The `error` frame for a command that failed for a reason of the server's (store down). */
export function serverErrorFrame(code: ErrorCode, id: MessageId): string {
  return frame('error', errorBody(new FerryError(code, { requestId: 'live' })), id);
}
