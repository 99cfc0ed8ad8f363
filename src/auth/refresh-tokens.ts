/**
 * Refresh tokens: opaque random strings stored as sha256, grouped in login families. Refreshing
 * rotates the token; presenting an already-rotated token revokes its whole family.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/index.ts';
import { notifyCredentialsChanged } from './credential-cache.ts';

const prefix = 'frt_';

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Starts a family (one per login) and returns its first token. */
export async function startFamily(
  db: Queryable,
  userId: number,
  ttlSeconds: number,
  now: Date,
): Promise<{ familyId: string; token: string }> {
  const familyId = randomUUID();
  await db.query('INSERT INTO ferry.token_families (id, user_id, created_at) VALUES ($1, $2, $3)', [
    familyId,
    userId,
    now,
  ]);
  const token = await issueToken(db, familyId, ttlSeconds, now);
  return { familyId, token };
}

async function issueToken(
  db: Queryable,
  familyId: string,
  ttlSeconds: number,
  now: Date,
): Promise<string> {
  const token = prefix + randomBytes(32).toString('base64url');
  await db.query(
    'INSERT INTO ferry.refresh_tokens (token_hash, family_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)',
    [hash(token), familyId, now, new Date(now.getTime() + ttlSeconds * 1000)],
  );
  return token;
}

/** Outcome of presenting a refresh token. */
export type RotateResult =
  | { ok: true; userId: number; familyId: string; token: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'reused' };

/** Rotates a refresh token (call inside a transaction: the row lock serializes double use). */
export async function rotateToken(
  db: Queryable,
  token: string,
  ttlSeconds: number,
  now: Date,
): Promise<RotateResult> {
  const { rows } = await db.query<{
    family_id: string;
    user_id: number;
    expires_at: Date;
    rotated_at: Date | null;
    revoked_at: Date | null;
  }>(
    `SELECT t.family_id, f.user_id, t.expires_at, t.rotated_at, f.revoked_at
     FROM ferry.refresh_tokens t JOIN ferry.token_families f ON f.id = t.family_id
     WHERE t.token_hash = $1 FOR UPDATE OF t, f`,
    [hash(token)],
  );
  const row = rows[0];
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.revoked_at) return { ok: false, reason: 'revoked' };
  if (row.rotated_at) {
    await revokeFamily(db, row.family_id, 'refresh token reused', now);
    return { ok: false, reason: 'reused' };
  }
  if (row.expires_at.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
  await db.query('UPDATE ferry.refresh_tokens SET rotated_at = $2 WHERE token_hash = $1', [
    hash(token),
    now,
  ]);
  const next = await issueToken(db, row.family_id, ttlSeconds, now);
  return { ok: true, userId: row.user_id, familyId: row.family_id, token: next };
}

export async function revokeFamily(
  db: Queryable,
  familyId: string,
  reason: string,
  now: Date,
): Promise<void> {
  await db.query(
    'UPDATE ferry.token_families SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL',
    [familyId, now, reason],
  );
  // Every node's credential cache forgets its answers once this commits.
  await notifyCredentialsChanged(db, 'family');
}

/** The family a refresh token belongs to, if it belongs to this user. */
export async function familyOf(
  db: Queryable,
  token: string,
  userId: number,
): Promise<string | undefined> {
  const { rows } = await db.query<{ family_id: string }>(
    `SELECT t.family_id FROM ferry.refresh_tokens t JOIN ferry.token_families f ON f.id = t.family_id
     WHERE t.token_hash = $1 AND f.user_id = $2`,
    [hash(token), userId],
  );
  return rows[0]?.family_id;
}

/** True while the family is not revoked and its user is active: checked on every access token. */
export async function familyIsLive(
  db: Queryable,
  familyId: string,
  userId: number,
): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM ferry.token_families f JOIN ferry.users u ON u.id = f.user_id
     WHERE f.id = $1 AND f.user_id = $2 AND f.revoked_at IS NULL AND u.is_active`,
    [familyId, userId],
  );
  return rows.length > 0;
}
