/**
 * The one configuration schema. Every key has a default here (in `defaults`), an env form
 * (`auth.anonymous` ↔ `FERRY_AUTH_ANONYMOUS`) derived from its path, and a one-line description
 * that `docs/configuration.md` mirrors.
 */
import Type, { type Static } from 'typebox';
import { EndpointSchema } from './endpoint-schema.ts';
import { PipelineSchema } from './pipeline-schema.ts';

const Volume = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      description: 'Allowed root folder (a relative path resolves against the working directory).',
    }),
    alias: Type.Optional(Type.String({ description: 'Short name shown to users.' })),
    description: Type.Optional(Type.String({ description: 'Free text shown in GET /volumes.' })),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    data_dir: Type.String({
      minLength: 1,
      description: 'Folder for the embedded store and its lock file.',
    }),
    database_url: Type.String({
      description:
        'PostgreSQL URL (postgres://…). Empty = embedded PGlite in data_dir. Also read from DATABASE_URL.',
      secret: true,
    }),
    role: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], {
      description: 'all = API and workers; api = HTTP only; worker = job handlers only.',
    }),
    http: Type.Object(
      {
        host: Type.String({ minLength: 1, description: 'Interface the API listens on.' }),
        port: Type.Integer({
          minimum: 0,
          maximum: 65535,
          description: 'TCP port (0 = any free port).',
        }),
        body_limit_bytes: Type.Integer({
          minimum: 1024,
          maximum: 1073741824,
          description: 'Largest accepted request body; larger → 413.',
        }),
        shutdown_timeout_ms: Type.Integer({
          minimum: 0,
          maximum: 600000,
          description: 'How long in-flight requests may take to finish on shutdown.',
        }),
        trusted_proxies: Type.Array(Type.String({ minLength: 1 }), {
          description:
            'Proxy addresses/CIDRs whose X-Forwarded-For is believed. Env: comma-separated.',
        }),
      },
      { additionalProperties: false },
    ),
    auth: Type.Object(
      {
        anonymous: Type.Union([Type.Literal('off'), Type.Literal('loopback')], {
          description:
            'loopback = requests from 127.0.0.0/8 or ::1 without credentials act as admin.',
        }),
        jwt_secret: Type.String({
          description:
            'HS256 signing secret for access tokens. Empty = generated once and kept in the store.',
          secret: true,
        }),
        access_token_ttl_seconds: Type.Integer({
          minimum: 60,
          maximum: 86400,
          description: 'Lifetime of an access token.',
        }),
        refresh_token_ttl_seconds: Type.Integer({
          minimum: 300,
          maximum: 31536000,
          description: 'Lifetime of a refresh token (each refresh rotates it).',
        }),
        login_attempts_per_account: Type.Integer({
          minimum: 1,
          maximum: 10000,
          description: 'Failed logins allowed per account in login_window_seconds before 429.',
        }),
        login_attempts_per_ip: Type.Integer({
          minimum: 1,
          maximum: 100000,
          description:
            'Failed logins allowed per client address in login_window_seconds before 429.',
        }),
        login_window_seconds: Type.Integer({
          minimum: 1,
          maximum: 86400,
          description: 'Window for the login attempt limits (in memory, per node).',
        }),
        credential_cache_ms: Type.Integer({
          minimum: 0,
          maximum: 1000,
          description:
            'How long a node reuses a checked token or API key without a query (0 = never). Revocations reach every node at once through the store; this bounds the rest.',
        }),
      },
      { additionalProperties: false },
    ),
    store: Type.Object(
      {
        pool_max: Type.Integer({ minimum: 1, maximum: 200, description: 'PostgreSQL pool size.' }),
        idle_transaction_timeout_seconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          description:
            'PostgreSQL ends a session of this node that sits idle inside a transaction this long (a frozen or cut-off process), so the locks it holds cannot stop a lease from moving to another node.',
        }),
        checkpoint_interval_seconds: Type.Integer({
          minimum: 5,
          maximum: 86400,
          description: 'Embedded store: how often to CHECKPOINT (PGlite runs with fsync off).',
        }),
      },
      { additionalProperties: false },
    ),
    jobs: Type.Object(
      {
        retry_limit: Type.Integer({
          minimum: 0,
          maximum: 100,
          description: 'Retries before a job fails.',
        }),
        retry_delay_seconds: Type.Integer({
          minimum: 0,
          maximum: 3600,
          description: 'First retry delay.',
        }),
        retry_backoff: Type.Boolean({
          description: 'Double the delay on each retry (with jitter).',
        }),
        expire_seconds: Type.Integer({
          minimum: 1,
          maximum: 86400,
          description: 'A job running longer than this is failed and retried.',
        }),
        heartbeat_seconds: Type.Integer({
          minimum: 10,
          maximum: 3600,
          description:
            'A running job whose worker stops heartbeating this long is retried (crashed node).',
        }),
        poll_interval_seconds: Type.Number({
          minimum: 0.5,
          maximum: 600,
          description:
            'Backstop poll for retries and delayed jobs (new jobs wake workers at once).',
        }),
        batch_size: Type.Integer({
          minimum: 1,
          maximum: 1000,
          description: 'Jobs fetched per poll.',
        }),
        shutdown_timeout_ms: Type.Integer({
          minimum: 0,
          maximum: 600000,
          description: 'On stop, how long in-flight jobs may run before they are released.',
        }),
      },
      { additionalProperties: false },
    ),
    transfers: Type.Object(
      {
        checksum_algorithm: Type.Union(
          [
            Type.Literal('xxh128'),
            Type.Literal('xxh3'),
            Type.Literal('xxh64'),
            Type.Literal('sha256'),
            Type.Literal('sha1'),
            Type.Literal('md5'),
            Type.Literal('blake3'),
          ],
          { description: 'Default checksum for transfers that do not choose one.' },
        ),
        poll_interval_seconds: Type.Number({
          minimum: 0.2,
          maximum: 3600,
          description: 'Default scan interval of watch profiles (the polling backstop).',
        }),
        attempts: Type.Integer({
          minimum: 1,
          maximum: 20,
          description: 'Attempts per file for checksum mismatches and I/O errors before it fails.',
        }),
        retry_delay_ms: Type.Integer({
          minimum: 0,
          maximum: 600000,
          description: 'Delay before a file’s second attempt; doubles on each further one.',
        }),
        failure_limit: Type.Integer({
          minimum: 1,
          maximum: 1000,
          description: 'Consecutive failed scans or files before a watch profile goes to `error`.',
        }),
        concurrency: Type.Integer({
          minimum: 1,
          maximum: 64,
          description:
            'Files a watch profile or a one-off folder transfer delivers at once; a batch of files of at most 1 MiB between local folders runs four times as many (at most 64).',
        }),
        watch_lease_seconds: Type.Integer({
          minimum: 2,
          maximum: 3600,
          description:
            'Lease on a watch profile; another node takes over this long after its owner dies.',
        }),
        delete_wait_seconds: Type.Integer({
          minimum: 0,
          maximum: 3600,
          description:
            'How long deleting a watch profile waits for its files in flight; then 409, retry later.',
        }),
        fs_events: Type.Boolean({
          description: 'Use filesystem events besides polling (never on network mounts).',
        }),
        max_bytes_per_second: Type.Integer({
          minimum: 0,
          maximum: 1099511627776,
          description:
            'Node-wide cap on bytes written to destinations and read from endpoints (0 = none).',
        }),
      },
      { additionalProperties: false },
    ),
    live: Type.Object(
      {
        memory_window_seconds: Type.Integer({
          minimum: 0,
          maximum: 3600,
          description:
            'A session back within this many seconds is restored from memory (recovered: full).',
        }),
        session_ttl_seconds: Type.Integer({
          minimum: 10,
          maximum: 604800,
          description:
            'A session away longer than this expires (session_expired); until then it is restored from the store.',
        }),
        replay_limit: Type.Integer({
          minimum: 1,
          maximum: 100000,
          description:
            'Most missed messages replayed on a resume (the newest; older ones are reported dropped).',
        }),
        history_limit: Type.Integer({
          minimum: 10,
          maximum: 100000,
          description: 'Conversation history entries kept per session (oldest dropped first).',
        }),
        max_message_bytes: Type.Integer({
          minimum: 256,
          maximum: 16777216,
          description: 'Largest message a client may send; larger ones are answered with an error.',
        }),
        messages_per_minute: Type.Integer({
          minimum: 1,
          maximum: 1000000,
          description: 'Messages one connection may send per minute; excess ones are refused.',
        }),
        abuse_limit: Type.Integer({
          minimum: 1,
          maximum: 10000,
          description:
            'Refused messages (malformed, oversize, excess) per minute before the connection is closed (1008).',
        }),
        connections_per_user: Type.Integer({
          minimum: 1,
          maximum: 1000000,
          description: 'Live connections one user or API key may hold on one node.',
        }),
        send_buffer_bytes: Type.Integer({
          minimum: 1024,
          maximum: 1073741824,
          description:
            'Unsent bytes allowed per connection; a slower client is disconnected (4008), its session kept.',
        }),
        heartbeat_seconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          description: 'Interval of the server’s WebSocket pings.',
        }),
        idle_timeout_seconds: Type.Integer({
          minimum: 2,
          maximum: 86400,
          description: 'A connection silent this long (not even a pong) is closed (4002).',
        }),
        context_limit_bytes: Type.Integer({
          minimum: 1024,
          maximum: 16777216,
          description: 'Largest session context (variables, preferences, workflow state) as JSON.',
        }),
      },
      { additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          [
            Type.Literal('fatal'),
            Type.Literal('error'),
            Type.Literal('warn'),
            Type.Literal('info'),
            Type.Literal('debug'),
            Type.Literal('trace'),
            Type.Literal('silent'),
          ],
          { description: 'pino log level.' },
        ),
        format: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], {
          description:
            'Log lines: `pretty` for people, `json` for machines, `auto` = pretty when stdout is a terminal.',
        }),
      },
      { additionalProperties: false },
    ),
    cluster: Type.Object(
      {
        advertise_url: Type.String({
          description:
            'URL other nodes and clients reach this node at. Empty = http://{http.host}:{actual port}.',
        }),
        zone: Type.String({
          minLength: 1,
          maxLength: 64,
          pattern: '^[a-z0-9][a-z0-9_.-]*$',
          description: 'The site or datacenter this node is in; job parts run in their own zone.',
        }),
        heartbeat_seconds: Type.Number({
          minimum: 0.2,
          maximum: 600,
          description:
            'Node heartbeat interval. Suspect after 2, down after 3 missed; job-part leases last 3.',
        }),
        orphan_grace_seconds: Type.Number({
          minimum: 0,
          maximum: 86400,
          description: 'A job part whose zone has no healthy node this long becomes `orphaned`.',
        }),
        stats_window_ms: Type.Integer({
          minimum: 100,
          maximum: 600000,
          description: 'Window of the job stats pushes (at most one per window per job).',
        }),
      },
      { additionalProperties: false },
    ),
    limits: Type.Object(
      {
        requests_per_second: Type.Number({
          minimum: 0.01,
          maximum: 1000000,
          description: 'Average requests per second one principal may send to the whole cluster.',
        }),
        burst: Type.Integer({
          minimum: 1,
          maximum: 10000000,
          description:
            'Requests a principal may send in one window of burst / requests_per_second seconds.',
        }),
        shed_in_flight: Type.Integer({
          minimum: 1,
          maximum: 1000000,
          description: 'In-flight requests at which a node sheds `low` (1.5× normal, 2× high).',
        }),
        shed_event_loop_delay_ms: Type.Number({
          minimum: 1,
          maximum: 60000,
          description: 'Event-loop delay (p99) at which a node sheds `low` (1.5× normal, 2× high).',
        }),
      },
      { additionalProperties: false },
    ),
    volumes: Type.Array(Volume, {
      description: 'Allowed root folders for paths in requests. Env: comma-separated paths.',
    }),
    endpoints: Type.Array(EndpointSchema, {
      description:
        'Remote servers (SFTP, SMB) transfers may name (docs/storage.md). Config file only.',
      fileOnly: true,
    }),
    pipelines: Type.Array(PipelineSchema, {
      description: 'Intake pipelines (docs/pipelines.md). Config file only.',
      fileOnly: true,
    }),
  },
  { additionalProperties: false },
);

/** The validated, frozen configuration. */
export type Config = Static<typeof ConfigSchema>;

/** Every default, in one place. */
export const defaults: Config = {
  data_dir: './.ferry',
  database_url: '',
  role: 'all',
  http: {
    host: '127.0.0.1',
    port: 8000,
    body_limit_bytes: 1048576,
    shutdown_timeout_ms: 10000,
    trusted_proxies: [],
  },
  auth: {
    anonymous: 'off',
    jwt_secret: '',
    access_token_ttl_seconds: 900,
    refresh_token_ttl_seconds: 604800,
    login_attempts_per_account: 5,
    login_attempts_per_ip: 30,
    login_window_seconds: 900,
    credential_cache_ms: 1000,
  },
  store: { pool_max: 10, idle_transaction_timeout_seconds: 15, checkpoint_interval_seconds: 60 },
  jobs: {
    retry_limit: 3,
    retry_delay_seconds: 2,
    retry_backoff: true,
    expire_seconds: 900,
    heartbeat_seconds: 30,
    poll_interval_seconds: 2,
    batch_size: 100,
    shutdown_timeout_ms: 10000,
  },
  transfers: {
    checksum_algorithm: 'xxh128',
    poll_interval_seconds: 2,
    attempts: 3,
    retry_delay_ms: 1000,
    failure_limit: 5,
    concurrency: 4,
    watch_lease_seconds: 15,
    delete_wait_seconds: 10,
    fs_events: true,
    max_bytes_per_second: 0,
  },
  live: {
    memory_window_seconds: 30,
    session_ttl_seconds: 300,
    replay_limit: 500,
    history_limit: 2000,
    max_message_bytes: 32768,
    messages_per_minute: 1200,
    abuse_limit: 10,
    connections_per_user: 20,
    send_buffer_bytes: 1048576,
    heartbeat_seconds: 25,
    idle_timeout_seconds: 60,
    context_limit_bytes: 262144,
  },
  log: { level: 'info', format: 'auto' },
  cluster: {
    advertise_url: '',
    zone: 'default',
    heartbeat_seconds: 5,
    orphan_grace_seconds: 120,
    stats_window_ms: 1000,
  },
  limits: {
    requests_per_second: 10000,
    burst: 20000,
    shed_in_flight: 2000,
    shed_event_loop_delay_ms: 2000,
  },
  volumes: [],
  endpoints: [],
  pipelines: [],
};
