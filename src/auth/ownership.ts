/**
 * Object ownership and visibility, decided once for every resource (transfers, events, API
 * keys, live topics, pipelines, cluster jobs). An object belongs to the user who created it, or
 * to nobody (`null`) when an admin credential without a user created it. Admins see and act on
 * every object; a user-role principal sees only its own user's objects. A user-role principal
 * without a user cannot exist (migration 0007 revoked such keys, creating one is refused); should
 * one appear anyway, it is refused here rather than treated as the owner of nobody's objects.
 */
import { FerryError } from '../errors/index.ts';
import type { Principal } from './principal.ts';

/** Whose objects a principal may see: every object (admins) or one user's. */
export type Scope =
  | { readonly all: true; readonly userId: number | null }
  | { readonly all: false; readonly userId: number };

/** The one rule: the scope of a principal. Throws for no principal or a user-role one without a user. */
export function scopeOf(principal: Principal | undefined): Scope {
  if (!principal) {
    throw new FerryError('FERRY_ERR_UNAUTHENTICATED', { reason: 'no credentials were sent' });
  }
  if (principal.role === 'admin') return { all: true, userId: principal.userId ?? null };
  if (principal.userId === undefined) throw new FerryError('FERRY_ERR_NO_USER');
  return { all: false, userId: principal.userId };
}

/** The owner recorded on an object the scope creates: its user, or null (nobody's: admins only). */
export function ownerFor(scope: Scope): number | null {
  return scope.userId;
}

/** Whether the scope may see and act on an object owned by `ownerId` (null: nobody's). */
export function mayAccess(scope: Scope, ownerId: number | null): boolean {
  return scope.all || ownerId === scope.userId;
}

/** The owner filter of a list: undefined lists every owner's objects (admins). */
export function listOwner(scope: Scope): number | undefined {
  return scope.all ? undefined : scope.userId;
}

/** Like `scopeOf`, but undefined instead of throwing (for filters that must not raise, e.g. fan-out). */
export function scopeOrNone(principal: Principal | undefined): Scope | undefined {
  if (!principal) return undefined;
  if (principal.role === 'admin') return { all: true, userId: principal.userId ?? null };
  return principal.userId === undefined ? undefined : { all: false, userId: principal.userId };
}
