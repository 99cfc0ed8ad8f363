/**
 * One HTTP exchange with a downstream service, reduced to what the pipeline decides on: a
 * response (status and parsed body), a timeout, or a network failure (refused, reset). Never
 * throws for those; the caller maps them to ledger statuses.
 */

/** The fetch the connectors use; tests and callers pass their own through the constructor. */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

/** What one request came to. */
export type HttpResult =
  | {
      kind: 'response';
      status: number;
      /** The JSON body, or undefined when the body is not JSON. */
      body: unknown;
      text: string;
    }
  | { kind: 'timeout'; message: string }
  | { kind: 'network'; message: string };

/** Why a fetch failed, from undici's error and its cause chain. */
function failureOf(error: unknown, timeoutMs: number): HttpResult {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return { kind: 'timeout', message: `no answer within ${timeoutMs} ms` };
  }
  const code = e.cause?.code;
  const detail = e.cause?.message ?? e.message;
  return { kind: 'network', message: code ? `${code}: ${detail}` : detail };
}

/**
 * Sends one request with a deadline covering the whole exchange (headers and body), so a
 * service that stalls mid-body times out too.
 */
export async function exchange(
  fetchFn: Fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<HttpResult> {
  try {
    const response = await fetchFn(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { kind: 'response', status: response.status, body, text };
  } catch (error) {
    return failureOf(error, timeoutMs);
  }
}

/** True for outcomes worth retrying: 5xx, timeouts, connection failures. */
export function isTransient(result: HttpResult): boolean {
  return result.kind !== 'response' || result.status >= 500;
}

/** A short description of a result for reasons and logs. */
export function describe(result: HttpResult): string {
  if (result.kind !== 'response') return `${result.kind}: ${result.message}`;
  const snippet = result.text.length > 200 ? `${result.text.slice(0, 200)}…` : result.text;
  return `HTTP ${result.status}${snippet ? `: ${snippet}` : ''}`;
}

/** A plain object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Runs `attempt` up to `retries + 1` times while it returns a transient result, sleeping
 * `delayMs · 2^n` between tries. Returns the last result and how many tries were made.
 */
export async function withRetries(
  attempt: () => Promise<HttpResult>,
  policy: { retries: number; delayMs: number; sleep: (ms: number) => Promise<void> },
): Promise<{ result: HttpResult; tries: number }> {
  let tries = 0;
  for (;;) {
    const result = await attempt();
    tries += 1;
    if (!isTransient(result) || tries > policy.retries) return { result, tries };
    await policy.sleep(policy.delayMs * 2 ** (tries - 1));
  }
}
