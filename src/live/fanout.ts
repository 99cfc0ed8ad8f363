/**
 * Fan-out on one node: which of the sessions held here subscribe to which topics, and the
 * delivery of each log message to them, once per session, authorized per topic.
 */
import type { LiveSession } from './session.ts';
import type { LogMessage } from './sql/messages.ts';
import { covers, familyOf, maySee } from './topics.ts';

export interface Fanout {
  add(session: LiveSession, topic: string): void;
  remove(session: LiveSession, topic: string): void;
  removeAll(session: LiveSession): void;
  /** Calls `receive` for every session that may see `message`, with the frame for that session. */
  deliver(
    message: LogMessage,
    receive: (session: LiveSession, frame: string, offset: number) => void,
  ): void;
}

/** The `event` frame a client receives; `topic` is the subscribed topic that matched. */
export function eventFrame(message: LogMessage, topic: string): string {
  return (
    `{"type":"event","offset":${message.id},"payload":{"topic":${JSON.stringify(topic)},` +
    `"topics":${JSON.stringify(message.topics)},"event":${JSON.stringify(message.event)},` +
    `"data":${message.data},"timestamp":"${new Date(message.at).toISOString()}"}}`
  );
}

/**
 * The topic of `message` through which `session` receives it: one it subscribed to (after its
 * subscribe) and may see. Undefined when none.
 */
export function matchTopic(session: LiveSession, message: LogMessage): string | undefined {
  for (const topic of message.topics) {
    if (!maySee(session.principal, topic, message.ownerId)) continue;
    for (const [subscription, since] of session.subscriptions) {
      if (message.id > since && covers(subscription, topic)) return topic;
    }
  }
  return undefined;
}

/** Index key for a subscription: the topic itself, or `family:*` for a wildcard. */
function keysFor(topic: string): string[] {
  return [topic, `${familyOf(topic)}:*`];
}

export function makeFanout(): Fanout {
  const index = new Map<string, Set<LiveSession>>();

  return {
    add(session, topic) {
      let set = index.get(topic);
      if (!set) index.set(topic, (set = new Set()));
      set.add(session);
    },
    remove(session, topic) {
      const set = index.get(topic);
      if (!set) return;
      set.delete(session);
      if (set.size === 0) index.delete(topic);
    },
    removeAll(session) {
      for (const topic of session.subscriptions.keys()) this.remove(session, topic);
    },
    deliver(message, receive) {
      const seen = new Set<LiveSession>();
      const frames = new Map<string, string>();
      for (const topic of message.topics) {
        for (const key of keysFor(topic)) {
          for (const session of index.get(key) ?? []) {
            if (seen.has(session)) continue;
            seen.add(session);
            const matched = matchTopic(session, message);
            if (matched === undefined) continue;
            let frame = frames.get(matched);
            if (frame === undefined) frames.set(matched, (frame = eventFrame(message, matched)));
            receive(session, frame, message.id);
          }
        }
      }
    },
  };
}
