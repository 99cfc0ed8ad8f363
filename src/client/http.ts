/**
 * Calls to the cluster API: one request (auth, protocol negotiation, timeout, Ferry-Redirect at
 * most 3 times), and `call()`, which retries transient failures only (the server's `retryable`
 * flag, unreachable nodes, 408/429/502/503/504) across nodes, with jittered backoff, honouring
 * Retry-After, within the retry budget.
 */
import { retryDelay } from './backoff.ts';
import type { RetryBudget } from './budget.ts';
import { sleep, type Clock } from './clock.ts';
import type { ClientConfig } from './config.ts';
import { errorFromAnswer, FerryClientError, parseRetryAfter } from './errors.ts';
import type { Metrics } from './metrics.ts';
import type { Targets } from './targets.ts';

/** The protocol this client speaks, and the capabilities it can use. */
export const clientProtocol = '1.0';
export const clientCapabilities = [
  'jobs',
  'jobs.idempotency',
  'jobs.wait',
  'jobs.cancel',
  'jobs.zones',
  'live.jobs',
  'live.batch',
  'fencing',
  'redirect',
] as const;

/** Ferry-Redirect hops followed within one attempt. */
export const maxRedirects = 3;

/** The part of `fetch` the client uses (global fetch by default; tests pass a fake). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface Answer<T = unknown> {
  status: number;
  body: T;
  /** The node that answered (after redirects). */
  node: string;
}

export interface Request {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Calls about a job go to its owner first. */
  jobId?: string;
  /** Ferry-Priority (default: the client's). */
  priority?: string;
  /** Overrides the request timeout (long polls). */
  timeoutMs?: number;
  /** Overrides retryMaxAttempts (polls try once: the next poll is the retry). */
  attempts?: number;
  /** Only nodes that negotiated this capability (or have not answered yet) are used. */
  capability?: string;
}

export interface HttpDeps {
  config: Readonly<ClientConfig>;
  targets: Targets;
  clock: Clock;
  fetch: FetchLike;
  random: () => number;
  budget: RetryBudget;
  metrics: Metrics;
  /** Aborted when the client stops: sleeps and requests end at once. */
  stopped: AbortSignal;
  /** Pings the nodes that failed (when none is left to try). */
  revive: () => Promise<void>;
}

const major = (version: string) => version.split('.')[0];

export function makeHttp(deps: HttpDeps) {
  const { config, targets, clock, metrics } = deps;

  async function authHeader(): Promise<Record<string, string>> {
    const token =
      typeof config.token === 'function' ? await config.token() : (config.token ?? config.apiKey);
    return token === undefined ? {} : { authorization: `Bearer ${token}` };
  }

  /** One HTTP exchange with one node; network failures and timeouts become FerryClientErrors. */
  async function exchange(node: string, request: Request, body: string | undefined) {
    const controller = new AbortController();
    const timeoutMs = request.timeoutMs ?? config.requestTimeoutMs;
    const timer = clock.setTimeout(() => {
      controller.abort();
    }, timeoutMs);
    const onStop = () => {
      controller.abort();
    };
    deps.stopped.addEventListener('abort', onStop, { once: true });
    try {
      const response = await deps.fetch(`${node}${request.path}`, {
        method: request.method,
        headers: {
          accept: 'application/json',
          'ferry-protocol': clientProtocol,
          'ferry-capabilities': clientCapabilities.join(','),
          'ferry-priority': request.priority ?? config.priority,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(await authHeader()),
        },
        ...(body === undefined ? {} : { body }),
        signal: controller.signal,
      });
      const text = await response.text();
      return { response, text };
    } catch (error) {
      if (deps.stopped.aborted) {
        throw new FerryClientError('FERRY_CLIENT_ERR_STOPPED', 'the client was stopped', { node });
      }
      if (controller.signal.aborted) {
        throw new FerryClientError(
          'FERRY_CLIENT_ERR_TIMEOUT',
          `${node} did not answer ${request.method} ${request.path} within ${String(timeoutMs)} ms`,
          { node, cause: error },
        );
      }
      const reason = error instanceof Error ? (error.cause ?? error) : error;
      throw new FerryClientError(
        'FERRY_CLIENT_ERR_NETWORK',
        `${node} could not be reached: ${reason instanceof Error ? reason.message : String(reason)}`,
        { node, cause: error },
      );
    } finally {
      clock.clearTimeout(timer);
      deps.stopped.removeEventListener('abort', onStop);
    }
  }

  /** One attempt on one node: follows Ferry-Redirect at most `maxRedirects` times. */
  async function attempt(first: string, request: Request, body: string | undefined) {
    let node = first;
    for (let hop = 0; ; hop++) {
      const { response, text } = await exchange(node, request, body);
      let parsed: unknown = undefined;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        if (response.status < 300) {
          throw new FerryClientError(
            'FERRY_CLIENT_ERR_BAD_RESPONSE',
            `${node} answered ${String(response.status)} with a body that is not JSON`,
            { node, status: response.status },
          );
        }
      }
      const protocol = response.headers.get('ferry-protocol') ?? undefined;
      const code = (parsed as { code?: unknown } | undefined)?.code;
      if (
        (protocol !== undefined && major(protocol) !== major(clientProtocol)) ||
        code === 'FERRY_ERR_PROTOCOL_UNSUPPORTED'
      ) {
        // A refusal names both versions (what the node speaks, what it was offered).
        const refusal = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
          server_protocol?: unknown;
          client_protocol?: unknown;
        };
        const theirs =
          typeof refusal.server_protocol === 'string' ? refusal.server_protocol : protocol;
        const ours =
          typeof refusal.client_protocol === 'string' ? refusal.client_protocol : clientProtocol;
        const why = `${node} speaks Ferry protocol ${theirs ?? 'unknown'}; this client speaks ${ours} (another major): the node is not used`;
        targets.markIncompatible(node, protocol, why);
        throw new FerryClientError('FERRY_CLIENT_ERR_PROTOCOL_MISMATCH', why, {
          node,
          status: response.status,
        });
      }
      targets.negotiated(node, protocol, response.headers.get('ferry-capabilities') ?? undefined);
      const redirect = response.headers.get('ferry-redirect');
      if (response.status >= 300 && redirect && hop < maxRedirects) {
        const next = safeOrigin(redirect);
        if (next !== undefined && next !== node) {
          metrics.redirects += 1;
          targets.add(next);
          node = next;
          continue;
        }
      }
      if (response.status >= 200 && response.status < 300) {
        return { status: response.status, body: parsed, node };
      }
      throw errorFromAnswer(
        response.status,
        parsed,
        node,
        parseRetryAfter(response.headers.get('retry-after'), clock.now()),
      );
    }
  }

  /** Sends `request`, retrying transient failures across nodes within the budget. */
  async function call<T>(request: Request): Promise<Answer<T>> {
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const tried = new Set<string>();
    let previousDelay = 0;
    let previousNode: string | undefined;
    for (let attemptNo = 0; ; attemptNo++) {
      let node = targets.pick(request.jobId, tried, request.capability);
      if (!node && tried.size > 0) {
        tried.clear();
        node = targets.pick(request.jobId, tried, request.capability);
      }
      if (!node && targets.down().length > 0) {
        await deps.revive();
        node = targets.pick(request.jobId, tried, request.capability);
      }
      let failure: FerryClientError;
      const all = targets.all();
      if (!node && all.length > 0 && all.every((n) => n.incompatible)) {
        // Every node speaks another major: say so, with both versions, rather than "no node".
        metrics.failures += 1;
        throw new FerryClientError(
          'FERRY_CLIENT_ERR_PROTOCOL_MISMATCH',
          all.map((n) => n.mismatch ?? n.url).join('; '),
        );
      }
      if (!node) {
        failure = new FerryClientError(
          'FERRY_CLIENT_ERR_NO_HEALTHY_NODE',
          `no usable node among ${targets
            .all()
            .map((n) => n.url)
            .join(
              ', ',
            )} (each failed, speaks another protocol major${request.capability ? ` or lacks ${request.capability}` : ''})`,
        );
      } else {
        if (previousNode !== undefined && previousNode !== node.url) metrics.reroutes += 1;
        previousNode = node.url;
        try {
          const answer = await attempt(node.url, request, body);
          deps.budget.onSuccess();
          return answer as Answer<T>;
        } catch (error) {
          failure =
            error instanceof FerryClientError
              ? error
              : new FerryClientError('FERRY_CLIENT_ERR_NETWORK', String(error), { cause: error });
        }
        tried.add(node.url);
        // A node of another major is never used again; the call goes on to one that fits.
        if (
          failure.code === 'FERRY_CLIENT_ERR_PROTOCOL_MISMATCH' &&
          targets.pick(request.jobId, tried, request.capability)
        )
          continue;
        if (
          failure.code === 'FERRY_CLIENT_ERR_NETWORK' ||
          failure.code === 'FERRY_CLIENT_ERR_TIMEOUT'
        )
          targets.markFailed(failure.node ?? node.url, clock.now());
        if (failure.status === 429) metrics.rateLimited += 1;
        if (failure.status === 503) metrics.shed += 1;
      }
      if (!failure.retryable || attemptNo + 1 >= (request.attempts ?? config.retryMaxAttempts)) {
        metrics.failures += 1;
        throw failure;
      }
      if (
        !deps.budget.tryAcquire(failure.code === 'FERRY_CLIENT_ERR_TIMEOUT' ? 'timeout' : 'retry')
      ) {
        metrics.budgetExhausted += 1;
        metrics.failures += 1;
        throw new FerryClientError(
          'FERRY_CLIENT_ERR_BUDGET_EXHAUSTED',
          `retry budget exhausted (most recent calls failed); last error: ${failure.code}: ${failure.message}`,
          {
            ...(failure.status === undefined ? {} : { status: failure.status }),
            ...(failure.node === undefined ? {} : { node: failure.node }),
            cause: failure,
          },
        );
      }
      const backoff = retryDelay(
        config.retryStrategy,
        attemptNo,
        previousDelay,
        { baseMs: config.retryBaseMs, capMs: config.retryCapMs },
        deps.random,
      );
      const delay = Math.max(failure.retryAfterMs ?? 0, backoff);
      previousDelay = backoff;
      metrics.retries += 1;
      try {
        await sleep(clock, delay, deps.stopped);
      } catch {
        throw new FerryClientError('FERRY_CLIENT_ERR_STOPPED', 'the client was stopped');
      }
    }
  }

  /** One request to one node, no retry (pings). */
  async function direct<T>(node: string, request: Request): Promise<Answer<T>> {
    return (await attempt(node, request, undefined)) as Answer<T>;
  }

  return { call, direct };
}

function safeOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

export type Http = ReturnType<typeof makeHttp>;
