/**
 * A short cache of resolved credentials, so a busy client's requests do not each cost a query
 * (the family / API key lookup). Staleness is bounded twice:
 * - every entry lives at most `ttlMs` (`auth.credential_cache_ms`), which also covers changes
 *   that send no notification (a user deactivated, a token family expiring);
 * - logout, refresh-token reuse and API key revocation send a NOTIFY on `credentialsChannel` in
 *   the transaction that revokes (see `notifyCredentialsChanged`); every node listening clears
 *   its whole cache when it arrives, and the node that revoked clears its own at once
 *   (`invalidate`), before it answers.
 * Only positive answers are cached: an unknown credential is looked up every time, so a key
 * created on another node works at once.
 */
import type { Db, Queryable, Unlisten } from '../db/index.ts';
import type { Principal } from './principal.ts';

/** The NOTIFY channel that says "some credential was revoked: forget what you cached". */
export const credentialsChannel = 'ferry_credentials';

/** Entries kept at most; past this the cache starts over (bounded memory under a key spray). */
const maxEntries = 10_000;

/**
 * When a JWT says it expires (ms since the epoch); undefined for anything else (API keys).
 * Read only after the resolver verified the token, so the claim is trusted.
 */
function expiryOf(credential: string): number | undefined {
  const payload = credential.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp: unknown = (
      JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp?: unknown }
    ).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Sends the invalidation NOTIFY; delivered when `q`'s transaction (if any) commits. */
export async function notifyCredentialsChanged(q: Queryable, why: string): Promise<void> {
  await q.query('SELECT pg_notify($1, $2)', [credentialsChannel, why]);
}

/** A credential cache for one node. */
export interface CredentialCache {
  /** Wraps a resolver: cached answers first, the resolver on a miss. */
  wrap(
    resolve: (credential: string) => Promise<Principal | undefined>,
  ): (credential: string) => Promise<Principal | undefined>;
  /** Forgets everything (this node revoked something). */
  invalidate(): void;
  /** Listens for other nodes' revocations. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Makes a cache whose entries live `ttlMs` (0 disables caching). */
export function makeCredentialCache(deps: {
  db: Db;
  ttlMs: number;
  now?: () => number;
  /** Told after every invalidation (tests synchronize on it). */
  invalidated?: (why: string) => void;
}): CredentialCache {
  const now = deps.now ?? Date.now;
  let entries = new Map<string, { principal: Principal; until: number }>();
  // Bumped on every invalidation: a lookup that started before it must not store its answer.
  let generation = 0;
  let unlisten: Unlisten | undefined;

  function invalidate(why = 'local'): void {
    generation++;
    entries = new Map();
    deps.invalidated?.(why);
  }

  return {
    wrap(resolve) {
      if (deps.ttlMs <= 0) return resolve;
      return async (credential) => {
        const hit = entries.get(credential);
        if (hit && hit.until > now()) return hit.principal;
        const started = generation;
        const principal = await resolve(credential);
        if (principal && started === generation) {
          if (entries.size >= maxEntries) entries = new Map();
          // Never past the token's own expiry: an expired token is refused on time.
          const until = Math.min(now() + deps.ttlMs, expiryOf(credential) ?? Infinity);
          entries.set(credential, { principal, until });
        } else if (!principal) {
          entries.delete(credential);
        }
        return principal;
      };
    },
    invalidate: () => {
      invalidate();
    },
    async start() {
      unlisten ??= await deps.db.listen(credentialsChannel, invalidate);
    },
    async stop() {
      const off = unlisten;
      unlisten = undefined;
      await off?.();
      invalidate();
    },
  };
}
