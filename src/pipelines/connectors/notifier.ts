/**
 * The notifier connector: tells the operations queue about one failure as
 * `{file_path, reason, record_id, status}`, retrying 5xx and timeouts. The caller records a
 * `notified` mark after a 2xx, so each failure is announced once.
 */
import { AuthError, type Authorizer } from './auth.ts';
import { describe, exchange, withRetries, type Fetch } from './http.ts';

/** Notifier settings after defaults. */
export interface NotifierSettings {
  url: string;
  timeout_ms: number;
  headers: Record<string, string>;
  retries: number;
  retry_delay_ms: number;
}

/** One notification. `record_id` is the ledger row (or run) the failure is recorded as. */
export interface Notice {
  file_path: string;
  reason: string;
  record_id: number | string;
  status: string;
}

/** Announces failures. */
export interface Notifier {
  /** True when the notifier took it (2xx); otherwise why not. */
  notify(notice: Notice): Promise<{ ok: true } | { ok: false; reason: string }>;
}

/** A notifier for `settings`; `sleep` paces the retries. */
export function makeNotifier(
  settings: NotifierSettings,
  deps: { fetch: Fetch; auth: Authorizer; sleep: (ms: number) => Promise<void> },
): Notifier {
  return {
    async notify(notice) {
      const body = JSON.stringify(notice);
      try {
        const { result } = await withRetries(
          async () =>
            exchange(
              deps.fetch,
              settings.url,
              {
                method: 'POST',
                headers: {
                  ...settings.headers,
                  'content-type': 'application/json',
                  ...(await deps.auth.headers()),
                },
                body,
              },
              settings.timeout_ms,
            ),
          { retries: settings.retries, delayMs: settings.retry_delay_ms, sleep: deps.sleep },
        );
        if (result.kind === 'response' && result.status >= 200 && result.status < 300) {
          return { ok: true };
        }
        return { ok: false, reason: describe(result) };
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        return { ok: false, reason: error.message };
      }
    },
  };
}
