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

export function registerAuth(
  app: FastifyInstance,
  options: { anonymous: 'off' | 'loopback'; resolvers: readonly CredentialResolver[] },
): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async function authorize(request) {
    // An unknown route answers 404 to everyone: there is nothing behind it to protect.
    const access: Access = request.is404
      ? 'public'
      : (request.routeOptions.config.access ?? 'admin');
    if (access === 'public') return;
    const credential = presentedCredential(request);
    if (credential !== undefined) {
      for (const resolve of options.resolvers) {
        request.principal = await resolve(credential);
        if (request.principal) break;
      }
      if (!request.principal) {
        throw new FerryError('FERRY_ERR_UNAUTHENTICATED', {
          reason: 'the credential is unknown, expired or revoked',
        });
      }
    } else if (options.anonymous === 'loopback' && isLoopback(request.socket.remoteAddress)) {
      request.principal = anonymousAdmin;
    }
    const verdict = guard(access, request.principal);
    if (!verdict.ok) {
      throw verdict.code === 'FERRY_ERR_FORBIDDEN'
        ? new FerryError('FERRY_ERR_FORBIDDEN', { role: access })
        : new FerryError('FERRY_ERR_UNAUTHENTICATED', { reason: 'no credentials were sent' });
    }
  });
}
