/**
 * The error-code registry: every error Ferry reports to a client has one stable code here.
 * Clients and tests branch on `code`, never on message text. Retired codes are never reused.
 */

/** One registered error: its HTTP status, a message template and how to fix it. */
export interface ErrorSpec {
  /** HTTP status the API answers with. */
  readonly status: number;
  /**
   * Whether the same request may succeed if sent again later (after Retry-After, or to another
   * node). Every error body carries it, so clients never keep their own list of transient codes.
   */
  readonly retryable: boolean;
  /** Message template; `{name}` placeholders are filled from the error's params. */
  readonly message: string;
  /** What the caller can do about it. */
  readonly fix: string;
}

export const errorCodes = {
  FERRY_ERR_VALIDATION: {
    status: 422,
    retryable: false,
    message: 'Request validation failed: {summary}',
    fix: 'Correct the fields listed in `errors` and send the request again.',
  },
  FERRY_ERR_MALFORMED_JSON: {
    status: 400,
    retryable: false,
    message: 'The request body is not valid JSON: {reason}',
    fix: 'Send a well-formed JSON body with Content-Type: application/json.',
  },
  FERRY_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    message: 'Unsupported Content-Type: {contentType}',
    fix: 'Send the body as application/json.',
  },
  FERRY_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    retryable: false,
    message: 'The request body exceeds this route’s limit of {limit} bytes.',
    fix: 'Send a smaller body or split a batch; most routes follow http.body_limit_bytes, event submits have their own limits (docs/events.md).',
  },
  FERRY_ERR_BAD_REQUEST: {
    status: 400,
    retryable: false,
    message: '{reason}',
    fix: 'Correct the request as the message says.',
  },
  FERRY_ERR_URI_TOO_LONG: {
    status: 414,
    retryable: false,
    message: 'A path parameter is longer than 100 characters.',
    fix: 'Ids and names in URLs are short; check that the URL names the object you meant.',
  },
  FERRY_ERR_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'Route {method} {url} not found',
    fix: 'Check the path against /openapi.json.',
  },
  FERRY_ERR_NO_SUCH_OBJECT: {
    status: 404,
    retryable: false,
    message: 'No such object: {field} {reason}',
    fix: 'Ids are whole numbers from 1 to 2147483647; list the collection to find one.',
  },
  FERRY_ERR_UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    message: 'Authentication required: {reason}',
    fix: 'Send `Authorization: Bearer <api key or token>` (or `X-API-Key`).',
  },
  FERRY_ERR_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: 'This action requires the {role} role.',
    fix: 'Use credentials with the required role.',
  },
  FERRY_ERR_RATE_LIMITED: {
    status: 429,
    retryable: true,
    message: 'Too many requests; retry after {retryAfter} s.',
    fix: 'Wait for the Retry-After header before sending again.',
  },
  FERRY_ERR_STORE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'The store is unreachable; the request may not have been applied. Retry shortly.',
    fix: 'Retry after the Retry-After header; check that the database is running.',
  },
  FERRY_ERR_SHUTTING_DOWN: {
    status: 503,
    retryable: true,
    message: 'Ferry is shutting down; retry on another node or after restart.',
    fix: 'Retry after the Retry-After header.',
  },
  FERRY_ERR_INTERNAL: {
    status: 500,
    retryable: false,
    message: 'Internal error (request {requestId}); the details are in the server log.',
    fix: 'Report the request id to the operator.',
  },
  FERRY_ERR_CONFIG_INVALID: {
    status: 500,
    retryable: false,
    message: 'Invalid configuration: {problems}',
    fix: 'Correct the named keys in ferry.config.yaml, FERRY_* variables or flags.',
  },
  FERRY_ERR_DATA_DIR_LOCKED: {
    status: 500,
    retryable: false,
    message:
      'The data directory {dataDir} is in use by another Ferry process (pid {pid}); lock file {lockFile}.',
    fix: 'Stop the other process, or start this one with another --data-dir. Remove the lock file only if that pid is not Ferry.',
  },
  FERRY_ERR_PORT_IN_USE: {
    status: 500,
    retryable: false,
    message: 'Cannot listen on {address}: the port is already in use.',
    fix: 'Stop whatever holds the port, or start with another --port (or FERRY_HTTP_PORT).',
  },
  FERRY_ERR_LEASE_LOST: {
    status: 409,
    retryable: false,
    message:
      'Lease {lease} is held by {holder} (token {currentToken}); this write carried token {token}.',
    fix: 'The activity moved to another node; stop and let the current holder finish.',
  },
  FERRY_ERR_EMAIL_TAKEN: {
    status: 400,
    retryable: false,
    message: 'Email already registered',
    fix: 'Log in with that email, or register with another one.',
  },
  FERRY_ERR_USERNAME_TAKEN: {
    status: 400,
    retryable: false,
    message: 'Username already taken',
    fix: 'Choose another username.',
  },
  FERRY_ERR_PASSWORD_POLICY: {
    status: 422,
    retryable: false,
    message: 'Password {problem}',
    fix: 'Use 8 to 128 characters with at least one letter and one digit.',
  },
  FERRY_ERR_INVALID_CREDENTIALS: {
    status: 401,
    retryable: false,
    message: 'Incorrect username or password',
    fix: 'Check the login and password.',
  },
  FERRY_ERR_ACCOUNT_INACTIVE: {
    status: 403,
    retryable: false,
    message: 'Inactive user',
    fix: 'Ask an administrator to reactivate the account.',
  },
  FERRY_ERR_REFRESH_INVALID: {
    status: 401,
    retryable: false,
    message: 'Invalid refresh token ({reason})',
    fix: 'Log in again to get a new token pair.',
  },
  FERRY_ERR_NO_USER: {
    status: 403,
    retryable: false,
    message: 'This credential is not tied to a user account.',
    fix: 'Log in as a user (POST /api/auth/login) and use its access token.',
  },
  FERRY_ERR_API_KEY_OWNER_REQUIRED: {
    status: 422,
    retryable: false,
    message: 'A user-role API key must act as a user, and this credential has none.',
    fix: 'Send `user_id` naming the user the key acts as (admins), or create the key signed in as that user.',
  },
  FERRY_ERR_API_KEY_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'API key {id} not found',
    fix: 'List your keys with GET /api/v1/api-keys.',
  },
  FERRY_ERR_EVENT_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'Event not found',
    fix: 'Check the event id; list your events with GET /api/v1/events.',
  },
  FERRY_ERR_EVENT_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: 'Not authorized to access this event',
    fix: 'Events belong to the user who submitted them; use that user’s credentials.',
  },
  FERRY_ERR_JOB_UNKNOWN: {
    status: 400,
    retryable: false,
    message: 'No handler is registered for job name {name}.',
    fix: 'Use one of the registered job names.',
  },
  // Live channel (docs/live.md). These travel in `error` messages, `warning` messages and close
  // reasons; the status is the HTTP equivalent, for clients that map codes to statuses.
  FERRY_ERR_LIVE_UPGRADE_REQUIRED: {
    status: 426,
    retryable: false,
    message: 'This is the live channel: connect with a WebSocket client (Upgrade: websocket).',
    fix: 'Open a WebSocket to this URL; see docs/live.md.',
  },
  FERRY_ERR_LIVE_MALFORMED: {
    status: 400,
    retryable: false,
    message: 'Malformed message: {reason}',
    fix: 'Send one JSON object per text frame: {"type": "…", "payload": {…}, "id": "…"}.',
  },
  FERRY_ERR_LIVE_UNKNOWN_TYPE: {
    status: 400,
    retryable: false,
    message: 'Unknown message type {type}; known: {known}',
    fix: 'Use one of the command types listed in docs/live.md.',
  },
  FERRY_ERR_LIVE_INVALID_PAYLOAD: {
    status: 422,
    retryable: false,
    message: 'Invalid payload for {type}: {reason}',
    fix: 'Correct the payload as the message says; docs/live.md lists each command’s payload.',
  },
  FERRY_ERR_LIVE_MESSAGE_TOO_LARGE: {
    status: 413,
    retryable: false,
    message: 'The message has {size} bytes; the limit is {limit} (live.max_message_bytes).',
    fix: 'Send smaller messages, or raise live.max_message_bytes.',
  },
  FERRY_ERR_LIVE_RATE_LIMITED: {
    status: 429,
    retryable: true,
    message: 'More than {limit} messages in one minute on this connection; this one was dropped.',
    fix: 'Send fewer messages (batch acks), or raise live.messages_per_minute.',
  },
  FERRY_ERR_LIVE_ABUSE: {
    status: 400,
    retryable: false,
    message: '{count} refused messages within a minute',
    fix: 'Fix the client: it keeps sending malformed, oversize or excess messages.',
  },
  FERRY_ERR_LIVE_TOPIC_UNKNOWN: {
    status: 400,
    retryable: false,
    message: 'Unknown topic {topic}',
    fix: 'Use transfer:{id}, watch:{id}, pipeline:{name}, jobs:{id} (or family:* for all), events or system.',
  },
  FERRY_ERR_LIVE_TOPIC_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: 'Not allowed: {reason}',
    fix: 'Use credentials allowed to see the topic (pipeline:* and jobs:* need an admin).',
  },
  FERRY_ERR_LIVE_CONTEXT_TOO_LARGE: {
    status: 413,
    retryable: false,
    message:
      'The session context would be {size} bytes; the limit is {limit} (live.context_limit_bytes).',
    fix: 'Keep less in the context, or raise live.context_limit_bytes.',
  },
  FERRY_ERR_LIVE_REPLAY_TRUNCATED: {
    status: 410,
    retryable: false,
    message:
      '{dropped} of {missed} missed messages were dropped; the newest {replayed} were replayed.',
    fix: 'Resync over REST what the dropped messages were about; raise live.replay_limit to keep more.',
  },
  FERRY_ERR_LIVE_SESSION_EXPIRED: {
    status: 410,
    retryable: false,
    message: 'The session is unknown or expired ({reason}); a new session was started.',
    fix: 'Read the current state over REST, then subscribe again.',
  },
  FERRY_ERR_LIVE_SESSION_FOREIGN: {
    status: 403,
    retryable: false,
    message: 'The session token belongs to other credentials; a new session was started.',
    fix: 'Resume a session with the credentials that created it.',
  },
  FERRY_ERR_LIVE_SLOW_CONSUMER: {
    status: 503,
    retryable: true,
    message: 'More than {limit} bytes waited to be sent; the session is kept for recovery.',
    fix: 'Read messages faster (or ack fewer topics); reconnect with the session token to resume.',
  },
  FERRY_ERR_LIVE_CONNECTION_LIMIT: {
    status: 429,
    retryable: true,
    message: 'This principal already has {limit} live connections on this node.',
    fix: 'Close unused connections, or raise live.connections_per_user.',
  },
  FERRY_ERR_LIVE_IDLE: {
    status: 408,
    retryable: true,
    message: 'Nothing received for {seconds} s (not even a pong).',
    fix: 'Answer pings (WebSocket clients do by default) or send a ping message.',
  },
  FERRY_ERR_LIVE_REPLACED: {
    status: 409,
    retryable: false,
    message: 'The session was resumed by a newer connection.',
    fix: 'Use one connection per session token.',
  },
  // Transfers, watch profiles and volumes.
  FERRY_ERR_PATH_OUTSIDE_VOLUMES: {
    status: 400,
    retryable: false,
    message: '{field} is not inside a configured volume: {reason}',
    fix: 'Use a path under one of the roots listed by GET /volumes (no `..`, no symlink leaving the volume), or add a volume to the `volumes` config.',
  },
  FERRY_ERR_ENDPOINT_UNKNOWN: {
    status: 422,
    retryable: false,
    message: '{field} names endpoint {name}, which is not configured',
    fix: 'Use one of the endpoints listed by GET /endpoints, or add it to `endpoints` in the config.',
  },
  FERRY_ERR_PATH_OUTSIDE_ENDPOINT: {
    status: 400,
    retryable: false,
    message: '{field} is not a path inside its endpoint: {reason}',
    fix: 'Give an absolute path inside the endpoint root (`/incoming/a`), without `..` or encodings.',
  },
  FERRY_ERR_ROOT_CHANGED: {
    status: 409,
    retryable: false,
    message: 'The folder {root} is not the one pinned when this was set up: {reason}',
    fix: 'Put the original folder back (or create a new transfer for the new folder), then resume the watch profile or retry.',
  },
  FERRY_ERR_SOURCE_NOT_FOUND: {
    status: 400,
    retryable: false,
    message: 'Source path does not exist: {path}',
    fix: 'Check the path; it must exist and be readable by the Ferry process when the transfer is created.',
  },
  FERRY_ERR_TRANSFER_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'Transfer with ID {id} not found',
    fix: 'List transfers with GET /api/v1/transfers.',
  },
  FERRY_ERR_TRANSFER_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: 'Not authorized to access transfer {id}',
    fix: 'Transfers belong to the user who created them; use that user’s credentials or an admin’s.',
  },
  FERRY_ERR_TRANSFER_BUSY: {
    status: 400,
    retryable: false,
    message: 'Transfer {id} is {status}; it cannot be deleted now.',
    fix: 'Cancel it first (POST /api/v1/transfers/{id}/cancel) or wait until it finishes.',
  },
  FERRY_ERR_WATCH_STOPPING: {
    status: 409,
    retryable: false,
    message: 'Watch profile {id} is stopping: files in flight are still being delivered.',
    fix: 'It takes no new files now; send the DELETE again once they are recorded (GET /api/v1/transfers/{id}/watch-history).',
  },
  FERRY_ERR_TRANSFER_STATE: {
    status: 400,
    retryable: false,
    message: '{action} is not applicable: {reason}',
    fix: 'Check the transfer’s status with GET /api/v1/transfers/{id}.',
  },
  FERRY_ERR_CHECKSUM_MISMATCH: {
    status: 500,
    retryable: false,
    message:
      'Checksum mismatch for {file}: source {source}, destination {destination} ({algorithm})',
    fix: 'The destination was removed and the copy is retried per policy; repeated mismatches point at failing storage or memory.',
  },
  FERRY_ERR_SOURCE_CHANGED: {
    status: 409,
    retryable: false,
    message: 'The source changed while it was being copied: {path}',
    fix: 'Nothing was written under the final name; the copy is retried. Use a settle time so files are taken only when their writer is done.',
  },
  FERRY_ERR_DESTINATION_EXISTS: {
    status: 409,
    retryable: false,
    message: 'Destination already exists: {path}',
    fix: 'Choose another destination or a conflict policy: skip_if_identical, overwrite or rename.',
  },
  FERRY_ERR_INSUFFICIENT_SPACE: {
    status: 507,
    retryable: false,
    message: 'Not enough free space at {path}: need {needed} bytes, {available} available',
    fix: 'Free space on the destination volume or choose another destination.',
  },
  FERRY_ERR_STORAGE: {
    status: 500,
    retryable: false,
    message: 'Storage operation failed ({reason}) on {path}: {message}',
    fix: 'Check that the path exists, Ferry’s user may read/write it, and the volume is mounted.',
  },
  // Intake pipelines (docs/pipelines.md).
  FERRY_ERR_PIPELINE_BUSY: {
    status: 409,
    retryable: true,
    message: 'Pipeline {pipeline} is already running; runs of one pipeline never overlap.',
    fix: 'Wait for the current run to finish (GET /api/v1/pipelines/{name}/runs), then retry.',
  },
  FERRY_ERR_PIPELINE_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'No pipeline named {pipeline} is configured.',
    fix: 'List the configured pipelines with GET /api/v1/pipelines.',
  },
  FERRY_ERR_PIPELINE_NONE: {
    status: 404,
    retryable: false,
    message: 'No pipeline is configured, so there is no default pipeline to run.',
    fix: 'Add a pipeline under `pipelines` in the config file (docs/pipelines.md) and restart.',
  },
  FERRY_ERR_PIPELINE_RUN_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'Pipeline {pipeline} has no run {id}.',
    fix: 'Use a run_id from a run answer or from GET /api/v1/pipelines/{name}/runs.',
  },
  FERRY_ERR_PIPELINE_FILE_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'Pipeline {pipeline} has no file {id}.',
    fix: 'Use an id from GET /api/v1/pipelines/{name}/files.',
  },
  FERRY_ERR_JOB_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'Job {id} not found.',
    fix: 'Use a job_id from POST /api/v1/jobs or GET /api/v1/jobs.',
  },
  FERRY_ERR_JOB_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: 'Not authorized to access job {id}',
    fix: 'Jobs belong to the user who submitted them; use that user’s credentials or an admin’s.',
  },
  FERRY_ERR_JOB_KIND_UNKNOWN: {
    status: 422,
    retryable: false,
    message: 'Unknown job kind {kind}; known kinds: {known}.',
    fix: 'Use one of the kinds listed (docs/cluster.md).',
  },
  FERRY_ERR_JOB_ZONE_UNREACHABLE: {
    status: 422,
    retryable: false,
    message: 'No healthy node of zone {zone} can reach {paths}.',
    fix: 'Start a node in that zone with a volume containing these paths, name another zone, or override the paths for the zone in zone_specs.',
  },
  FERRY_ERR_JOB_TIMEOUT: {
    status: 504,
    retryable: false,
    message:
      'Job part {zone} was still {state} after its timeout of {timeout_seconds} s and was stopped.',
    fix: 'Raise timeout_seconds on the job, or split the work into smaller jobs.',
  },
  FERRY_ERR_PROTOCOL_UNSUPPORTED: {
    status: 400,
    retryable: false,
    message: 'Protocol {client} is not supported; this server speaks {server}.',
    fix: "Use a client of the server's major protocol version (Ferry-Protocol header).",
  },
  FERRY_ERR_DRAINING: {
    status: 503,
    retryable: true,
    message: 'This node is draining and takes no new jobs; submit to {redirect}.',
    fix: 'Send the request to the node in the Ferry-Redirect header, or retry after Retry-After.',
  },
  FERRY_ERR_OVERLOADED: {
    status: 503,
    retryable: true,
    message:
      'This node is overloaded and sheds {priority}-priority requests; retry after {retryAfter} s.',
    fix: 'Retry after the Retry-After header, on another node, or with a higher Ferry-Priority if the work is urgent.',
  },
} as const satisfies Record<string, ErrorSpec>;

/** A registered error code. */
export type ErrorCode = keyof typeof errorCodes;
