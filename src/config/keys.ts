/**
 * Derives the flat key list from the schema: dotted path, env name, kind and description.
 * The env form of every key comes from here, so the schema is the only list of keys.
 */
import { ConfigSchema } from './schema.ts';

/** One leaf of the configuration tree. */
export interface ConfigKey {
  /** Dotted path, e.g. `auth.anonymous`. */
  readonly path: readonly string[];
  readonly dotted: string;
  /** Environment variable, e.g. `FERRY_AUTH_ANONYMOUS`. */
  readonly env: string;
  readonly kind:
    | 'string'
    | 'integer'
    | 'number'
    | 'boolean'
    | 'enum'
    | 'list'
    | 'volumes'
    /** Deep objects (pipelines): set in the config file only; the variable is refused. */
    | 'file_only';
  readonly choices: readonly string[];
  readonly description: string;
  /** Masked by `ferry config print`. */
  readonly secret: boolean;
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  anyOf?: SchemaNode[];
  items?: SchemaNode;
  const?: unknown;
  description?: string;
  secret?: boolean;
  fileOnly?: boolean;
}

function walk(node: SchemaNode, path: string[], out: ConfigKey[]): void {
  if (node.type === 'object' && node.properties) {
    for (const [name, child] of Object.entries(node.properties)) walk(child, [...path, name], out);
    return;
  }
  const choices = node.anyOf?.map((n) => String(n.const)) ?? [];
  const kind: ConfigKey['kind'] = node.fileOnly
    ? 'file_only'
    : node.type === 'array'
      ? node.items?.type === 'object'
        ? 'volumes'
        : 'list'
      : choices.length > 0
        ? 'enum'
        : node.type === 'integer' || node.type === 'number'
          ? node.type
          : node.type === 'boolean'
            ? 'boolean'
            : 'string';
  out.push({
    path,
    dotted: path.join('.'),
    env: `FERRY_${path.join('_').toUpperCase()}`,
    kind,
    choices,
    description: node.description ?? '',
    secret: node.secret === true,
  });
}

function collectKeys(): readonly ConfigKey[] {
  const out: ConfigKey[] = [];
  walk(ConfigSchema, [], out);
  return Object.freeze(out);
}

/** Every configuration key, in schema order. */
export const configKeys = collectKeys();
