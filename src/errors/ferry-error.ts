import { errorCodes, type ErrorCode } from './registry.ts';

/** Params that fill a code's message template and travel to the client as extra fields. */
export type ErrorParams = Record<string, unknown>;

/** An error with a registered code; the API maps it to `{detail, code, ...extra}`. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly params: ErrorParams;
  /** Extra response fields (e.g. `errors` for validation); never contains secrets. */
  readonly extra: ErrorParams;
  /** Seconds for a Retry-After header, when the caller should come back later. */
  readonly retryAfter: number | undefined;
  /** The registry's word on whether sending the same request again may succeed. */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    params: ErrorParams = {},
    options: { extra?: ErrorParams; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(formatMessage(errorCodes[code].message, params), { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.params = params;
    this.extra = options.extra ?? {};
    this.retryAfter = options.retryAfter;
    this.retryable = errorCodes[code].retryable;
  }
}

/** The body every error answer carries: `{detail, code, retryable, ...extra}`. */
export function errorBody(error: FerryError): Record<string, unknown> {
  return { detail: error.message, code: error.code, retryable: error.retryable, ...error.extra };
}

/** Fills `{name}` placeholders; unknown names are left visible rather than silently dropped. */
export function formatMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? stringify(params[name]) : whole,
  );
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value);
}

/** Type guard for registered errors. */
export function isFerryError(error: unknown): error is FerryError {
  return error instanceof FerryError;
}

/** One offending field, as 422 answers list them. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** A 422 listing offending fields: the one shape for schema errors and checks made in code. */
export function invalidFields(errors: readonly FieldProblem[]): FerryError {
  const summary = errors.map((e) => `${e.field} ${e.message}`).join('; ');
  return new FerryError('FERRY_ERR_VALIDATION', { summary }, { extra: { errors } });
}
