/** A submitted event for domain-level event tests: only the name (and message id) vary. */
import type { NewEvent } from '../../src/events/index.ts';

/** An event named `name`, with a payload the drain normalizes (`duration: ' 3 '` → 3). */
export function newEvent(name: string, messageId: string | null = null): NewEvent {
  return {
    user_id: null,
    event_name: name,
    event_type: 'test',
    source: null,
    session_id: null,
    payload: { duration: ' 3 ' },
    user_properties: null,
    ip_address: null,
    user_agent: null,
    event_timestamp: null,
    message_id: messageId,
  };
}
