/**
 * The live channel's messages as a client sees them (docs/live.md). Declared here, not imported
 * from the server, so the client runs anywhere on its own.
 */

/** Any message on the wire. */
export interface WireMessage {
  type: string;
  payload: unknown;
  id?: string | number;
  /** On `event` messages: the offset to acknowledge. */
  offset?: number;
}

/** `connection_established`: the session and how it came back. */
export interface Established {
  session_token: string;
  session_id: string;
  session_recognized: boolean;
  context_available: boolean;
  recovered: 'full' | 'partial' | 'none';
  missed_count: number;
  replayed_count: number;
  dropped_count: number;
  last_offset: number;
  location_change_detected: boolean;
  security_checks_passed: boolean;
  subscriptions: string[];
  server_time: string;
  heartbeat_seconds: number;
  limits: { max_message_bytes: number; messages_per_minute: number };
}

/** A domain event delivered on a subscribed topic. */
export interface LiveEvent {
  offset: number;
  /** The subscribed topic it came through. */
  topic: string;
  topics: string[];
  event: string;
  data: unknown;
  timestamp: string;
}

/** `error`, `warning` and `session_expired` payloads. */
export interface ServerNotice {
  code: string;
  detail: string;
  [field: string]: unknown;
}

/** One conversation history entry. */
export interface HistoryEntry {
  id: number;
  role: 'client' | 'server';
  content: unknown;
  timestamp: string;
}

/** The session context as get_session_context answers it. */
export interface SessionContext {
  variables: Record<string, unknown>;
  user_preferences: Record<string, unknown>;
  workflow_state: {
    current_step: string | number | null;
    total_steps: number | null;
    pending_steps: unknown[];
  };
  operation_history: { operation: string; timestamp: string }[];
  subscriptions: string[];
}

/** What a (re)connect restored: the server's report, the history and the context. */
export interface Restored {
  established: Established;
  history: { entries: HistoryEntry[]; total: number };
  /** Undefined for a new session (nothing to restore). */
  context: SessionContext | undefined;
}

/** What the client emits. */
export interface LiveClientEvents {
  established: Established;
  restored: Restored;
  event: LiveEvent;
  warning: ServerNotice;
  expired: ServerNotice;
  error: ServerNotice;
  /** `reconnectInMs` is undefined when the client will not reconnect. */
  close: { code: number; reason: string; reconnectInMs: number | undefined };
}
