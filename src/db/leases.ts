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
  const { rows } = await db.query<LeaseRow>(
    `UPDATE ferry.leases SET renewed_at = now(), expires_at = now() + make_interval(secs => $4::float8 / 1000)
     WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > now()
     RETURNING name, holder, token, expires_at`,
    [lease.name, lease.holder, lease.token, ttlMs],
  );
  const row = rows[0];
  return row ? toLease(row) : undefined;
}

/** Gives the lease up so another node can take it at once; the token is kept (never reset). */
export async function releaseLease(db: Queryable, lease: Lease): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ferry.leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND token = $3`,
    [lease.name, lease.holder, lease.token],
  );
  return rowCount > 0;
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
