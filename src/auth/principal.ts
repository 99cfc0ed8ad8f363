/**
 * The auth seam: every route declares who may call it (`access`), a resolver turns request
 * credentials into a principal, and a guard compares the two. Default deny: a route that
 * declares nothing needs `admin`.
 */

/** Roles, in increasing power. */
export type Role = 'user' | 'admin';

/** Who may call a route: anyone, any authenticated principal, or admins only. */
export type Access = 'public' | Role;

/** The caller. `anonymous` exists only with auth.anonymous=loopback and a loopback peer. */
export interface Principal {
  readonly kind: 'api_key' | 'user' | 'anonymous';
  readonly role: Role;
  /** API key id or user id; undefined for anonymous. */
  readonly id: number | undefined;
  readonly userId: number | undefined;
  /** Login family of a JWT principal (logout revokes it). */
  readonly familyId?: string;
  readonly label: string;
}

/**
 * The stable name of a principal (`api_key:3`, `user:5`, `anonymous`): what rate limits and job
 * idempotency keys are counted per. Not an ownership rule: that is `scopeOf` (ownership.ts).
 */
export function principalKey(principal: Principal | undefined): string {
  if (!principal || principal.kind === 'anonymous') return 'anonymous';
  return `${principal.kind}:${principal.id ?? 0}`;
}

/** Outcome of the guard: allowed, or the reason as an error code. */
export type Verdict =
  { ok: true } | { ok: false; code: 'FERRY_ERR_UNAUTHENTICATED' | 'FERRY_ERR_FORBIDDEN' };

const rank: Record<Role, number> = { user: 1, admin: 2 };

/** Decides whether `principal` may use a route declaring `access`. */
export function guard(access: Access, principal: Principal | undefined): Verdict {
  if (access === 'public') return { ok: true };
  if (!principal) return { ok: false, code: 'FERRY_ERR_UNAUTHENTICATED' };
  return rank[principal.role] >= rank[access]
    ? { ok: true }
    : { ok: false, code: 'FERRY_ERR_FORBIDDEN' };
}

/** True for 127.0.0.0/8 and ::1, including IPv4-mapped IPv6 forms. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
