/**
 * The submitter connector: posts a file's extracted rows as instructions, with bearer auth
 * (an OAuth2 token is fetched again once on 401/403) and retries with backoff on 5xx and
 * timeouts. Answers one submission outcome; never throws.
 */
import { submissionOutcome, type SubmitOutcome } from '../status.ts';
import { AuthError, type Authorizer } from './auth.ts';
import { exchange, withRetries, type Fetch, type HttpResult } from './http.ts';

/** Submitter settings after defaults. */
export interface SubmitterSettings {
  url: string;
  timeout_ms: number;
  headers: Record<string, string>;
  fields: Record<string, string | number | boolean>;
  retries: number;
  retry_delay_ms: number;
}

/** One file's rows and who sent them. */
export interface SubmitInput {
  remitter: string;
  /** Stable per content: the same rows resent by a later run carry the same references. */
  referencePrefix: string;
  rows: readonly unknown[];
}

/** Submits extracted rows downstream. */
export interface Submitter {
  submit(input: SubmitInput): Promise<SubmitOutcome & { tries: number }>;
}

/** The request body: one instruction per row, the row itself as a JSON string. */
export function instructionsFor(input: SubmitInput, fields: SubmitterSettings['fields']) {
  return {
    instructions: input.rows.map((row, index) => ({
      sourceUniqueRef: `${input.referencePrefix}:${index}`,
      clientIdentifier: input.remitter,
      payload: JSON.stringify(row),
      ...fields,
    })),
  };
}

/** A submitter for `settings`; `sleep` paces the retries (tests pass a fake one). */
export function makeSubmitter(
  settings: SubmitterSettings,
  deps: { fetch: Fetch; auth: Authorizer; sleep: (ms: number) => Promise<void> },
): Submitter {
  async function post(body: string): Promise<HttpResult> {
    const headers = {
      ...settings.headers,
      'content-type': 'application/json',
      ...(await deps.auth.headers()),
    };
    return exchange(
      deps.fetch,
      settings.url,
      { method: 'POST', headers, body },
      settings.timeout_ms,
    );
  }

  return {
    async submit(input) {
      const body = JSON.stringify(instructionsFor(input, settings.fields));
      let refreshed = false;
      try {
        const { result, tries } = await withRetries(
          async () => {
            const r = await post(body);
            const denied = r.kind === 'response' && (r.status === 401 || r.status === 403);
            if (!denied || refreshed || !deps.auth.invalidate()) return r;
            refreshed = true;
            return post(body);
          },
          { retries: settings.retries, delayMs: settings.retry_delay_ms, sleep: deps.sleep },
        );
        return { ...submissionOutcome(result), tries };
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        return { status: 'submission_internal_failed', reason: error.message, tries: 0 };
      }
    },
  };
}
