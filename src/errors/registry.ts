/**
 * The error-code registry: every error Ferry reports to a client has one stable code here.
 * Clients and tests branch on `code`, never on message text. Retired codes are never reused.
 */

/** One registered error: its HTTP status, a message template and how to fix it. */
export interface ErrorSpec {
  /** HTTP status the API answers with. */
  readonly status: number;
  /** Message template; `{name}` placeholders are filled from the error's params. */
  readonly message: string;
  /** What the caller can do about it. */
  readonly fix: string;
}

export const errorCodes = {
  FERRY_ERR_VALIDATION: {
    status: 422,
    message: 'Request validation failed: {summary}',
    fix: 'Correct the fields listed in `errors` and send the request again.',
  },
  FERRY_ERR_MALFORMED_JSON: {
    status: 400,
    message: 'The request body is not valid JSON: {reason}',
    fix: 'Send a well-formed JSON body with Content-Type: application/json.',
  },
  FERRY_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Unsupported Content-Type: {contentType}',
    fix: 'Send the body as application/json.',
  },
  FERRY_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The request body exceeds this route’s limit of {limit} bytes.',
    fix: 'Send a smaller body or split a batch; most routes follow http.body_limit_bytes, event submits have their own limits (docs/events.md).',
  },
  FERRY_ERR_BAD_REQUEST: {
    status: 400,
    message: '{reason}',
    fix: 'Correct the request as the message says.',
  },
  FERRY_ERR_NOT_FOUND: {
    status: 404,
    message: 'Route {method} {url} not found',
    fix: 'Check the path against /openapi.json.',
  },
  FERRY_ERR_UNAUTHENTICATED: {
    status: 401,
    message: 'Authentication required: {reason}',
    fix: 'Send `Authorization: Bearer <api key or token>` (or `X-API-Key`).',
  },
  FERRY_ERR_FORBIDDEN: {
    status: 403,
    message: 'This action requires the {role} role.',
    fix: 'Use credentials with the required role.',
  },
  FERRY_ERR_RATE_LIMITED: {
    status: 429,
    message: 'Too many requests; retry after {retryAfter} s.',
    fix: 'Wait for the Retry-After header before sending again.',
  },
  FERRY_ERR_STORE_UNAVAILABLE: {
    status: 503,
    message: 'The store is unreachable; the request may not have been applied. Retry shortly.',
    fix: 'Retry after the Retry-After header; check that the database is running.',
  },
  FERRY_ERR_SHUTTING_DOWN: {
    status: 503,
    message: 'Ferry is shutting down; retry on another node or after restart.',
    fix: 'Retry after the Retry-After header.',
  },
  FERRY_ERR_INTERNAL: {
    status: 500,
    message: 'Internal error (request {requestId}); the details are in the server log.',
    fix: 'Report the request id to the operator.',
  },
  FERRY_ERR_CONFIG_INVALID: {
    status: 500,
    message: 'Invalid configuration: {problems}',
    fix: 'Correct the named keys in ferry.config.yaml, FERRY_* variables or flags.',
  },
  FERRY_ERR_DATA_DIR_LOCKED: {
    status: 500,
    message:
      'The data directory {dataDir} is in use by another Ferry process (pid {pid}); lock file {lockFile}.',
    fix: 'Stop the other process, or start this one with another --data-dir. Remove the lock file only if that pid is not Ferry.',
  },
  FERRY_ERR_PORT_IN_USE: {
    status: 500,
    message: 'Cannot listen on {address}: the port is already in use.',
    fix: 'Stop whatever holds the port, or start with another --port (or FERRY_HTTP_PORT).',
  },
  FERRY_ERR_LEASE_LOST: {
    status: 409,
    message:
      'Lease {lease} is held by {holder} (token {currentToken}); this write carried token {token}.',
    fix: 'The activity moved to another node; stop and let the current holder finish.',
  },
  FERRY_ERR_EMAIL_TAKEN: {
    status: 400,
    message: 'Email already registered',
    fix: 'Log in with that email, or register with another one.',
  },
  FERRY_ERR_USERNAME_TAKEN: {
    status: 400,
    message: 'Username already taken',
    fix: 'Choose another username.',
  },
  FERRY_ERR_PASSWORD_POLICY: {
    status: 422,
    message: 'Password {problem}',
    fix: 'Use 8 to 128 characters with at least one letter and one digit.',
  },
  FERRY_ERR_INVALID_CREDENTIALS: {
    status: 401,
    message: 'Incorrect username or password',
    fix: 'Check the login and password.',
  },
  FERRY_ERR_ACCOUNT_INACTIVE: {
    status: 403,
    message: 'Inactive user',
    fix: 'Ask an administrator to reactivate the account.',
  },
  FERRY_ERR_REFRESH_INVALID: {
    status: 401,
    message: 'Invalid refresh token ({reason})',
    fix: 'Log in again to get a new token pair.',
  },
  FERRY_ERR_NO_USER: {
    status: 403,
    message: 'This credential is not tied to a user account.',
    fix: 'Log in as a user (POST /api/auth/login) and use its access token.',
  },
  FERRY_ERR_API_KEY_NOT_FOUND: {
    status: 404,
    message: 'API key {id} not found',
    fix: 'List your keys with GET /api/v1/api-keys.',
  },
  FERRY_ERR_EVENT_NOT_FOUND: {
    status: 404,
    message: 'Event not found',
    fix: 'Check the event id; list your events with GET /api/v1/events.',
  },
  FERRY_ERR_EVENT_FORBIDDEN: {
    status: 403,
    message: 'Not authorized to access this event',
    fix: 'Events belong to the user who submitted them; use that user’s credentials.',
  },
  FERRY_ERR_JOB_UNKNOWN: {
    status: 400,
    message: 'No handler is registered for job name {name}.',
    fix: 'Use one of the registered job names.',
  },
} as const satisfies Record<string, ErrorSpec>;

/** A registered error code. */
export type ErrorCode = keyof typeof errorCodes;
