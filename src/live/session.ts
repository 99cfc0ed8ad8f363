/**
 * A session in memory: who it belongs to, its subscriptions, context, conversation history and
 * outbox. The functions here are pure over that state; the hub persists what they change.
 */
import type { Principal } from '../auth/index.ts';
import type { Outbox } from './outbox.ts';
import type { HistoryRow } from './sql/sessions.ts';

/** Where a multi-step task stands; the client sets it, Ferry keeps it. */
export interface WorkflowState {
  current_step: string | number | null;
  total_steps: number | null;
  pending_steps: unknown[];
}

/** What a session remembers for its client besides messages. */
export interface SessionContext {
  variables: Record<string, unknown>;
  user_preferences: Record<string, unknown>;
  workflow_state: WorkflowState;
  operation_history: { operation: string; timestamp: string }[];
}

/** The connection a session is attached to, as the session sees it. */
export interface SessionLink {
  send(frame: string): void;
  close(code: number, reason: string): void;
}

/** A session held by this node: attached to a connection, or detached within the memory window. */
export interface LiveSession {
  readonly id: string;
  readonly tokenHash: string;
  /** The principal the token is bound to (`user:7`, `key:3`, `anonymous`). */
  readonly owner: string;
  principal: Principal;
  /** The store's attach counter when this copy was made; an older one is stale. */
  epoch: number;
  /** Topic → log id at subscribe time; only later messages are delivered or replayed. */
  subscriptions: Map<string, number>;
  context: SessionContext;
  history: HistoryRow[];
  historySeq: number;
  /** Highest offset the client acknowledged. */
  acked: number;
  outbox: Outbox;
  link: SessionLink | undefined;
  /** While a restore is in progress, delivered messages go to the outbox only. */
  restoring: boolean;
  detachedAt: number | undefined;
  /** The store writes for this session, in order. */
  writes: Promise<void>;
}

/** The owner key a session token is bound to. */
export function ownerKey(principal: Principal): string {
  if (principal.kind === 'anonymous') return 'anonymous';
  if (principal.kind === 'user') return `user:${String(principal.userId)}`;
  return `key:${String(principal.id)}`;
}

export function emptyContext(): SessionContext {
  return {
    variables: {},
    user_preferences: {},
    workflow_state: { current_step: null, total_steps: null, pending_steps: [] },
    operation_history: [],
  };
}

/** Reads a stored context; fields it lacks get their empty values. */
export function parseContext(text: string): SessionContext {
  const stored = JSON.parse(text) as Partial<SessionContext>;
  return { ...emptyContext(), ...stored };
}

/** What set_context may change. */
export interface ContextChange {
  variables?: Record<string, unknown> | undefined;
  user_preferences?: Record<string, unknown> | undefined;
  workflow_state?: Partial<WorkflowState> | undefined;
}

/**
 * The context after a change: variables and preferences merge key by key (a null value deletes
 * the key), workflow fields replace those given. The operation is appended to the history,
 * which keeps its newest `keep` entries.
 */
export function changedContext(
  context: SessionContext,
  change: ContextChange,
  operation: { operation: string; timestamp: string } | undefined,
  keep: number,
): SessionContext {
  const operations = operation
    ? [...context.operation_history, operation].slice(-keep)
    : context.operation_history;
  return {
    variables: merge(context.variables, change.variables),
    user_preferences: merge(context.user_preferences, change.user_preferences),
    workflow_state: { ...context.workflow_state, ...change.workflow_state },
    operation_history: operations,
  };
}

function merge(
  base: Record<string, unknown>,
  change: Record<string, unknown> | undefined,
): Record<string, unknown> {
  if (!change) return base;
  const out = { ...base };
  for (const [key, value] of Object.entries(change)) {
    if (value === null) Reflect.deleteProperty(out, key);
    else out[key] = value;
  }
  return out;
}

/** Subscriptions as stored: `{"topic": sinceId}`. */
export function encodeSubscriptions(subscriptions: ReadonlyMap<string, number>): string {
  return JSON.stringify(Object.fromEntries(subscriptions));
}

export function parseSubscriptions(text: string): Map<string, number> {
  return new Map(Object.entries(JSON.parse(text) as Record<string, number>));
}

/** The session context as get_session_context answers it. */
export function contextView(session: LiveSession) {
  return { ...session.context, subscriptions: [...session.subscriptions.keys()] };
}

/** The summary context_status answers. */
export function contextStatus(session: LiveSession) {
  const c = session.context;
  return {
    context_available: true,
    variables_count: Object.keys(c.variables).length,
    preferences_count: Object.keys(c.user_preferences).length,
    workflow_state: c.workflow_state,
    operations_count: c.operation_history.length,
    history_count: session.history.length,
    subscriptions: [...session.subscriptions.keys()],
    acked_offset: session.acked,
  };
}

/**
 * The history as get_conversation_history answers it: the newest `limit` entries, in order.
 * Built from the stored JSON text, so a 1,000-entry history is not parsed and re-serialized.
 */
export function historyJson(history: readonly HistoryRow[], limit?: number): string {
  const entries = limit === undefined ? history : history.slice(-limit);
  const parts = entries.map(
    (h) =>
      `{"id":${h.seq},"role":"${h.role}","content":${h.content},"timestamp":"${new Date(h.at).toISOString()}"}`,
  );
  return `[${parts.join(',')}]`;
}
