/**
 * Resolves the caller and enforces each route's declared access before its handler runs.
 * Resolvers are tried in order (API keys now; the accounts capability adds JWT).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { guard, isLoopback, type Access, type Principal } from '../auth/index.ts';
import { FerryError } from '../errors/index.ts';

/** Turns a presented credential into a principal, or undefined if this resolver does not know it. */
export type CredentialResolver = (credential: string) => Promise<Principal | undefined>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; routes that say nothing are admin-only (default deny). */
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

const anonymousAdmin: Principal = {
  kind: 'anonymous',
  role: 'admin',
  id: undefined,
  userId: undefined,
  label: 'anonymous (loopback)',
};

/** Reads `Authorization: Bearer …` or `X-API-Key`. */
export function presentedCredential(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth) {
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    return match?.[1] ?? '';
  }
  const key = request.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

/** The outcome of resolving a request's credentials. */
export type Resolution =
  | { ok: true; principal: Principal | undefined }
  | { ok: false; reason: 'the credential is unknown, expired or revoked' };

/**
 * Turns a presented credential (or none) into a principal: the resolvers in order, then the
 * anonymous loopback admin when enabled and no credential was sent. A credential that is sent
 * but unknown is refused even on loopback. Shared by the HTTP hook and the live channel's
 * WebSocket handshake, which finds its credential in more places.
 */
export function makePrincipalResolver(options: {
  anonymous: 'off' | 'loopback';
  resolvers: readonly CredentialResolver[];
}) {
  return async function resolvePrincipal(
    credential: string | undefined,
    peer: string | undefined,
  ): Promise<Resolution> {
    if (credential !== undefined) {
      for (const resolve of options.resolvers) {
        const principal = await resolve(credential);
        if (principal) return { ok: true, principal };
      }
      return { ok: false, reason: 'the credential is unknown, expired or revoked' };
    }
    if (options.anonymous === 'loopback' && isLoopback(peer)) {
      return { ok: true, principal: anonymousAdmin };
    }
    return { ok: true, principal: undefined };
  };
}

/** Resolves a request's credentials, as `makePrincipalResolver` does. */
export type PrincipalResolver = ReturnType<typeof makePrincipalResolver>;

export function registerAuth(
  app: FastifyInstance,
  options: { anonymous: 'off' | 'loopback'; resolvers: readonly CredentialResolver[] },
): void {
  const resolvePrincipal = makePrincipalResolver(options);
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async function authorize(request) {
    // An unknown route answers 404 to everyone: there is nothing behind it to protect.
    const access: Access = request.is404
      ? 'public'
      : (request.routeOptions.config.access ?? 'admin');
    if (access === 'public') return;
    const resolution = await resolvePrincipal(
      presentedCredential(request),
      request.socket.remoteAddress,
    );
    if (!resolution.ok) {
      throw new FerryError('FERRY_ERR_UNAUTHENTICATED', { reason: resolution.reason });
    }
    request.principal = resolution.principal;
    const verdict = guard(access, request.principal);
    if (!verdict.ok) {
      throw verdict.code === 'FERRY_ERR_FORBIDDEN'
        ? new FerryError('FERRY_ERR_FORBIDDEN', { role: access })
        : new FerryError('FERRY_ERR_UNAUTHENTICATED', { reason: 'no credentials were sent' });
    }
  });
}
