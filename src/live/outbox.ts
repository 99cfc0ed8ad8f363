/**
 * A session's outbox: the messages sent (or to be sent) to it that the client has not
 * acknowledged yet, by offset, at most `limit` of them. It is what a reconnect within the memory
 * window replays without reading the store.
 */

/** One outbound message: its offset and its serialized frame. */
export interface Outgoing {
  readonly offset: number;
  readonly frame: string;
}

export interface Outbox {
  /** Adds a message; an offset already held is ignored. Evicts the oldest beyond the limit. */
  push(offset: number, frame: string): void;
  /** Forgets every message at or below `offset`. */
  ack(offset: number): void;
  /** The held messages after `cursor`, ascending. */
  after(cursor: number): Outgoing[];
  /** True when a message after `cursor` was evicted unacknowledged (the memory copy has a gap). */
  lostAfter(cursor: number): boolean;
  /** Messages held. */
  readonly size: number;
  /** Bytes of frames held (UTF-16 length, an estimate of memory). */
  readonly chars: number;
}

/** Makes an outbox holding at most `limit` messages. */
export function makeOutbox(limit: number): Outbox {
  let items: Outgoing[] = [];
  let chars = 0;
  let lostAbove = 0;

  function evictOldest(): void {
    const evicted = items.shift();
    if (!evicted) return;
    chars -= evicted.frame.length;
    lostAbove = Math.max(lostAbove, evicted.offset);
  }

  return {
    push(offset, frame) {
      const last = items.at(-1);
      if (!last || offset > last.offset) {
        items.push({ offset, frame });
      } else {
        // Replayed rows from the store can land before messages the feed already delivered.
        if (items.some((o) => o.offset === offset)) return;
        items.push({ offset, frame });
        items.sort((a, b) => a.offset - b.offset);
      }
      chars += frame.length;
      while (items.length > limit) evictOldest();
    },
    ack(offset) {
      const keep = items.findIndex((o) => o.offset > offset);
      const dropped = keep === -1 ? items : items.slice(0, keep);
      for (const o of dropped) chars -= o.frame.length;
      items = keep === -1 ? [] : items.slice(keep);
    },
    after(cursor) {
      return items.filter((o) => o.offset > cursor);
    },
    lostAfter(cursor) {
      return lostAbove > cursor;
    },
    get size() {
      return items.length;
    },
    get chars() {
      return chars;
    },
  };
}
