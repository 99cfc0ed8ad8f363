/**
 * Loads the configuration: defaults → ferry.config.{yaml,yml,json} → FERRY_* env → CLI flags.
 * Unknown keys and bad values are refused with one message per problem naming the key, where
 * the value came from, and the fix. The result is deep-frozen.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Value from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { FerryError } from '../errors/index.ts';
import { configKeys, type ConfigKey } from './keys.ts';
import { endpointProblems } from './endpoint-schema.ts';
import { pipelineProblems, withPipelineDefaults } from './pipeline-schema.ts';
import { ConfigSchema, defaults, type Config } from './schema.ts';

/** Where the loader looks; all optional, so tests pass exactly what they mean. */
export interface ConfigSources {
  /** Working directory for relative paths and the default config file lookup. */
  cwd?: string;
  /** Explicit config file (also `FERRY_CONFIG`). */
  file?: string;
  /** Environment; `process.env` when omitted. */
  env?: Record<string, string | undefined>;
  /** Values from CLI flags, by dotted key. */
  flags?: Record<string, unknown>;
}

type Tree = Record<string, unknown>;

const fileNames = ['ferry.config.yaml', 'ferry.config.yml', 'ferry.config.json'];

/** Builds the effective configuration or throws FERRY_ERR_CONFIG_INVALID listing every problem. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const cwd = sources.cwd ?? process.cwd();
  const env = sources.env ?? process.env;
  const problems: string[] = [];
  const origin = new Map<string, string>();

  const merged = structuredClone(defaults) as unknown as Tree;
  const file = findFile(cwd, sources.file ?? env.FERRY_CONFIG);
  if (file) {
    const fromFile = readFile(file, problems);
    if (fromFile) {
      mergeInto(merged, fromFile);
      for (const key of configKeys) {
        if (getPath(fromFile, key.path) !== undefined) origin.set(key.dotted, file);
      }
    }
  }
  // FERRY_SERVER and FERRY_API_KEY belong to the CLI's client commands and the SDK, FERRY_CLIENT_*
  // to the SDK (docs/sdk.md): exporting them must never stop a server from starting.
  const knownEnv = new Set([
    ...configKeys.map((k) => k.env),
    'FERRY_CONFIG',
    'FERRY_SERVER',
    'FERRY_API_KEY',
  ]);
  const notOurs = ['FERRY_TEST_', 'FERRY_CLIENT_'];
  for (const name of Object.keys(env)) {
    if (
      name.startsWith('FERRY_') &&
      !notOurs.some((prefix) => name.startsWith(prefix)) &&
      !knownEnv.has(name)
    ) {
      problems.push(`unknown variable ${name}${suggest(name, (k) => k.env)}`);
    }
  }
  for (const key of configKeys) {
    const raw = env[key.env] ?? (key.dotted === 'database_url' ? env.DATABASE_URL : undefined);
    if (raw === undefined || (raw === '' && key.dotted !== 'database_url')) continue;
    const parsed = parseEnvValue(key, raw);
    if (parsed.ok) {
      setPath(merged, key.path, parsed.value);
      origin.set(key.dotted, env[key.env] !== undefined ? key.env : 'DATABASE_URL');
    } else {
      problems.push(`${key.dotted} (from ${key.env}): ${parsed.problem}`);
    }
  }
  for (const [dotted, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    const key = configKeys.find((k) => k.dotted === dotted);
    if (!key) {
      problems.push(`unknown flag key ${dotted}`);
      continue;
    }
    const parsed =
      typeof value === 'string' ? parseEnvValue(key, value) : { ok: true as const, value };
    if (parsed.ok) {
      setPath(merged, key.path, parsed.value);
      origin.set(dotted, flagName(key));
    } else problems.push(`${dotted} (from ${flagName(key)}): ${parsed.problem}`);
  }

  let pipelinesValid = true;
  let endpointsValid = true;
  for (const error of Value.Errors(ConfigSchema, merged)) {
    // An unknown key is reported once, by its parent's additionalProperties error.
    if (error.keyword === 'boolean' && error.schemaPath.endsWith('/additionalProperties')) continue;
    if (error.instancePath.startsWith('/pipelines')) pipelinesValid = false;
    if (error.instancePath.startsWith('/endpoints')) endpointsValid = false;
    problems.push(describeSchemaError(error, origin));
  }
  if (pipelinesValid) {
    problems.push(...pipelineProblems((merged as unknown as Config).pipelines, env, cwd));
  }
  if (endpointsValid) {
    problems.push(...endpointProblems((merged as unknown as Config).endpoints, env, cwd));
  }
  if (problems.length > 0) {
    throw new FerryError(
      'FERRY_ERR_CONFIG_INVALID',
      { problems: problems.join('; ') },
      {
        extra: { problems },
      },
    );
  }
  const config = merged as unknown as Config;
  config.data_dir = path.resolve(cwd, config.data_dir);
  for (const volume of config.volumes) volume.path = path.resolve(cwd, volume.path);
  for (const e of config.endpoints) {
    if (e.known_hosts !== undefined) e.known_hosts = path.resolve(cwd, e.known_hosts);
  }
  config.pipelines = config.pipelines.map((p) => {
    const filled = withPipelineDefaults(p);
    return p.source.startsWith('smb://')
      ? filled
      : { ...filled, source: path.resolve(cwd, p.source) };
  });
  return deepFreeze(config);
}

function findFile(cwd: string, explicit: string | undefined): string | undefined {
  if (explicit) {
    const resolved = path.resolve(cwd, explicit);
    if (!existsSync(resolved)) {
      throw new FerryError('FERRY_ERR_CONFIG_INVALID', {
        problems: `config file ${resolved} does not exist`,
      });
    }
    return resolved;
  }
  return fileNames.map((n) => path.join(cwd, n)).find((f) => existsSync(f));
}

function readFile(file: string, problems: string[]): Tree | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    const data: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (data === null || data === undefined) return {};
    if (typeof data !== 'object' || Array.isArray(data)) {
      problems.push(`${file}: the top level must be a mapping of keys`);
      return undefined;
    }
    return data as Tree;
  } catch (error) {
    problems.push(`${file}: cannot be parsed (${(error as Error).message.split('\n')[0] ?? ''})`);
    return undefined;
  }
}

type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

/** Env and flag values arrive as strings; the key's kind says how to read them. */
export function parseEnvValue(key: ConfigKey, raw: string): Parsed {
  switch (key.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim()))
        return { ok: false, problem: `must be a whole number; got '${raw}'` };
      return { ok: true, value: Number(raw.trim()) };
    }
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) {
        return { ok: false, problem: `must be a number; got '${raw}'` };
      }
      return { ok: true, value: n };
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return { ok: true, value: true };
      if (['false', '0', 'no', 'off'].includes(v)) return { ok: true, value: false };
      return { ok: false, problem: `must be true or false; got '${raw}'` };
    }
    case 'enum':
      if (!key.choices.includes(raw)) {
        return { ok: false, problem: `must be one of ${key.choices.join(', ')}; got '${raw}'` };
      }
      return { ok: true, value: raw };
    case 'list':
      return { ok: true, value: splitList(raw) };
    case 'volumes':
      return { ok: true, value: splitList(raw).map((p) => ({ path: p })) };
    case 'file_only':
      return { ok: false, problem: 'is set in the config file only (a list of mappings)' };
    case 'string':
      return { ok: true, value: raw };
  }
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: object;
  message: string;
}

function describeSchemaError(error: SchemaError, origin: Map<string, string>): string {
  const dotted = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperties?: string[] }).additionalProperties ?? [];
    const where = dotted ? `${dotted}.` : '';
    // Keys inside list entries (volumes, pipelines) are not config keys; their siblings are.
    const siblings = Object.keys(schemaAt(error.schemaPath).properties ?? {});
    return extra
      .map((name) => {
        const hint = suggest(where + name, (k) => k.dotted) || closestOf(name, siblings, where);
        return `unknown key ${where}${name}${hint}`;
      })
      .join('; ');
  }
  const key = configKeys.find((k) => k.dotted === dotted);
  const from = origin.get(dotted);
  const hint = key?.kind === 'enum' ? ` (one of ${key.choices.join(', ')})` : '';
  return `${dotted || '(root)'}${from ? ` (from ${from})` : ''}: ${error.message}${hint}`;
}

/** The CLI flag a key is set by (`--port` for http.port, `--data-dir` for data_dir). */
function flagName(key: ConfigKey): string {
  return `--${(key.path.at(-1) ?? key.dotted).replace(/_/g, '-')}`;
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/** The schema node a JSON pointer (`#/properties/pipelines/items/…`) names. */
function schemaAt(pointer: string): SchemaNode {
  let node: unknown = ConfigSchema;
  for (const part of pointer.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    node = isTree(node) ? node[part] : undefined;
  }
  return isTree(node) ? node : {};
}

/** "; did you mean <where><name>?" for the closest sibling within two edits, else nothing. */
function closestOf(unknown: string, names: readonly string[], where: string): string {
  const best = names
    .map((name) => ({ name, distance: editDistance(unknown.toLowerCase(), name.toLowerCase()) }))
    .filter((c) => c.distance <= 2)
    .sort((a, b) => a.distance - b.distance)[0];
  return best ? `; did you mean ${where}${best.name}?` : '';
}

/** "; did you mean X?" for the closest known name within two edits, else nothing. */
function suggest(unknown: string, nameOf: (key: ConfigKey) => string): string {
  let best: { name: string; distance: number } | undefined;
  for (const key of configKeys) {
    const name = nameOf(key);
    const distance = editDistance(unknown.toLowerCase(), name.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best ? `; did you mean ${best.name}?` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function mergeInto(target: Tree, source: Tree): void {
  for (const [k, v] of Object.entries(source)) {
    const current = target[k];
    if (isTree(v) && isTree(current)) mergeInto(current, v);
    else target[k] = v;
  }
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getPath(tree: Tree, keyPath: readonly string[]): unknown {
  let node: unknown = tree;
  for (const part of keyPath) {
    if (!isTree(node)) return undefined;
    node = node[part];
  }
  return node;
}

function setPath(tree: Tree, keyPath: readonly string[], value: unknown): void {
  let node = tree;
  for (const part of keyPath.slice(0, -1)) {
    const next = node[part];
    if (isTree(next)) node = next;
    else node = node[part] = {};
  }
  node[keyPath.at(-1) ?? ''] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
