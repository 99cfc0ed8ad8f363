/**
 * Admission control on the HTTP side: @fastify/rate-limit per principal (this node's share of
 * the cluster-wide limit) with draft-spec RateLimit-* headers, and priority shedding by
 * `Ferry-Priority` (job submissions: the job's priority) above the load thresholds.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalKey } from '../auth/index.ts';
import { priorityOf, rateWindow, shed, type Priority } from '../cluster/admission.ts';
import type { Config } from '../config/index.ts';
import { FerryError } from '../errors/index.ts';

export interface AdmissionDeps {
  limits: Config['limits'];
  /** Healthy nodes in the cluster (this node included), refreshed by its heartbeat. */
  healthyNodes: () => number;
  /** The load multiple of the shedding thresholds, given the requests in flight. */
  load: () => number;
  /** Counted in /metrics. */
  rejected: (reason: 'rate_limited' | 'shed', priority: Priority) => void;
}

function priorityOfRequest(request: FastifyRequest): Priority {
  const header = request.headers['ferry-priority'];
  if (typeof header === 'string') return priorityOf(header);
  const body = request.body as { priority?: unknown } | undefined;
  return request.method === 'POST' && request.routeOptions.url === '/api/v1/jobs'
    ? priorityOf(body?.priority)
    : 'normal';
}

/** Registers the limiter and the shedding hook; routes registered afterwards are covered. */
export async function registerAdmission(app: FastifyInstance, deps: AdmissionDeps): Promise<void> {
  const window = rateWindow(deps.limits);
  await app.register(rateLimit, {
    global: true,
    // After authentication, so the key is the principal, not the address.
    hook: 'preHandler',
    timeWindow: window.windowMs,
    max: () => window.share(deps.healthyNodes()),
    keyGenerator: (request) =>
      request.principal ? principalKey(request.principal) : `ip:${request.ip}`,
    enableDraftSpec: true,
    errorResponseBuilder(request, context) {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      deps.rejected('rate_limited', priorityOfRequest(request));
      return new FerryError('FERRY_ERR_RATE_LIMITED', { retryAfter }, { retryAfter });
    },
  });
  app.addHook('preValidation', async function shedByPriority(request) {
    const priority = priorityOfRequest(request);
    if (!shed(priority, deps.load())) return;
    deps.rejected('shed', priority);
    throw new FerryError('FERRY_ERR_OVERLOADED', { priority, retryAfter: 1 }, { retryAfter: 1 });
  });
}
