/**
 * The SDK's errors. A refusal from Ferry keeps the server's `code`, `detail` and `retryable`
 * (the server's error registry decides what is transient, docs/errors.md); failures that never
 * reached Ferry, or that the client refuses itself, have `FERRY_CLIENT_ERR_*` codes listed here.
 */

/** Errors the client raises itself: whether a retry may help, and how to fix it. */
export const clientErrorCodes = {
  FERRY_CLIENT_ERR_CONFIG: {
    retryable: false,
    fix: 'Correct the named option (or its environment variable) as the message says.',
  },
  FERRY_CLIENT_ERR_NO_HEALTHY_NODE: {
    retryable: true,
    fix: 'Check that at least one of the configured nodes runs and is reachable from here.',
  },
  FERRY_CLIENT_ERR_NETWORK: {
    retryable: true,
    fix: 'The node could not be reached (refused, reset, DNS); the client tries the others.',
  },
  FERRY_CLIENT_ERR_TIMEOUT: {
    retryable: true,
    fix: 'The node did not answer within requestTimeoutMs; raise it, or check the node’s load.',
  },
  FERRY_CLIENT_ERR_BAD_RESPONSE: {
    retryable: false,
    fix: 'Something other than Ferry answered (a proxy, another service); check the node URLs.',
  },
  FERRY_CLIENT_ERR_PROTOCOL_MISMATCH: {
    retryable: false,
    fix: 'Use a client of the same major protocol version as the server (or upgrade the node).',
  },
  FERRY_CLIENT_ERR_PAYLOAD_TOO_LARGE: {
    retryable: false,
    fix: 'A job submission may be at most 5 MiB of JSON; split the work into several jobs.',
  },
  FERRY_CLIENT_ERR_BUDGET_EXHAUSTED: {
    retryable: false,
    fix: 'Most recent calls failed, so the client stopped retrying; it retries again once calls succeed.',
  },
  FERRY_CLIENT_ERR_WAIT_TIMEOUT: {
    retryable: false,
    fix: 'The job is still running; wait again, or raise timeoutMs.',
  },
  FERRY_CLIENT_ERR_STOPPED: {
    retryable: false,
    fix: 'The client was stopped; create or start a client again.',
  },
} as const;

export type ClientErrorCode = keyof typeof clientErrorCodes;

/** Any failure of an SDK call: Ferry's refusal or the client's own. */
export class FerryClientError extends Error {
  /** `FERRY_ERR_*` (from the server) or `FERRY_CLIENT_ERR_*` (from the client). */
  readonly code: string;
  /** The HTTP status, when a node answered. */
  readonly status: number | undefined;
  /** Whether sending the same request again (later, or elsewhere) may succeed. */
  readonly retryable: boolean;
  /** The node that answered or failed. */
  readonly node: string | undefined;
  /** The wait a `Retry-After` asked for. */
  readonly retryAfterMs: number | undefined;
  /** The error body as the server sent it. */
  readonly body: Record<string, unknown> | undefined;

  constructor(
    code: string,
    detail: string,
    options: {
      status?: number;
      retryable?: boolean;
      node?: string;
      retryAfterMs?: number;
      body?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'FerryClientError';
    this.code = code;
    this.status = options.status;
    this.retryable =
      options.retryable ??
      (code in clientErrorCodes ? clientErrorCodes[code as ClientErrorCode].retryable : false);
    this.node = options.node;
    this.retryAfterMs = options.retryAfterMs;
    this.body = options.body;
  }

  /** What to do about it: the client table's fix, or the server's detail. */
  get fix(): string | undefined {
    return this.code in clientErrorCodes
      ? clientErrorCodes[this.code as ClientErrorCode].fix
      : undefined;
  }
}

/** Statuses that are transient whatever (or whoever) answered: a proxy's 502/504 has no body. */
const transientStatuses = new Set([408, 429, 502, 503, 504]);

/**
 * The error for a non-2xx answer. Retryable when the status is transient or the server's body
 * says `retryable: true`; a body from Ferry always carries the registry's flag.
 */
export function errorFromAnswer(
  status: number,
  body: unknown,
  node: string,
  retryAfterMs: number | undefined,
): FerryClientError {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof fields.code === 'string' ? fields.code : `HTTP_${String(status)}`;
  const detail =
    typeof fields.detail === 'string' ? fields.detail : `${node} answered HTTP ${String(status)}`;
  const retryable = transientStatuses.has(status) || fields.retryable === true;
  return new FerryClientError(code, detail, {
    status,
    retryable,
    node,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(typeof body === 'object' && body !== null ? { body: fields } : {}),
  });
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
