/**
 * The OpenAPI view of the route schemas. A query value with a schema default is declared
 * required so that ajv fills it in and handlers read it without `??`; to a client it is optional,
 * so the document drops it from `required`.
 */
import type { FastifySchema } from 'fastify';

interface ObjectSchema {
  required?: string[];
  properties?: Record<string, { default?: unknown }>;
}

/** @fastify/swagger `transform`: defaulted query values are optional in the document. */
export function defaultsAreOptional({ schema, url }: { schema: FastifySchema; url: string }): {
  schema: FastifySchema;
  url: string;
} {
  // Routes without a schema arrive here with none at all, whatever the type says.
  const query = (schema as FastifySchema | undefined)?.querystring as ObjectSchema | undefined;
  if (!query?.required || !query.properties) return { schema, url };
  const props = query.properties;
  const required = query.required.filter((name) => props[name]?.default === undefined);
  return { schema: { ...schema, querystring: { ...query, required } }, url };
}
