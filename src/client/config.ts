/**
 * The client's configuration: one table of options with their defaults, bounds and environment
 * variables; validated once, frozen. Precedence: options given to the constructor → environment
 * (Node only: FERRY_SERVER, FERRY_API_KEY, FERRY_CLIENT_*) → defaults. A bad value is refused with
 * the option's name, where it came from, and what is allowed.
 */
import type { JitterStrategy } from './backoff.ts';
import { FerryClientError } from './errors.ts';

type Kind =
  | { type: 'int'; min: number; max: number }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'bool' }
  | { type: 'string'; pattern?: RegExp; hint?: string };

interface OptionSpec {
  kind: Kind;
  default: number | string | boolean | undefined;
  /** One line for docs/sdk.md. */
  doc: string;
}

const int = (min: number, max: number): Kind => ({ type: 'int', min, max });

/** Every tunable option: defaults in one place. Env: `FERRY_CLIENT_` + the name in UPPER_SNAKE. */
export const clientOptionSpecs = {
  zone: {
    kind: { type: 'string', pattern: /^[a-z0-9][a-z0-9_.-]{0,63}$/, hint: 'a zone name like eu' },
    default: undefined,
    doc: 'Prefer nodes of this zone; others are used when none of it is healthy.',
  },
  priority: {
    kind: { type: 'enum', values: ['critical', 'high', 'normal', 'low'] },
    default: 'normal',
    doc: 'Ferry-Priority of every request (a job submission uses its own priority).',
  },
  requestTimeoutMs: {
    kind: int(100, 600_000),
    default: 30_000,
    doc: 'A request without an answer after this long fails (and is retried).',
  },
  retryStrategy: {
    kind: { type: 'enum', values: ['full', 'equal', 'decorrelated'] },
    default: 'full',
    doc: 'Jitter between retries: full, equal or decorrelated.',
  },
  retryBaseMs: { kind: int(1, 60_000), default: 100, doc: 'The first retry delay’s bound.' },
  retryCapMs: { kind: int(1, 600_000), default: 20_000, doc: 'No retry delay is longer.' },
  retryMaxAttempts: {
    kind: int(1, 100),
    default: 5,
    doc: 'Attempts per call, the first included (1 = no retries).',
  },
  budgetCapacity: {
    kind: int(0, 1_000_000),
    default: 500,
    doc: 'Retry budget: tokens in the bucket (0 = never retry).',
  },
  budgetRetryCost: { kind: int(0, 1_000_000), default: 5, doc: 'Tokens one retry costs.' },
  budgetTimeoutCost: {
    kind: int(0, 1_000_000),
    default: 10,
    doc: 'Tokens a retry after a timeout costs.',
  },
  budgetSuccessRefund: {
    kind: int(0, 1_000_000),
    default: 1,
    doc: 'Tokens a successful call earns back.',
  },
  maxSubmitBytes: {
    kind: int(1, 5 * 1024 * 1024),
    default: 5 * 1024 * 1024,
    doc: 'Submissions larger than this (JSON bytes) are refused before sending; the server’s limit is 5 MiB.',
  },
  pingIntervalMs: {
    kind: int(100, 3_600_000),
    default: 5_000,
    doc: 'How often nodes that failed are pinged, to use them again once they answer.',
  },
  pollIntervalMs: {
    kind: int(50, 3_600_000),
    default: 1_000,
    doc: 'While the live channel is down, tracked jobs are polled this often.',
  },
  live: {
    kind: { type: 'bool' },
    default: true,
    doc: 'Follow jobs through the live channel (false: polling only).',
  },
  orphanGraceSeconds: {
    kind: int(1, 86_400),
    default: 120,
    doc: 'A job with no update for this long while its owner is unreachable is reported orphaned.',
  },
  orphanCheckSeconds: {
    kind: int(1, 3_600),
    default: 30,
    doc: 'How often tracked jobs are checked for orphans.',
  },
} as const satisfies Record<string, OptionSpec>;

export type ClientOptionName = keyof typeof clientOptionSpecs;

/** The resolved, frozen configuration. */
export interface ClientConfig {
  /** Node base URLs, normalized (`http://host:port`, no trailing slash). */
  nodes: readonly string[];
  apiKey: string | undefined;
  token: string | (() => string | Promise<string>) | undefined;
  zone: string | undefined;
  priority: 'critical' | 'high' | 'normal' | 'low';
  requestTimeoutMs: number;
  retryStrategy: JitterStrategy;
  retryBaseMs: number;
  retryCapMs: number;
  retryMaxAttempts: number;
  budgetCapacity: number;
  budgetRetryCost: number;
  budgetTimeoutCost: number;
  budgetSuccessRefund: number;
  maxSubmitBytes: number;
  pingIntervalMs: number;
  pollIntervalMs: number;
  live: boolean;
  orphanGraceSeconds: number;
  orphanCheckSeconds: number;
}

/** What a caller may pass: node URLs, a credential, and any option of the table. */
export type ClientConfigInput = {
  /** Node URLs (an array, or one comma-separated string like FERRY_SERVER). */
  nodes?: readonly string[] | string;
  /** An API key (`fry_…`). */
  apiKey?: string;
  /** A JWT access token, or a function asked again before each request (refresh). */
  token?: string | (() => string | Promise<string>);
} & { [K in ClientOptionName]?: ClientConfig[K] };

/** `orphanGraceSeconds` → `FERRY_CLIENT_ORPHAN_GRACE_SECONDS`. */
export function envName(option: ClientOptionName): string {
  return `FERRY_CLIENT_${option.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function configError(problem: string): FerryClientError {
  return new FerryClientError(
    'FERRY_CLIENT_ERR_CONFIG',
    `Invalid client configuration: ${problem}`,
  );
}

function describe(kind: Kind): string {
  switch (kind.type) {
    case 'int':
      return `an integer from ${String(kind.min)} to ${String(kind.max)}`;
    case 'enum':
      return `one of ${kind.values.join(', ')}`;
    case 'bool':
      return 'true or false';
    case 'string':
      return kind.hint ?? 'a string';
  }
}

/** Checks one value (from an option or a variable's text); the value or a problem. */
function check(kind: Kind, raw: unknown, fromText: boolean): { value: unknown } | undefined {
  switch (kind.type) {
    case 'int': {
      const n = fromText && typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      return typeof n === 'number' && Number.isInteger(n) && n >= kind.min && n <= kind.max
        ? { value: n }
        : undefined;
    }
    case 'enum':
      return typeof raw === 'string' && kind.values.includes(raw) ? { value: raw } : undefined;
    case 'bool':
      if (typeof raw === 'boolean') return { value: raw };
      if (fromText && (raw === 'true' || raw === 'false')) return { value: raw === 'true' };
      return undefined;
    case 'string':
      return typeof raw === 'string' && (!kind.pattern || kind.pattern.test(raw))
        ? { value: raw }
        : undefined;
  }
}

/** Parses and normalizes node URLs; a bad one is named. */
export function parseNodes(raw: readonly string[] | string, from: string): string[] {
  const list = typeof raw === 'string' ? raw.split(',') : [...raw];
  const nodes: string[] = [];
  for (const entry of list.map((n) => n.trim()).filter((n) => n !== '')) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw configError(
        `nodes (from ${from}): ${JSON.stringify(entry)} is not a URL; use http://host:port`,
      );
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
      throw configError(
        `nodes (from ${from}): ${JSON.stringify(entry)} must be an http(s) URL without query or fragment`,
      );
    }
    const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    if (!nodes.includes(base)) nodes.push(base);
  }
  if (nodes.length === 0) {
    throw configError(
      `nodes: give at least one node URL (the nodes option, or FERRY_SERVER=http://host:port,…)`,
    );
  }
  return nodes;
}

/** The environment when there is one (Node); browsers have none. */
export function processEnv(): Record<string, string | undefined> {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env ?? {};
}

/** Resolves options + environment + defaults into a frozen config, or throws naming the problem. */
export function resolveClientConfig(
  input: ClientConfigInput = {},
  env: Record<string, string | undefined> = processEnv(),
): Readonly<ClientConfig> {
  const names = Object.keys(clientOptionSpecs) as ClientOptionName[];
  const known = new Set(names.map(envName));
  for (const name of Object.keys(env)) {
    if (name.startsWith('FERRY_CLIENT_') && !known.has(name)) {
      throw configError(`unknown variable ${name}; known: ${[...known].join(', ')}`);
    }
  }
  const allowed = new Set<string>(['nodes', 'apiKey', 'token', ...names]);
  for (const key of Object.keys(input)) {
    if (!allowed.has(key))
      throw configError(`unknown option ${key}; known: ${[...allowed].join(', ')}`);
  }
  const resolved: Record<string, unknown> = {};
  for (const name of names) {
    const spec: OptionSpec = clientOptionSpecs[name];
    const given = input[name];
    const text = env[envName(name)];
    if (given !== undefined) {
      const ok = check(spec.kind, given, false);
      if (!ok)
        throw configError(`${name} must be ${describe(spec.kind)}; got ${JSON.stringify(given)}`);
      resolved[name] = ok.value;
    } else if (text !== undefined && text !== '') {
      const ok = check(spec.kind, text, true);
      if (!ok) {
        throw configError(
          `${name} (from ${envName(name)}) must be ${describe(spec.kind)}; got ${JSON.stringify(text)}`,
        );
      }
      resolved[name] = ok.value;
    } else {
      resolved[name] = spec.default;
    }
  }
  if ((resolved.retryBaseMs as number) > (resolved.retryCapMs as number)) {
    throw configError(
      `retryBaseMs (${String(resolved.retryBaseMs)}) must not exceed retryCapMs (${String(resolved.retryCapMs)})`,
    );
  }
  const nodes =
    input.nodes !== undefined
      ? parseNodes(input.nodes, 'the nodes option')
      : parseNodes(env.FERRY_SERVER ?? '', 'FERRY_SERVER');
  if (input.apiKey !== undefined && input.token !== undefined) {
    throw configError('give apiKey or token, not both');
  }
  for (const [name, value] of [
    ['apiKey', input.apiKey],
    ['token', input.token],
  ] as const) {
    if (
      value !== undefined &&
      typeof value !== 'function' &&
      (typeof value !== 'string' || value === '')
    ) {
      throw configError(`${name} must be a non-empty string`);
    }
  }
  const apiKey =
    input.apiKey ?? (input.token === undefined ? env.FERRY_API_KEY || undefined : undefined);
  return Object.freeze({
    ...resolved,
    nodes: Object.freeze(nodes),
    apiKey,
    token: input.token,
  }) as Readonly<ClientConfig>;
}
