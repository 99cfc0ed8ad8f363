/**
 * Maps every failure to `{detail, code, ...}` with the registry's status. Clients never see a
 * stack trace; unexpected errors are logged with the request id and answered with that id.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  errorBody,
  FerryError,
  invalidFields,
  isFerryError,
  isStoreUnavailable,
} from '../errors/index.ts';

const storeRetryAfterSeconds = 5;

/** Turns any thrown value into the FerryError the client will see. */
export function toFerryError(error: unknown, request: FastifyRequest): FerryError {
  if (isFerryError(error)) return error;
  const fe = error as Partial<FastifyError> & Error;
  if (fe.validation && fe.validationContext === 'params') {
    // A path that fails its schema (`/transfers/1e30`, `/transfers/abc`) names no object.
    const first = fe.validation[0];
    return new FerryError('FERRY_ERR_NO_SUCH_OBJECT', {
      field: fieldName('params', first?.instancePath ?? '', first?.params ?? {}),
      reason: first?.message ?? 'is invalid',
    });
  }
  if (fe.validation) {
    const errors = fe.validation.map((v) => ({
      field: fieldName(fe.validationContext, v.instancePath, v.params),
      message: v.message ?? 'is invalid',
    }));
    return invalidFields(errors);
  }
  switch (fe.code) {
    case 'FST_ERR_BAD_URL':
      return new FerryError('FERRY_ERR_BAD_REQUEST', {
        reason: 'the URL is not valid percent-encoded UTF-8',
      });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new FerryError('FERRY_ERR_URI_TOO_LONG');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new FerryError('FERRY_ERR_PAYLOAD_TOO_LARGE', {
        limit: request.routeOptions.bodyLimit,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new FerryError('FERRY_ERR_UNSUPPORTED_MEDIA_TYPE', {
        contentType: request.headers['content-type'] ?? 'none',
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new FerryError('FERRY_ERR_MALFORMED_JSON', { reason: fe.message });
  }
  if (error instanceof SyntaxError && fe.statusCode === 400) {
    return new FerryError('FERRY_ERR_MALFORMED_JSON', { reason: fe.message });
  }
  if (isStoreUnavailable(error)) {
    return new FerryError(
      'FERRY_ERR_STORE_UNAVAILABLE',
      {},
      { retryAfter: storeRetryAfterSeconds, cause: error },
    );
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new FerryError('FERRY_ERR_BAD_REQUEST', { reason: fe.message });
  }
  return new FerryError('FERRY_ERR_INTERNAL', { requestId: request.id }, { cause: error });
}

function fieldName(
  context: string | undefined,
  instancePath: string,
  params: Record<string, unknown>,
): string {
  const parts = instancePath.split('/').filter(Boolean);
  const missing = params.missingProperty;
  if (typeof missing === 'string') parts.push(missing);
  const extra = params.additionalProperty;
  if (typeof extra === 'string') parts.push(extra);
  return [context ?? 'body', ...parts].join('.');
}

/** Sends a FerryError in the API's error shape. */
export function sendError(reply: FastifyReply, error: FerryError): FastifyReply {
  if (error.retryAfter !== undefined) void reply.header('retry-after', String(error.retryAfter));
  return reply.status(error.status).send(errorBody(error));
}
