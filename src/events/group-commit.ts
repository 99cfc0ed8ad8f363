/**
 * Group commit: concurrent callers share one flush (one transaction, one wake-up) instead of
 * paying for one each. The first caller on an idle committer is flushed on the next turn of the
 * event loop, so a lone submit waits for nothing; callers that arrive while a flush runs gather
 * and go together in the next one. Each caller's promise settles only when its own flush has
 * settled, so a 2xx answered from it still means "committed".
 */

/** Runs one flush: `items` in order, one result per item, in the same order. */
export type Flush<In, Out> = (items: readonly In[]) => Promise<readonly Out[]>;

/** A committer: `add` resolves with the item's result once the flush that carried it settled. */
export interface GroupCommit<In, Out> {
  add(item: In): Promise<Out>;
  /** Resolves once nothing is pending or being flushed. */
  idle(): Promise<void>;
}

interface Waiting<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (error: unknown) => void;
}

/**
 * Makes a committer that flushes at most `maxItems` items at a time, one flush at a time.
 * A flush that throws rejects every item it carried with the same error (the caller decides
 * whether to retry one by one).
 */
export function makeGroupCommit<In, Out>(
  flush: Flush<In, Out>,
  maxItems: number,
): GroupCommit<In, Out> {
  let queue: Waiting<In, Out>[] = [];
  let running: Promise<void> | undefined;

  async function loop(): Promise<void> {
    // One turn first: callers of the same tick (one socket read of many requests) join.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      const taken = queue.slice(0, maxItems);
      queue = queue.slice(taken.length);
      try {
        const outs = await flush(taken.map((w) => w.item));
        taken.forEach((w, i) => {
          w.resolve(outs[i] as Out);
        });
      } catch (error) {
        for (const w of taken) w.reject(error);
      }
    }
  }

  function start(): void {
    if (running) return;
    running = loop().finally(() => {
      running = undefined;
      if (queue.length > 0) start();
    });
  }

  return {
    add(item) {
      const { promise, resolve, reject } = Promise.withResolvers<Out>();
      queue.push({ item, resolve, reject });
      start();
      return promise;
    },
    async idle() {
      while (running) await running;
    },
  };
}
