/** A small typed event emitter for the client (no Node or DOM dependency). */

export type Listener<T> = (payload: T) => void;

export interface Emitter<Events> {
  emit<K extends keyof Events>(name: K, payload: Events[K]): void;
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void;
  /** Resolves with the next matching payload; rejects after `timeoutMs`. */
  next<K extends keyof Events>(
    name: K,
    match?: (payload: Events[K]) => boolean,
    timeoutMs?: number,
  ): Promise<Events[K]>;
}

/**
 * Makes an emitter. A listener's exception goes to `onListenerError`; by default it is rethrown
 * on a microtask, so it belongs to the application and never breaks the emitting loop.
 */
export function makeEmitter<Events>(
  onListenerError: (error: unknown) => void = (error) => {
    queueMicrotask(() => {
      throw error;
    });
  },
): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<Listener<never>>>();

  function on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = listeners.get(name);
    if (!set) listeners.set(name, (set = new Set()));
    set.add(listener);
    return function off() {
      set.delete(listener);
    };
  }

  return {
    on,
    emit(name, payload) {
      for (const listener of [...(listeners.get(name) ?? [])]) {
        try {
          (listener as Listener<typeof payload>)(payload);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    next(name, match = () => true, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`timed out after ${String(timeoutMs)} ms waiting for ${String(name)}`));
        }, timeoutMs);
        const off = on(name, (payload) => {
          if (!match(payload)) return;
          clearTimeout(timer);
          off();
          resolve(payload);
        });
      });
    },
  };
}
