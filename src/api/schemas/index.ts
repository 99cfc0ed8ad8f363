/**
 * The API's shared schema types, so a class of bad input is refused where it is declared:
 * integers within their column's range (never `Infinity`, `1e400` or past int4), text that
 * PostgreSQL can store (no NUL, no lone surrogate), and one page query whose defaults live only
 * here. A path parameter that fails its schema names no object and answers 404
 * (`error-handler.ts`); a query or body field answers 422.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import Type from 'typebox';
import { hardMaxDepth, inspectJson } from '../../db/index.ts';
import { invalidFields } from '../../errors/index.ts';

/** Largest value of a PostgreSQL `integer` (int4): every id column and paging bound. */
export const maxInt4 = 2147483647;

/** A row id: 1 … int4 max. */
export const Id = Type.Integer({ minimum: 1, maximum: maxInt4 });

/** `/{id}` path parameters. */
export const PathId = Type.Object({ id: Id });

/** Text PostgreSQL can store (declared in the store layer, where domain checks use it too). */
export { Text } from '../../db/index.ts';

/**
 * 422 for client JSON stored as jsonb that PostgreSQL cannot store or Ferry will not parse: NUL
 * or a lone surrogate in any key or string, or nesting deeper than `hardMaxDepth` below the
 * `outer` levels of the request's own shape. One iterative walk (db/json-walk.ts), before any
 * code that recurses sees the value.
 */
export function refuseUnstorableJson(value: unknown, field: string, outer = 0): void {
  const shape = inspectJson(value, field, hardMaxDepth + outer);
  if (shape.tooDeep) {
    const message = `nests deeper than ${String(hardMaxDepth)} levels, the most Ferry parses`;
    throw invalidFields([{ field, message }]);
  }
  if (shape.unstorable === undefined) return;
  const message = 'contains a NUL character or an unpaired surrogate, which cannot be stored';
  throw invalidFields([{ field: shape.unstorable, message }]);
}

/** Paging: `limit` (1 … `max`, default `limit`) and `offset`; defaults are filled in by the schema. */
export function pageQuery(defaults: { limit: number; max?: number } = { limit: 100 }) {
  return {
    limit: Type.Integer({ minimum: 1, maximum: defaults.max ?? 1000, default: defaults.limit }),
    offset: Type.Integer({ minimum: 0, maximum: maxInt4, default: 0 }),
  };
}

/** The usual page query object (limit 1 … 1000, default 100). */
export const PageQuery = Type.Object(pageQuery());

/** A Fastify instance whose routes take their request types from their TypeBox schemas. */
export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** The same instance, typed by its schemas: `request.body`, `query` and `params` need no casts. */
export function typed(app: FastifyInstance): Api {
  return app.withTypeProvider<TypeBoxTypeProvider>();
}
