/**
 * Talking to Ferry's API from the browser: the signed-in credential (account tokens with silent
 * refresh, or an API key), JSON requests whose errors keep their `detail` and `code`, and
 * authenticated downloads.
 */

/** An error answer from the API, as `{detail, code}`. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, detail: string) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The credential kept across reloads. */
export interface Credential {
  kind: 'account' | 'key';
  access: string;
  refresh?: string;
}

const storageKey = 'ferry.credential';
let credential: Credential | undefined = load();
let refreshing: Promise<void> | undefined;
const listeners = new Set<() => void>();

function load(): Credential | undefined {
  try {
    const raw = localStorage.getItem(storageKey);
    return raw ? (JSON.parse(raw) as Credential) : undefined;
  } catch {
    return undefined;
  }
}

/** The current credential, if signed in. */
export function currentCredential(): Credential | undefined {
  return credential;
}

/** Replaces (or with undefined, forgets) the credential and tells the app. */
export function setCredential(next: Credential | undefined): void {
  credential = next;
  if (next) localStorage.setItem(storageKey, JSON.stringify(next));
  else localStorage.removeItem(storageKey);
  for (const l of listeners) l();
}

/** Calls `listener` whenever the credential changes. */
export function onCredentialChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Seconds until a JWT expires (Infinity for API keys or unreadable tokens). */
function secondsLeft(token: string): number {
  const part = token.split('.')[1];
  if (!part) return Infinity;
  try {
    const claims = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
    return claims.exp === undefined ? Infinity : claims.exp - Date.now() / 1000;
  } catch {
    return Infinity;
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { detail?: unknown; code?: unknown };
    return new ApiError(
      res.status,
      typeof body.code === 'string' ? body.code : `HTTP_${res.status}`,
      typeof body.detail === 'string' ? body.detail : text,
    );
  } catch {
    return new ApiError(res.status, `HTTP_${res.status}`, text || res.statusText);
  }
}

/** Trades the refresh token for a new pair; one refresh at a time. */
async function refresh(): Promise<void> {
  refreshing ??= (async () => {
    const c = credential;
    if (c?.kind !== 'account' || !c.refresh)
      throw new ApiError(401, 'FERRY_ERR_UNAUTHENTICATED', 'Signed out');
    const res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: c.refresh }),
    });
    if (!res.ok) {
      setCredential(undefined);
      throw await errorOf(res);
    }
    const pair = (await res.json()) as { access_token: string; refresh_token: string };
    setCredential({ kind: 'account', access: pair.access_token, refresh: pair.refresh_token });
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/** The access token, refreshed first when it is about to expire (for the live channel too). */
export async function freshToken(): Promise<string> {
  const c = credential;
  if (!c) return '';
  if (c.kind === 'account' && secondsLeft(c.access) < 30) await refresh();
  return credential?.access ?? '';
}

async function send(path: string, init: RequestInit): Promise<Response> {
  const token = await freshToken();
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  let res = await fetch(path, { ...init, headers });
  if (res.status === 401 && credential?.kind === 'account') {
    await refresh();
    headers.set('authorization', `Bearer ${credential.access}`);
    res = await fetch(path, { ...init, headers });
  }
  return res;
}

/** A JSON request; throws ApiError with the server's detail and code on an error answer. */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<T> {
  const res = await send(path, {
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Downloads an authenticated file under `name` (the browser's save dialog or download bar). */
export async function download(path: string, name: string): Promise<void> {
  const res = await send(path, { method: 'GET' });
  if (!res.ok) throw await errorOf(res);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 60_000);
}

/** Signs in with a username or email and password. */
export async function signIn(login: string, password: string): Promise<void> {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      login.includes('@') ? { email: login, password } : { username: login, password },
    ),
  });
  if (!res.ok) throw await errorOf(res);
  const pair = (await res.json()) as { access_token: string; refresh_token: string };
  setCredential({ kind: 'account', access: pair.access_token, refresh: pair.refresh_token });
}

/** Signs in with an API key (checked with one request before it is kept). */
export async function signInWithKey(key: string): Promise<void> {
  const res = await fetch('/api/v1/whoami', { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw await errorOf(res);
  setCredential({ kind: 'key', access: key });
}

/** Signs out: the server revokes the refresh family; the browser forgets the credential. */
export async function signOut(): Promise<void> {
  const c = credential;
  if (c?.kind === 'account') {
    await api('/api/v1/auth/logout', { method: 'POST', body: { refresh_token: c.refresh } }).catch(
      () => undefined,
    );
  }
  setCredential(undefined);
}
