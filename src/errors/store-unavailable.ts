/**
 * Recognizes "the database is not there right now" so the API answers 503 + Retry-After
 * (invariant 4) instead of 500. Connection-level failures only; a constraint violation is a bug
 * or a conflict, never an outage.
 */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

// SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, crash).
// 53300: too many connections.
const sqlStatePrefixes = ['08', '57P', '53300'];

export function isStoreUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (networkCodes.has(code)) return true;
      if (sqlStatePrefixes.some((p) => code.startsWith(p))) return true;
    }
    if (
      /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|PGlite is closed/i.test(
        e.message,
      )
    ) {
      return true;
    }
    e = e.cause;
  }
  return false;
}
