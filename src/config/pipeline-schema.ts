/**
 * The `pipelines` section: a list of intake pipelines, set in the config file only (deep
 * objects do not fit environment variables). The schema refuses unknown keys at every level;
 * `pipelineProblems` adds the checks a schema cannot express; `withPipelineDefaults` fills every
 * optional key from `pipelineDefaults`, the one place pipeline defaults live.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Type, { type Static, type TSchema } from 'typebox';
import { parseSmbUrl } from '../storage/smb/url.ts';

/**
 * Names writers use while a file is incomplete; watch profiles and pipelines share them. A
 * default, so it lives with the config (intake imports it from here, never the reverse).
 */
export const defaultTempPatterns: readonly string[] = [
  '.*',
  '~$*',
  '*.part',
  '*.partial',
  '*.tmp',
  '*.crdownload',
  '*.download',
];

const secret = (description: string) =>
  Type.String({
    minLength: 1,
    description: `${description} (value, env:NAME or file:PATH)`,
    secret: true,
  });

/** An endpoint URL, written as is or as `env:NAME` (so a deployment can point elsewhere). */
const endpoint = (description: string) =>
  Type.String({ minLength: 1, description: `${description} (a URL or env:NAME)` });

const strings = (description: string) => Type.Record(Type.String(), Type.String(), { description });

const closed = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

const Auth = closed({
  type: Type.Union([Type.Literal('none'), Type.Literal('bearer'), Type.Literal('oauth2')], {
    description: 'none, bearer (static token) or oauth2 (client credentials).',
  }),
  token: Type.Optional(secret('Static bearer token')),
  token_url: Type.Optional(endpoint('OAuth2 token endpoint.')),
  client_id: Type.Optional(Type.String({ description: 'OAuth2 client id.' })),
  client_secret: Type.Optional(secret('OAuth2 client secret')),
  scope: Type.Optional(Type.String({ description: 'OAuth2 scope.' })),
  audience: Type.Optional(Type.String({ description: 'OAuth2 audience.' })),
});

const timeout = Type.Optional(
  Type.Integer({ minimum: 100, maximum: 600000, description: 'Request timeout.' }),
);
const retries = Type.Optional(
  Type.Integer({ minimum: 0, maximum: 20, description: 'Retries after a 5xx or timeout.' }),
);
const retryDelay = Type.Optional(
  Type.Integer({
    minimum: 0,
    maximum: 600000,
    description: 'First retry delay; doubles per retry.',
  }),
);

const Extractor = closed({
  url: endpoint('Extraction URL; {remitter} is replaced.'),
  timeout_ms: timeout,
  form: Type.Optional(strings('Extra multipart form fields.')),
  headers: Type.Optional(strings('Extra request headers.')),
  auth: Type.Optional(Auth),
  password_pattern: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Failure reasons matching this (case-insensitive regex) mean a password problem.',
    }),
  ),
});

const Submitter = closed({
  url: endpoint('Submission URL.'),
  timeout_ms: timeout,
  headers: Type.Optional(strings('Extra request headers.')),
  fields: Type.Optional(
    Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
      description: 'Extra fields added to every instruction.',
    }),
  ),
  auth: Type.Optional(Auth),
  retries,
  retry_delay_ms: retryDelay,
});

const Notifier = closed({
  url: endpoint('Notification URL.'),
  timeout_ms: timeout,
  headers: Type.Optional(strings('Extra request headers.')),
  auth: Type.Optional(Auth),
  retries,
  retry_delay_ms: retryDelay,
});

const Stability = closed({
  min_age_seconds: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 86400,
      description: 'Stable when now − max(mtime, ctime) ≥ this.',
    }),
  ),
  samples: Type.Optional(
    closed({
      count: Type.Integer({ minimum: 2, maximum: 100, description: 'Identical readings needed.' }),
      interval_ms: Type.Integer({ minimum: 0, maximum: 600000, description: 'Between readings.' }),
    }),
  ),
});

/** One pipeline as written in the config file. */
export const PipelineSchema = closed({
  name: Type.String({
    pattern: '^[a-z0-9][a-z0-9_-]{0,62}$',
    description: 'Pipeline name (lowercase letters, digits, _ and -).',
  }),
  default: Type.Optional(
    Type.Boolean({ description: 'The pipeline POST /api/v1/coordinator/runs runs.' }),
  ),
  source: Type.String({
    minLength: 1,
    description: 'Folder to scan: a local path or smb://user@host[:port]/share/path.',
  }),
  source_password: Type.Optional(secret('SMB password')),
  archive: Type.String({
    minLength: 1,
    description: 'Archive folder on the source storage; relative = inside the source root.',
  }),
  temp_patterns: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), { description: 'Names still being written.' }),
  ),
  exclude: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), { description: 'Globs of paths to leave alone.' }),
  ),
  version_patterns: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), { description: 'Extra version suffix patterns.' }),
  ),
  stability: Type.Optional(Stability),
  hash: Type.Optional(
    // The transfers' checksum algorithms (src/transfers/hashing.ts); md5 is the default here.
    Type.Union(
      [
        Type.Literal('md5'),
        Type.Literal('sha1'),
        Type.Literal('sha256'),
        Type.Literal('xxh128'),
        Type.Literal('xxh3'),
        Type.Literal('xxh64'),
        Type.Literal('blake3'),
      ],
      { description: 'Content hash for claims.' },
    ),
  ),
  batch_size: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 64, description: 'Files processed at once in a run.' }),
  ),
  archive_batch_size: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 10000, description: 'Files archived per batch.' }),
  ),
  max_file_bytes: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Larger files are reported and left in place.' }),
  ),
  schedule: Type.Optional(Type.String({ minLength: 1, description: 'Cron schedule for runs.' })),
  lease_seconds: Type.Optional(
    Type.Integer({
      minimum: 2,
      maximum: 3600,
      description:
        'Lease on a running run; another node may start a run this long after a dead one.',
    }),
  ),
  status_names: Type.Optional(
    Type.Union([Type.Literal('ferry'), Type.Literal('coordinator')], {
      description:
        "Status names in answers and notifications: Ferry's, or the coordinator's (itm_failed).",
    }),
  ),
  extractor: Extractor,
  submitter: Submitter,
  notifier: Notifier,
});

/** One pipeline as written (optional keys may be absent). */
export type PipelineInput = Static<typeof PipelineSchema>;
type Auth = Static<typeof Auth>;

/** Every optional pipeline key's default, in one place. */
export const pipelineDefaults = {
  default: false,
  temp_patterns: [...defaultTempPatterns],
  exclude: [] as string[],
  version_patterns: [] as string[],
  stability: { min_age_seconds: 60 },
  hash: 'md5' as const,
  batch_size: 4,
  archive_batch_size: 100,
  max_file_bytes: 256 * 1024 * 1024,
  lease_seconds: 60,
  timeout_ms: 60000,
  retries: 3,
  retry_delay_ms: 1000,
  password_pattern: 'invalid password',
  auth: { type: 'none' } as Auth,
  status_names: 'ferry' as const,
};

type Filled<T, K extends keyof T> = Omit<T, K> & Required<Pick<T, K>>;

/** A pipeline with every default applied. */
export type PipelineConfig = Filled<
  Omit<PipelineInput, 'extractor' | 'submitter' | 'notifier'>,
  | 'default'
  | 'temp_patterns'
  | 'exclude'
  | 'version_patterns'
  | 'stability'
  | 'hash'
  | 'batch_size'
  | 'archive_batch_size'
  | 'max_file_bytes'
  | 'lease_seconds'
  | 'status_names'
> & {
  extractor: Filled<
    PipelineInput['extractor'],
    'timeout_ms' | 'form' | 'headers' | 'auth' | 'password_pattern'
  >;
  submitter: Filled<
    PipelineInput['submitter'],
    'timeout_ms' | 'headers' | 'fields' | 'auth' | 'retries' | 'retry_delay_ms'
  >;
  notifier: Filled<
    PipelineInput['notifier'],
    'timeout_ms' | 'headers' | 'auth' | 'retries' | 'retry_delay_ms'
  >;
};

/** Fills every absent optional key from `pipelineDefaults` (idempotent). */
export function withPipelineDefaults(p: PipelineInput): PipelineConfig {
  const d = pipelineDefaults;
  const http = { timeout_ms: d.timeout_ms, headers: {}, auth: d.auth };
  const retrying = { retries: d.retries, retry_delay_ms: d.retry_delay_ms };
  return {
    ...p,
    default: p.default ?? d.default,
    temp_patterns: p.temp_patterns ?? d.temp_patterns,
    exclude: p.exclude ?? d.exclude,
    version_patterns: p.version_patterns ?? d.version_patterns,
    stability: p.stability ?? d.stability,
    hash: p.hash ?? d.hash,
    batch_size: p.batch_size ?? d.batch_size,
    archive_batch_size: p.archive_batch_size ?? d.archive_batch_size,
    max_file_bytes: p.max_file_bytes ?? d.max_file_bytes,
    lease_seconds: p.lease_seconds ?? d.lease_seconds,
    status_names: p.status_names ?? d.status_names,
    extractor: { ...http, form: {}, password_pattern: d.password_pattern, ...p.extractor },
    submitter: { ...http, ...retrying, fields: {}, ...p.submitter },
    notifier: { ...http, ...retrying, ...p.notifier },
  };
}

/** Where a secret's `env:`/`file:` reference points, for checks and resolution. */
export function secretReference(
  value: string,
): { kind: 'env' | 'file'; target: string } | undefined {
  const match = /^(env|file):(.+)$/.exec(value);
  return match?.[1] && match[2]
    ? { kind: match[1] as 'env' | 'file', target: match[2] }
    : undefined;
}

/** An endpoint as written: the value itself, or the variable an `env:NAME` reference names. */
export function resolveEndpoint(value: string, env: Record<string, string | undefined>): string {
  const ref = secretReference(value);
  return ref?.kind === 'env' ? (env[ref.target] ?? '') : value;
}

/** What is wrong with an endpoint (after resolving `env:NAME`), if anything. */
function endpointProblem(
  value: string,
  env: Record<string, string | undefined>,
): string | undefined {
  const ref = secretReference(value);
  if (ref?.kind === 'env' && !env[ref.target])
    return `names variable ${ref.target}, which is not set`;
  if (ref?.kind === 'file') return 'may reference env:NAME only, not file:';
  return urlProblem(resolveEndpoint(value, env));
}

/** Reads a secret written as a value, `env:NAME` or `file:PATH` (trimmed). */
export function resolveSecret(
  value: string | undefined,
  env: Record<string, string | undefined>,
): string | undefined {
  if (value === undefined) return undefined;
  const ref = secretReference(value);
  if (!ref) return value;
  if (ref.kind === 'env') return env[ref.target] ?? '';
  return readFileSync(ref.target, 'utf8').trim();
}

function urlProblem(url: string): string | undefined {
  try {
    const parsed = new URL(url.replace(/\{remitter\}/g, 'remitter'));
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be http(s)';
    if (/[{}]/.test(url.replace(/\{remitter\}/g, ''))) return 'may use only {remitter}';
    return undefined;
  } catch {
    return `is not a URL: '${url}'`;
  }
}

function authProblems(
  auth: Auth | undefined,
  at: string,
  env: Record<string, string | undefined>,
): string[] {
  if (!auth) return [];
  const needs: Record<Auth['type'], (keyof Auth)[]> = {
    none: [],
    bearer: ['token'],
    oauth2: ['token_url', 'client_id', 'client_secret'],
  };
  const out = needs[auth.type]
    .filter((k) => auth[k] === undefined)
    .map((k) => `${at}.${k}: required when type is ${auth.type}`);
  if (auth.token_url !== undefined) {
    const problem = endpointProblem(auth.token_url, env);
    if (problem) out.push(`${at}.token_url ${problem}`);
  }
  return out;
}

/** Why a secret's `env:`/`file:` reference does not resolve (empty when it does). */
export function secretProblems(
  value: string | undefined,
  at: string,
  env: Record<string, string | undefined>,
  cwd: string,
): string[] {
  const ref = value === undefined ? undefined : secretReference(value);
  if (ref?.kind === 'env' && !env[ref.target]) return [`${at}: variable ${ref.target} is not set`];
  if (ref?.kind === 'file' && !existsSync(path.resolve(cwd, ref.target))) {
    return [`${at}: file ${ref.target} does not exist`];
  }
  return [];
}

function patternProblems(p: PipelineInput, at: string): string[] {
  const out: string[] = [];
  (p.version_patterns ?? []).forEach((source, i) => {
    try {
      new RegExp(source);
      if (!source.includes('(?<date>')) {
        out.push(`${at}.version_patterns.${i}: needs a (?<date>…) group for the 8-digit date`);
      }
    } catch (error) {
      out.push(`${at}.version_patterns.${i}: ${(error as Error).message}`);
    }
  });
  if (p.extractor.password_pattern !== undefined) {
    try {
      new RegExp(p.extractor.password_pattern, 'i');
    } catch (error) {
      out.push(`${at}.extractor.password_pattern: ${(error as Error).message}`);
    }
  }
  return out;
}

function oneProblems(
  p: PipelineInput,
  at: string,
  env: Record<string, string | undefined>,
  cwd: string,
) {
  const out: string[] = [];
  if (p.source.startsWith('smb://')) {
    try {
      parseSmbUrl(p.source);
    } catch (error) {
      out.push(`${at}.source: ${(error as Error).message}`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p.source)) {
    out.push(`${at}.source: only local paths and smb:// are supported; got '${p.source}'`);
  }
  if (p.stability?.min_age_seconds !== undefined && p.stability.samples !== undefined) {
    out.push(`${at}.stability: set either min_age_seconds or samples, not both`);
  }
  if (p.schedule !== undefined && !/^\S+( \S+){4,5}$/.test(p.schedule.trim())) {
    out.push(`${at}.schedule: must be a cron expression of 5 or 6 fields; got '${p.schedule}'`);
  }
  for (const part of ['extractor', 'submitter', 'notifier'] as const) {
    const problem = endpointProblem(p[part].url, env);
    if (problem) out.push(`${at}.${part}.url ${problem}`);
    if (part !== 'extractor' && resolveEndpoint(p[part].url, env).includes('{remitter}')) {
      out.push(`${at}.${part}.url: {remitter} is only replaced in extractor.url`);
    }
    const auth = p[part].auth;
    out.push(...authProblems(auth, `${at}.${part}.auth`, env));
    out.push(...secretProblems(auth?.token, `${at}.${part}.auth.token`, env, cwd));
    out.push(...secretProblems(auth?.client_secret, `${at}.${part}.auth.client_secret`, env, cwd));
  }
  out.push(...secretProblems(p.source_password, `${at}.source_password`, env, cwd));
  return [...out, ...patternProblems(p, at)];
}

/** Checks a schema cannot express: unique names, one default, URLs, secrets that resolve. */
export function pipelineProblems(
  pipelines: readonly PipelineInput[],
  env: Record<string, string | undefined>,
  cwd: string,
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  pipelines.forEach((p, i) => {
    const at = `pipelines.${i}`;
    if (seen.has(p.name)) out.push(`${at}.name: '${p.name}' is used by an earlier pipeline`);
    seen.add(p.name);
    out.push(...oneProblems(p, at, env, cwd));
  });
  if (pipelines.filter((p) => p.default === true).length > 1) {
    out.push('pipelines: at most one pipeline may set default: true');
  }
  return out;
}

/** Paths of secret fields inside one pipeline, for `config print` masking. */
export const pipelineSecretPaths: readonly (readonly string[])[] = [
  ['source_password'],
  ...['extractor', 'submitter', 'notifier'].flatMap((part) => [
    [part, 'auth', 'token'],
    [part, 'auth', 'client_secret'],
  ]),
];
