/**
 * Records account actions for the audit trail from the answers of the account routes, so the
 * auth and API-key routes stay unaware of auditing. Passwords and tokens are never recorded.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../db/index.ts';
import { recordAccountAction } from './audit.ts';

const accountRoutes: Record<string, string> = {
  'POST /api/v1/auth/register': 'register',
  'POST /api/auth/register': 'register',
  'POST /api/v1/auth/login': 'sign-in',
  'POST /api/auth/login': 'sign-in',
  'POST /api/v1/auth/refresh': 'refresh',
  'POST /api/auth/refresh': 'refresh',
  'POST /api/v1/auth/logout': 'sign-out',
  'POST /api/auth/logout': 'sign-out',
  'POST /api/v1/api-keys': 'api-key-create',
  'DELETE /api/v1/api-keys/:id': 'api-key-revoke',
};

function bodyField(request: FastifyRequest, name: string): string | undefined {
  const body = request.body as Record<string, unknown> | null | undefined;
  const value = body && typeof body === 'object' ? body[name] : undefined;
  return typeof value === 'string' ? value.slice(0, 200) : undefined;
}

/**
 * Adds the hook that writes one audit row per account-route answer (success or refusal). The
 * row is written before the answer is sent, so whoever got the answer finds it in the trail.
 */
export function recordAccountActions(app: FastifyInstance, db: Db, log: Logger): void {
  app.addHook('onSend', async function auditAccountAction(request, reply, payload) {
    const action = accountRoutes[`${request.method} ${request.routeOptions.url ?? ''}`];
    if (!action) return payload;
    const principal = request.principal;
    const login = bodyField(request, 'username') ?? bodyField(request, 'email');
    const params = request.params as Record<string, unknown> | undefined;
    const target =
      action === 'api-key-create'
        ? (bodyField(request, 'name') ?? null)
        : action === 'api-key-revoke'
          ? `key ${String(params?.id)}`
          : null;
    await recordAccountAction(db, {
      userId: principal?.userId ?? null,
      actor: login ?? principal?.label ?? 'anonymous',
      action,
      outcome: reply.statusCode < 400 ? 'ok' : 'refused',
      status: reply.statusCode,
      ip: request.ip,
      target,
      ...(login !== undefined && principal?.userId === undefined ? { login } : {}),
    }).catch((error: unknown) => {
      // The action itself happened: a missing audit row is logged, and the answer still goes out.
      log.warn({ err: error, action }, 'audit row not written');
    });
    return payload;
  });
}
