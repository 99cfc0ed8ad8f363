/**
 * Closes a gap in ajv's type coercion: it turns the query or path string `Infinity` (or `1e400`)
 * into a number that passes `type: integer` and skips `minimum`/`maximum`, which then reaches
 * the store as an out-of-range value. After validation, any non-finite number in the path
 * parameters names no object (404); in the query string it is a bad field (422).
 */
import type { FastifyRequest } from 'fastify';
import { FerryError, invalidFields } from '../errors/index.ts';

function nonFinite(values: unknown): [string, string] | undefined {
  if (typeof values !== 'object' || values === null) return undefined;
  for (const [name, value] of Object.entries(values)) {
    const list: unknown[] = Array.isArray(value) ? value : [value];
    for (const item of list) {
      if (typeof item === 'number' && !Number.isFinite(item)) return [name, String(item)];
    }
  }
  return undefined;
}

/** preHandler hook: refuses `Infinity`, `-Infinity` and overflowing numbers in params and query. */
export async function refuseNonFiniteNumbers(request: FastifyRequest): Promise<void> {
  const param = nonFinite(request.params);
  if (param) {
    throw new FerryError('FERRY_ERR_NO_SUCH_OBJECT', {
      field: `params.${param[0]}`,
      reason: 'must be a whole number from 1 to 2147483647',
    });
  }
  const query = nonFinite(request.query);
  if (query) {
    throw invalidFields([{ field: `querystring.${query[0]}`, message: 'must be a finite number' }]);
  }
}
