/**
 * The live channel's WebSocket endpoint (`/api/v1/live`, also `/ws`). Finds the credential
 * (Authorization header, `Sec-WebSocket-Protocol: bearer.<token>`, or `?token=` for browsers),
 * resolves it before the upgrade with the same resolver as every HTTP route, and hands the
 * socket to the hub. A failed check still upgrades, then closes with 4001 and the reason, so
 * browser clients (which cannot read an HTTP 401 on a WebSocket) learn why.
 */
import type { WebSocket } from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FerryError } from '../../errors/index.ts';
import { presentedCredential, type PrincipalResolver, type Resolution } from '../auth-hook.ts';
import { closeCodes } from '../../live/protocol.ts';
import { closeReason } from '../../live/connection.ts';
import type { LiveHub } from '../../live/hub.ts';

export interface LiveRouteDeps {
  hub: LiveHub;
  resolvePrincipal: PrincipalResolver;
}

declare module 'fastify' {
  interface FastifyRequest {
    liveAuth: Resolution | undefined;
  }
}

/** The credential a WebSocket client presented, wherever it put it. */
export function liveCredential(request: FastifyRequest): string | undefined {
  const fromHeader = presentedCredential(request);
  if (fromHeader !== undefined) return fromHeader;
  const offered = request.headers['sec-websocket-protocol'];
  if (typeof offered === 'string') {
    for (const protocol of offered.split(',')) {
      const trimmed = protocol.trim();
      if (trimmed.startsWith('bearer.')) return trimmed.slice('bearer.'.length);
    }
  }
  return queryValue(request, 'token');
}

function queryValue(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Credentials in the query (browsers cannot send headers) must not reach the request log. */
export function redactedUrl(url: string): string {
  return url.replace(/([?&](?:token|session_token)=)[^&]*/g, '$1***');
}

function logRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactedUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket.remotePort,
  };
}

function header(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' ? value : null;
}

export function liveRoutes(deps: LiveRouteDeps) {
  return function registerLiveRoutes(app: FastifyInstance): void {
    app.decorateRequest('liveAuth', undefined);
    for (const url of ['/api/v1/live', '/ws']) {
      app.route({
        method: 'GET',
        url,
        // Authentication happens here, so a failure can be a 4001 close instead of an HTTP 401.
        config: { access: 'public' },
        logSerializers: { req: logRequest },
        async preValidation(request) {
          request.liveAuth = await deps.resolvePrincipal(
            liveCredential(request),
            request.socket.remoteAddress,
          );
        },
        wsHandler: live,
        // A plain GET (no `Upgrade: websocket`) gets Ferry's error shape, not an empty 404.
        handler: function upgradeRequired() {
          throw new FerryError('FERRY_ERR_LIVE_UPGRADE_REQUIRED');
        },
      });
    }

    function live(socket: WebSocket, request: FastifyRequest): void {
      const auth = request.liveAuth;
      const principal = auth?.ok ? auth.principal : undefined;
      if (!principal) {
        const reason = auth && !auth.ok ? auth.reason : 'no credentials were sent';
        socket.close(
          closeCodes.unauthenticated,
          closeReason('FERRY_ERR_UNAUTHENTICATED', { reason }),
        );
        return;
      }
      const lastOffset = Number(queryValue(request, 'last_offset'));
      deps.hub.connect(socket, principal, {
        sessionToken: queryValue(request, 'session_token'),
        lastOffset: Number.isSafeInteger(lastOffset) && lastOffset >= 0 ? lastOffset : undefined,
        address: request.ip,
        userAgent: header(request, 'user-agent'),
      });
    }
  };
}
