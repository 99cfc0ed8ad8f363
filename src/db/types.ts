/**
 * The narrow database boundary. Domain code sees only this: run a statement, run a
 * transaction, listen and notify. Two drivers implement it (PGlite, node-postgres) and one
 * conformance suite (`db.conformance.test.ts`) proves they behave the same.
 */

/** Which store a Db talks to. */
export type StoreKind = 'pglite' | 'postgres';

/** Rows plus the affected-row count for writes. */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

/** Anything that can run a statement: the Db itself or an open transaction. */
export interface Queryable {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<Row>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/** Stops a listener; idempotent. */
export type Unlisten = () => Promise<void>;

/** A store connection (pool or embedded instance). */
export interface Db extends Queryable {
  readonly kind: StoreKind;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Calls `onPayload` for every NOTIFY on `channel` until the returned function is called. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<Unlisten>;
  /** Sends a NOTIFY; delivered to listeners after the surrounding transaction (if any) commits. */
  notify(channel: string, payload: string): Promise<void>;
  /** Closes the pool or instance; idempotent. */
  close(): Promise<void>;
}
