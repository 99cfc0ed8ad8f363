/**
 * Leases with fencing tokens (invariant 6). A lease is a named right to run an activity only one
 * node may run. Every acquisition increases the token; `fenced()` runs a write only while the
 * caller's token is still the current, unexpired one, holding the lease row locked so no other
 * node can acquire it mid-write.
 */
import { FerryError } from '../errors/index.ts';
import type { Db, Queryable } from './types.ts';

/** A held lease: what a holder keeps and passes to `fenced()`. */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly token: number;
  readonly expiresAt: Date;
}

interface LeaseRow {
  name: string;
  holder: string;
  token: string;
  expires_at: Date;
  expired: boolean;
}

function toLease(row: LeaseRow): Lease {
  return {
    name: row.name,
    holder: row.holder,
    token: Number(row.token),
    expiresAt: row.expires_at,
  };
}

/**
 * Takes the lease when it is free, released or expired (token + 1). The current holder calling
 * again just extends it and keeps its token. Returns undefined when another holder has it.
 */
export async function acquireLease(
  db: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<Lease | undefined> {
  const { rows } = await db.query<LeaseRow>(
    `INSERT INTO ferry.leases AS l (name, holder, token, expires_at)
     VALUES ($1, $2, 1, now() + make_interval(secs => $3::float8 / 1000))
     ON CONFLICT (name) DO UPDATE SET
       token = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now() THEN l.token ELSE l.token + 1 END,
       acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now() THEN l.acquired_at ELSE now() END,
       holder = EXCLUDED.holder,
       renewed_at = now(),
       expires_at = EXCLUDED.expires_at
     WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder
     RETURNING name, holder, token, expires_at`,
    [name, holder, ttlMs],
  );
  const row = rows[0];
  return row ? toLease(row) : undefined;
}

/** Extends a held lease; undefined when it was lost (expired and taken, or released). */
export async function renewLease(
  db: Queryable,
  lease: Lease,
  ttlMs: number,
): Promise<Lease | undefined> {
  return (await renewLeases(db, [lease], ttlMs))[0];
}

/**
 * Extends several held leases in one statement (a node coordinating many jobs); answers those
 * still held. A lease missing from the answer was lost (expired and taken, or released).
 */
export async function renewLeases(
  db: Queryable,
  leases: readonly Lease[],
  ttlMs: number,
): Promise<Lease[]> {
  if (leases.length === 0) return [];
  const { rows } = await db.query<LeaseRow>(
    `UPDATE ferry.leases l SET renewed_at = now(),
       expires_at = now() + make_interval(secs => $4::float8 / 1000)
     FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(name, holder, token)
     WHERE l.name = x.name AND l.holder = x.holder AND l.token = x.token AND l.expires_at > now()
     RETURNING l.name, l.holder, l.token, l.expires_at`,
    [leases.map((l) => l.name), leases.map((l) => l.holder), leases.map((l) => l.token), ttlMs],
  );
  return rows.map(toLease);
}

/** Gives the lease up so another node can take it at once; the token is kept (never reset). */
export async function releaseLease(db: Queryable, lease: Lease): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ferry.leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND token = $3`,
    [lease.name, lease.holder, lease.token],
  );
  return rowCount > 0;
}

/** True for the error a stale holder's fenced write throws. */
export function isLeaseLost(error: unknown): boolean {
  return error instanceof FerryError && error.code === 'FERRY_ERR_LEASE_LOST';
}

/**
 * Runs `write` in a transaction only if `lease` is still current; otherwise throws
 * FERRY_ERR_LEASE_LOST and nothing is written. The lease row stays locked until commit, so a
 * new holder cannot slip in between the check and the write.
 */
export async function fenced<T>(
  db: Db,
  lease: Lease,
  write: (tx: Queryable) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<LeaseRow>(
      `SELECT name, holder, token, expires_at, expires_at <= clock_timestamp() AS expired
       FROM ferry.leases WHERE name = $1 FOR UPDATE`,
      [lease.name],
    );
    const current = rows[0];
    if (
      !current ||
      Number(current.token) !== lease.token ||
      current.holder !== lease.holder ||
      current.expired
    ) {
      throw new FerryError('FERRY_ERR_LEASE_LOST', {
        lease: lease.name,
        holder: current?.holder ?? 'nobody',
        currentToken: current ? Number(current.token) : 0,
        token: lease.token,
      });
    }
    return write(tx);
  });
}

/** What `keepLease` needs besides the store and the lease. */
export interface KeepLeaseOptions {
  /** The lease's lifetime; it is renewed every third of it. */
  ttlMs: number;
  /**
   * Called once when the lease is lost: another holder has it, it was released, or no renewal
   * succeeded for a whole lifetime (the store was unreachable, so the lease has expired and
   * another node may hold it now). The holder must stop its work at once.
   */
  onLost: () => void;
  /** A renewal that failed but may succeed next time (store unreachable); for logging. */
  onRenewalError?: (error: unknown) => void;
  /** Clock; tests pass their own. */
  now?: () => number;
}

/**
 * Keeps `lease` alive on its own clock until the returned function is called (a long file copy
 * or run keeps it): `keepLeases` with one lease, stopped when it is lost.
 */
export function keepLease(db: Queryable, lease: Lease, options: KeepLeaseOptions): () => void {
  const keeper = keepLeases(db, options);
  keeper.add(lease, () => {
    keeper.stop();
    options.onLost();
  });
  return () => {
    keeper.stop();
  };
}

/** Leases kept alive together, renewed in one statement (`keepLeases`). */
export interface LeaseKeeper {
  /** Keeps `lease` until it is removed or lost; `onLost` is called once if it is lost. */
  add(lease: Lease, onLost: () => void): void;
  /** Stops keeping the lease of that name (it is not released: see `releaseLease`). */
  remove(name: string): void;
  /** The leases kept now. */
  readonly leases: readonly Lease[];
  stop(): void;
}

/**
 * Keeps a set of leases alive, all renewed every third of `ttlMs` in one statement. What a
 * failed renewal means, for every holder: a lease missing from `renewLeases`' answer is lost at
 * once; an error is retried on the next tick and loses a lease only when a lifetime has passed
 * without its successful renewal.
 */
export function keepLeases(db: Queryable, options: Omit<KeepLeaseOptions, 'onLost'>): LeaseKeeper {
  const now = options.now ?? Date.now;
  const kept = new Map<string, { lease: Lease; onLost: () => void; renewedAt: number }>();
  const lose = (name: string) => {
    const entry = kept.get(name);
    if (!entry) return;
    kept.delete(name);
    entry.onLost();
  };
  const renewAll = (): void => {
    const batch = [...kept.values()];
    if (batch.length === 0) return;
    renewLeases(
      db,
      batch.map((e) => e.lease),
      options.ttlMs,
    ).then(
      (renewed) => {
        const held = new Set(renewed.map((l) => l.name));
        for (const e of batch) {
          // Only the entry renewed in this batch: the lease may have been removed or re-added.
          if (kept.get(e.lease.name) !== e) continue;
          if (held.has(e.lease.name)) e.renewedAt = now();
          else lose(e.lease.name);
        }
      },
      (error: unknown) => {
        options.onRenewalError?.(error);
        for (const e of batch) {
          if (kept.get(e.lease.name) === e && now() - e.renewedAt >= options.ttlMs)
            lose(e.lease.name);
        }
      },
    );
  };
  const timer = setInterval(renewAll, Math.max(10, options.ttlMs / 3));
  timer.unref();
  return {
    add(lease, onLost) {
      kept.set(lease.name, { lease, onLost, renewedAt: now() });
    },
    remove(name) {
      kept.delete(name);
    },
    get leases() {
      return [...kept.values()].map((e) => e.lease);
    },
    stop() {
      clearInterval(timer);
      kept.clear();
    },
  };
}

/**
 * A `Db` whose every statement and transaction runs through `fenced()` with `lease`: for a holder
 * whose writes are spread over code that takes a plain `Db` (a watch loop's file delivery). A
 * stale holder's write throws FERRY_ERR_LEASE_LOST and is not made.
 */
export function fencedDb(db: Db, lease: Lease): Db {
  return {
    kind: db.kind,
    query: (text, values) => fenced(db, lease, (tx) => tx.query(text, values)),
    exec: (script) => fenced(db, lease, (tx) => tx.exec(script)),
    transaction: (fn) => fenced(db, lease, fn),
    listen: (channel, onPayload) => db.listen(channel, onPayload),
    notify: (channel, payload) => db.notify(channel, payload),
    close: () => db.close(),
  };
}
