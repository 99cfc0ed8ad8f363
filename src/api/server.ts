/**
 * Builds the Fastify server: logging with request ids, error shape, auth seam, OpenAPI,
 * metrics, body limits. Capability route modules are passed in; this file holds no domain logic.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { FerryError } from '../errors/index.ts';
import { registerAuth, type CredentialResolver } from './auth-hook.ts';
import { sendError, toFerryError } from './error-handler.ts';
import { refuseNonFiniteNumbers } from './finite-numbers.ts';
import { defaultsAreOptional } from './schemas/openapi.ts';
import type { Metrics } from './metrics.ts';

/** A capability's routes. */
export type RouteModule = (app: FastifyInstance) => void | Promise<void>;

export interface HttpDeps {
  version: string;
  logger: FastifyBaseLogger;
  bodyLimit: number;
  /** Proxies whose X-Forwarded-For sets request.ip (http.trusted_proxies). */
  trustedProxies: readonly string[];
  anonymous: 'off' | 'loopback';
  resolvers: readonly CredentialResolver[];
  metrics: Metrics;
  routes: readonly RouteModule[];
  /** Largest WebSocket frame accepted at all (the live channel answers smaller excess itself). */
  websocketMaxPayload?: number;
}

/** A client offering several subprotocols gets `ferry.v1`; one offering only `bearer.<token>`, that. */
function pickProtocol(offered: Set<string>): string | false {
  if (offered.has('ferry.v1')) return 'ferry.v1';
  const [first] = offered;
  return first ?? false;
}

/** Each request is logged at debug, so a terminal at `info` is not a request log. */
class DebugRequestLogs extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null,
    _request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = { res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else reply.log.debug(fields, 'request completed');
  }
}

const requestIdPattern = /^[\w.:-]{1,128}$/;

export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimit,
    return503OnClosing: false,
    logController: new DebugRequestLogs(),
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    genReqId(request) {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    // Path and query values arrive as strings; 'array' coercion reads them as their schema's type.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array' } },
    trustProxy: deps.trustedProxies.length > 0 ? [...deps.trustedProxies] : false,
    // Fastify answers these itself, before any hook; give them Ferry's error shape.
    frameworkErrors(error, request, reply) {
      void sendError(reply, toFerryError(error, request));
    },
  });
  app.addHook('preHandler', refuseNonFiniteNumbers);

  let closing = false;
  app.addHook('preClose', function markClosing() {
    closing = true;
  });
  app.addHook('onRequest', async function refuseWhileClosing(request, reply) {
    void reply.header('x-request-id', request.id);
    if (closing) throw new FerryError('FERRY_ERR_SHUTTING_DOWN', {}, { retryAfter: 2 });
  });
  app.addHook('onResponse', async function observe(request, reply) {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(function handleError(error, request, reply) {
    const ferryError = toFerryError(error, request);
    if (ferryError.status >= 500) {
      request.log.error(
        { err: ferryError.cause ?? error, code: ferryError.code },
        'request failed',
      );
    }
    return sendError(reply, ferryError);
  });
  app.setNotFoundHandler(function notFound(request, reply) {
    return sendError(
      reply,
      new FerryError('FERRY_ERR_NOT_FOUND', {
        method: request.method,
        url: request.url.split('?')[0],
      }),
    );
  });

  // Docs routes come from a plugin; they are public like /health and /openapi.json.
  app.addHook('onRoute', function publicDocs(route) {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) {
      route.config = { ...route.config, access: 'public' };
    }
  });
  await app.register(swagger, {
    transform: defaultsAreOptional,
    openapi: {
      info: {
        title: 'Ferry',
        version: deps.version,
        description: 'Verified file and event transport.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  registerAuth(app, { anonymous: deps.anonymous, resolvers: deps.resolvers });
  await app.register(websocket, {
    options: { maxPayload: deps.websocketMaxPayload ?? 1048576, handleProtocols: pickProtocol },
  });

  app.get(
    '/openapi.json',
    { config: { access: 'public' }, schema: { hide: true } },
    function openapi() {
      return app.swagger();
    },
  );
  for (const register of deps.routes) await register(app);
  return app;
}
