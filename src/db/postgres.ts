import pg from 'pg';
import type { Db, Queryable, QueryResult, Unlisten } from './types.ts';

/** Options for the node-postgres driver. */
export interface PostgresOptions {
  url: string;
  poolMax: number;
  /** Sessions idle inside a transaction this long are ended by the server (0: never). */
  idleTransactionTimeoutMs?: number;
  /** Called with pool/listener errors that have no caller to go to (logged, never thrown). */
  onBackgroundError?: (error: Error) => void;
}

/** The shared PostgreSQL store: a pool for statements, one dedicated client for LISTEN. */
export function makePostgresDb(options: PostgresOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: 5000,
    // A fenced write holds its lease row locked for the length of a transaction; a process
    // frozen inside one would hold it for good and no node could take the lease over.
    ...(options.idleTransactionTimeoutMs
      ? { idle_in_transaction_session_timeout: options.idleTransactionTimeoutMs }
      : {}),
  });
  const report = options.onBackgroundError ?? (() => undefined);
  pool.on('error', report);
  const listener = makeListener(options.url, report);
  let closing: Promise<void> | undefined;

  return {
    kind: 'postgres',
    ...queryable(pool),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      // A checked-out client has no pool listener: a connection killed between statements would
      // otherwise be an uncaught 'error' and take the process down.
      const onError = (error: Error): void => {
        broken = true;
        report(error);
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const value = await fn(queryable(client));
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    listen: (channel, onPayload) => listener.listen(channel, onPayload),
    async notify(channel: string, payload: string): Promise<void> {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    close(): Promise<void> {
      closing ??= (async function closePostgres() {
        await listener.close();
        await pool.end();
      })();
      return closing;
    },
  };
}

/** Statements on the pool (autocommit) or on one checked-out client (a transaction). */
function queryable(target: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<Row>(text: string, values?: unknown[]): Promise<QueryResult<Row>> {
      const result = await target.query(text, values);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
    async exec(script: string): Promise<void> {
      // Without parameters node-postgres uses the simple protocol, which runs several statements.
      await target.query(script);
    },
  };
}

/**
 * One client holds every LISTEN. When its connection drops, a single reconnect loop (capped
 * backoff, forever until close) opens a new one and subscribes again. NOTIFYs sent while it was
 * away are lost, as in PostgreSQL itself, so callers treat notifications as wake-ups and re-read
 * state from tables.
 */
function makeListener(url: string, report: (error: Error) => void) {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = 250;
  let closed = false;

  async function open(): Promise<pg.Client> {
    const c = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    c.on('notification', (msg) => {
      for (const h of handlers.get(msg.channel) ?? []) h(msg.payload ?? '');
    });
    c.on('error', (error) => {
      report(error);
      lost(c);
    });
    c.on('end', () => {
      lost(c);
    });
    try {
      await c.connect();
      for (const channel of handlers.keys()) await c.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (error) {
      await c.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      throw new Error('listener closed');
    }
    client = c;
    retryDelay = 250;
    return c;
  }

  /** The live client, connecting once if there is none; concurrent callers share one attempt. */
  function current(): Promise<pg.Client> {
    if (client) return Promise.resolve(client);
    connecting ??= open().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  function lost(c: pg.Client): void {
    if (client !== c) return;
    client = undefined;
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || retryTimer || handlers.size === 0) return;
    const delay = retryDelay;
    retryDelay = Math.min(retryDelay * 2, 10_000);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      current().catch((error: unknown) => {
        if (closed) return;
        report(error as Error);
        scheduleReconnect();
      });
    }, delay);
    retryTimer.unref();
  }

  return {
    async listen(channel: string, onPayload: (payload: string) => void): Promise<Unlisten> {
      const isNew = !handlers.has(channel);
      const set = handlers.get(channel) ?? new Set();
      set.add(onPayload);
      handlers.set(channel, set);
      try {
        const c = await current();
        if (isNew) await c.query(`LISTEN ${quoteIdent(channel)}`);
      } catch (error) {
        set.delete(onPayload);
        if (set.size === 0) handlers.delete(channel);
        throw error;
      }
      return async function unlisten() {
        const live = handlers.get(channel);
        if (!live?.delete(onPayload) || live.size > 0) return;
        handlers.delete(channel);
        if (client) await client.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => undefined);
      };
    },
    async close(): Promise<void> {
      closed = true;
      clearTimeout(retryTimer);
      await connecting?.catch(() => undefined);
      const c = client;
      client = undefined;
      if (c) await c.end().catch(() => undefined);
    },
  };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
