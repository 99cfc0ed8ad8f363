/**
 * Malformed requests drawn from a route's own OpenAPI operation (fast-check arbitraries): path
 * and query values from the attack run's classes (non-finite and oversized numbers, NUL, lone
 * surrogates, traversal, bad percent-encoding) mixed with plausible ones, and bodies built from
 * the operation's JSON schema with wrong types, unstorable text, `1e400`, deep nesting and
 * broken JSON. Used by src/api/robustness.test.ts.
 */
import fc from 'fast-check';

/** One documented operation. */
export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  pathParams: Record<string, Schema>;
  queryParams: Record<string, Schema>;
  body: Schema | undefined;
}

/** The parts of a JSON schema the generator reads. */
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
}

/** What `app.inject` needs. */
export interface FuzzRequest {
  method: Operation['method'];
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

interface Parameter {
  in: string;
  name: string;
  schema?: Schema;
}
interface OpenApiOperation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

/** Every operation of an OpenAPI 3 document. */
export function operationsOf(spec: Record<string, unknown>): Operation[] {
  const paths = (spec.paths ?? {}) as Record<string, Record<string, OpenApiOperation>>;
  const out: Operation[] = [];
  for (const [route, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const upper = method.toUpperCase();
      if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(upper)) continue;
      const params = op.parameters ?? [];
      const pick = (where: string) =>
        Object.fromEntries(
          params.filter((p) => p.in === where).map((p) => [p.name, p.schema ?? {}]),
        );
      out.push({
        method: upper as Operation['method'],
        path: route,
        pathParams: pick('path'),
        queryParams: pick('query'),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return out;
}

const attackText = [
  'Infinity',
  '-Infinity',
  '1e400',
  '1e19',
  '2147483648',
  '9007199254740993',
  '-1',
  '0',
  'NaN',
  '',
  'null',
  'true',
  '0x10',
  '1.5',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '../../etc/passwd',
  '/proc/self/cwd/x',
  '/etc/passwd',
  'a'.repeat(300),
];

/** Text of the attack classes, or anything, never containing a host path the test looks for. */
function scalarText(needles: readonly string[]) {
  return fc
    .oneof(
      fc.constantFrom(...attackText),
      fc.string({ maxLength: 24 }),
      fc.integer().map(String),
      fc.double().map(String),
    )
    .filter((s) => !needles.some((n) => s.includes(n)));
}

/** Percent-encodes text, lone surrogates included (as the bytes a client would send). */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

/** A JSON value loosely following `schema`, often wrong. */
function valueFor(schema: Schema, needles: readonly string[], depth = 0): fc.Arbitrary<unknown> {
  const wrong = fc.oneof(
    scalarText(needles),
    fc.constantFrom<unknown>(null, true, -1, 0, 2 ** 31, 1e300, [], {}),
  );
  if (depth > 3) return wrong;
  const variants = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
  if (variants.length > 0) {
    return fc.oneof(wrong, ...variants.map((v) => valueFor(v, needles, depth + 1)));
  }
  if (schema.enum) return fc.oneof(wrong, fc.constantFrom(...schema.enum));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
      return fc.oneof(wrong, fc.integer({ min: -5, max: 5000 }));
    case 'number':
      return fc.oneof(wrong, fc.double({ noNaN: true, noDefaultInfinity: true }));
    case 'boolean':
      return fc.oneof(wrong, fc.boolean());
    case 'array':
      return fc.oneof(
        wrong,
        fc.array(valueFor(schema.items ?? {}, needles, depth + 1), { maxLength: 3 }),
      );
    case 'object':
      return fc.oneof(wrong, objectFor(schema, needles, depth + 1));
    default:
      return wrong;
  }
}

function objectFor(schema: Schema, needles: readonly string[], depth: number) {
  const props = Object.entries(schema.properties ?? {});
  const entries = props.map(([name, s]) =>
    fc.option(valueFor(s, needles, depth).map((v) => [name, v] as const)),
  );
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter((p) => p !== null)));
}

const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

/** A body text: from the schema, then sometimes broken on purpose. */
function bodyFor(schema: Schema, needles: readonly string[]) {
  const fromSchema = objectFor(schema, needles, 0).map((o) => JSON.stringify(o));
  return fc.oneof(
    { weight: 4, arbitrary: fromSchema },
    { weight: 1, arbitrary: fromSchema.map((t) => t.replace(/(?<=:)-?\d+(?=[,}])/, '1e400')) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', '{', 'null', '[]', '{"a":1e400}', deep(20_000), '"\\u0000"'),
    },
  );
}

/** One request for `op`: malformed or plausible path, query and body values. */
export function requestFor(op: Operation, needles: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const pathValue = fc.oneof(
    scalarText(needles).map(encode),
    // Plausible ids too, large enough never to name a real object (the admin key is id 1).
    fc.integer({ min: 1_000_000, max: 2_147_483_647 }).map(String),
    fc.constantFrom('%ED%A0%80', '%', 'x'.repeat(120)),
  );
  const pathArb = fc
    .tuple(...Object.keys(op.pathParams).map((name) => pathValue.map((v) => [name, v] as const)))
    .map((pairs) => pairs.reduce((url, [name, v]) => url.replace(`{${name}}`, v), op.path));
  const queryNames = [...Object.keys(op.queryParams), 'unknown'];
  const queryArb = fc
    .array(fc.tuple(fc.constantFrom(...queryNames), scalarText(needles)), { maxLength: 3 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${encode(v)}`).join('&'));
  const bodyArb = op.body ? fc.option(bodyFor(op.body, needles), { freq: 5 }) : fc.constant(null);
  const typeArb = fc.constantFrom('application/json', 'application/json', 'text/plain');
  return fc
    .tuple(pathArb, queryArb, bodyArb, typeArb)
    .map(([url, query, body, type]): FuzzRequest => ({
      method: op.method,
      url: query ? `${url}?${query}` : url,
      headers: body === null ? {} : { 'content-type': type },
      ...(body === null ? {} : { payload: body }),
    }));
}
