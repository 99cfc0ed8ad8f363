/**
 * Credentials for downstream services: none, a static bearer token, or OAuth2 client
 * credentials (a token fetched from the token endpoint, cached until shortly before it
 * expires). `invalidate()` drops a cached token after a 401/403 so the next call fetches anew.
 */
import { describe, exchange, isObject, type Fetch } from './http.ts';

/** Auth settings after secrets are resolved. */
export interface AuthSettings {
  type: 'none' | 'bearer' | 'oauth2';
  token?: string;
  token_url?: string;
  client_id?: string;
  client_secret?: string;
  scope?: string;
  audience?: string;
}

/** Gives the Authorization header for the next request. */
export interface Authorizer {
  /** Headers to add; throws AuthError when the token endpoint fails. */
  headers(): Promise<Record<string, string>>;
  /** Forgets a cached token; true when a fresh one can be fetched (OAuth2). */
  invalidate(): boolean;
}

/** The token endpoint failed or answered without a token. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

/** Tokens are renewed this long before they expire, so a request never carries a dying one. */
const expiryMarginMs = 30_000;

/** An Authorizer for `settings`; `now` is the clock for token expiry. */
export function makeAuthorizer(
  settings: AuthSettings,
  deps: { fetch: Fetch; now: () => number; timeoutMs: number },
): Authorizer {
  let cached: { token: string; expiresAt: number } | undefined;

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    form.set('client_id', settings.client_id ?? '');
    form.set('client_secret', settings.client_secret ?? '');
    if (settings.scope) form.set('scope', settings.scope);
    if (settings.audience) form.set('audience', settings.audience);
    const result = await exchange(
      deps.fetch,
      settings.token_url ?? '',
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      },
      deps.timeoutMs,
    );
    const body = result.kind === 'response' && result.status < 300 ? result.body : undefined;
    const token = isObject(body) ? body.access_token : undefined;
    if (typeof token !== 'string' || token === '') {
      throw new AuthError(`token endpoint ${settings.token_url ?? ''}: ${describe(result)}`);
    }
    const expiresIn = isObject(body) && typeof body.expires_in === 'number' ? body.expires_in : 300;
    cached = { token, expiresAt: deps.now() + expiresIn * 1000 - expiryMarginMs };
    return token;
  }

  return {
    async headers(): Promise<Record<string, string>> {
      if (settings.type === 'none') return {};
      if (settings.type === 'bearer') return { authorization: `Bearer ${settings.token ?? ''}` };
      const token = cached && cached.expiresAt > deps.now() ? cached.token : await fetchToken();
      return { authorization: `Bearer ${token}` };
    },
    invalidate() {
      cached = undefined;
      return settings.type === 'oauth2';
    },
  };
}
