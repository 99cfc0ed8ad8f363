/** Counters the caller can read (`client.metrics()`); the SDK only ever increments them. */
export interface Metrics {
  /** Jobs submitted (answered 202). */
  submitted: number;
  /** Attempts after the first, over all calls. */
  retries: number;
  /** Attempts sent to another node than the one before. */
  reroutes: number;
  /** Ferry-Redirect hops followed. */
  redirects: number;
  /** 429 answers received. */
  rateLimited: number;
  /** 503 answers received (shed, draining, store down). */
  shed: number;
  /** Calls that failed for good. */
  failures: number;
  /** Jobs reported orphaned. */
  orphaned: number;
  /** Calls that failed because the retry budget was empty. */
  budgetExhausted: number;
  /** Updates ignored because they carried an older fencing token. */
  staleDropped: number;
  /** Callbacks that threw (reported on the client's `error` event). */
  callbackErrors: number;
}

export function makeMetrics(): Metrics {
  return {
    submitted: 0,
    retries: 0,
    reroutes: 0,
    redirects: 0,
    rateLimited: 0,
    shed: 0,
    failures: 0,
    orphaned: 0,
    budgetExhausted: 0,
    staleDropped: 0,
    callbackErrors: 0,
  };
}
