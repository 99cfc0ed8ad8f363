/** API keys for machines: shown once at creation, stored as sha256, revocable. */
import { createHash, randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db/index.ts';
import { notifyCredentialsChanged } from './credential-cache.ts';
import type { Principal, Role } from './principal.ts';

const keyPrefix = 'fry_';

/** A key as listed (never with its secret). */
export interface ApiKeyInfo {
  id: number;
  name: string;
  prefix: string;
  role: Role;
  created_at: Date;
  last_used_at: Date | null;
}

/** Hash used for lookup; keys carry 256 random bits, so a fast hash is safe here. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** What a new key is: a user-role key always acts as a user; an admin key may have none. */
export type NewApiKey =
  | { name: string; role: 'user'; userId: number }
  | { name: string; role: 'admin'; userId?: number | undefined };

/** Creates a key and returns its secret once, with its stored info. */
export async function createApiKey(
  db: Queryable,
  input: NewApiKey,
): Promise<{ key: string; info: ApiKeyInfo }> {
  const key = keyPrefix + randomBytes(32).toString('base64url');
  const { rows } = await db.query<ApiKeyInfo>(
    `INSERT INTO ferry.api_keys (name, prefix, key_hash, role, user_id) VALUES ($1, $2, $3, $4, $5)
     RETURNING id, name, prefix, role, created_at, last_used_at`,
    [input.name, key.slice(0, 10), hashApiKey(key), input.role, input.userId ?? null],
  );
  const info = rows[0];
  if (!info) throw new Error('api key insert returned no row');
  return { key, info };
}

/** The principal for a presented key, or undefined if unknown or revoked. */
export async function principalForApiKey(
  db: Queryable,
  key: string,
): Promise<Principal | undefined> {
  if (!key.startsWith(keyPrefix)) return undefined;
  const { rows } = await db.query<{
    id: number;
    name: string;
    role: Role;
    user_id: number | null;
    stale: boolean;
  }>(
    `SELECT id, name, role, user_id,
       last_used_at IS NULL OR last_used_at < now() - interval '1 minute' AS stale
     FROM ferry.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
    [hashApiKey(key)],
  );
  const row = rows[0];
  if (!row) return undefined;
  // Recorded at most once a minute: a write per request would serialize a busy key's requests.
  if (row.stale) {
    await db.query('UPDATE ferry.api_keys SET last_used_at = now() WHERE id = $1', [row.id]);
  }
  return {
    kind: 'api_key',
    role: row.role,
    id: row.id,
    userId: row.user_id ?? undefined,
    label: row.name,
  };
}

// Serializes bootstrap across processes sharing one PostgreSQL.
const bootstrapLockKey = 7_265_002;

/**
 * On first start (no admin key and no admin user yet) creates the bootstrap admin key and
 * returns its secret so the caller can print it once. Later starts return undefined.
 */
export async function ensureBootstrapKey(db: Db): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [bootstrapLockKey]);
    const { rows } = await tx.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM ferry.api_keys WHERE role = 'admin' AND revoked_at IS NULL)
            + (SELECT count(*) FROM ferry.users WHERE role = 'admin' AND is_active) AS n`,
    );
    if (Number(rows[0]?.n ?? 0) > 0) return undefined;
    const { key } = await createApiKey(tx, { name: 'bootstrap admin', role: 'admin' });
    return key;
  });
}

/** Keys of one user, or every key when `userId` is undefined (admins). Newest first. */
export async function listApiKeys(
  db: Queryable,
  userId: number | undefined,
): Promise<ApiKeyInfo[]> {
  const { rows } = await db.query<ApiKeyInfo>(
    `SELECT id, name, prefix, role, created_at, last_used_at FROM ferry.api_keys
     WHERE revoked_at IS NULL AND ($1::int IS NULL OR user_id = $1) ORDER BY id DESC`,
    [userId ?? null],
  );
  return rows;
}

/** The owner of a live key: `{userId}` (null for keys with no user), or undefined if unknown. */
export async function apiKeyOwner(
  db: Queryable,
  id: number,
): Promise<{ userId: number | null } | undefined> {
  const { rows } = await db.query<{ user_id: number | null }>(
    'SELECT user_id FROM ferry.api_keys WHERE id = $1 AND revoked_at IS NULL',
    [id],
  );
  const row = rows[0];
  return row ? { userId: row.user_id } : undefined;
}

/** Revokes a key; it stops working at once. */
export async function revokeApiKey(db: Queryable, id: number): Promise<void> {
  await db.query(
    'UPDATE ferry.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL',
    [id],
  );
  // Every node's credential cache forgets its answers (see credential-cache.ts).
  await notifyCredentialsChanged(db, 'api_key');
}
