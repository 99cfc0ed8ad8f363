import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds, testEnv, type TestEnv } from '../../../test/helpers/stores.ts';
import { makeFerry, type Ferry } from '../../app/index.ts';

describe.each(storeKinds)('accounts API on %s', (kind) => {
  let env: TestEnv;
  let ferry: Ferry;
  let app: FastifyInstance;
  let clock = new Date('2026-01-01T00:00:00Z');

  beforeAll(async () => {
    env = await testEnv(kind, {
      FERRY_AUTH_LOGIN_ATTEMPTS_PER_ACCOUNT: '3',
      FERRY_AUTH_JWT_SECRET: 'test-secret-0123456789',
    });
    ferry = makeFerry(env.config, { now: () => clock });
    await ferry.start();
    if (!ferry.http) throw new Error('no http');
    app = ferry.http;
  });
  afterAll(async () => {
    await ferry.stop();
    await env.cleanup();
  });

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, payload, headers });
  const me = (token: string, prefix = '/api/auth') =>
    app.inject({
      method: 'GET',
      url: `${prefix}/me`,
      headers: { authorization: `Bearer ${token}` },
    });

  async function registerAndLogin(email: string, password = 'correct horse 1') {
    expect((await post('/api/auth/register', { email, password })).statusCode).toBe(201);
    const res = await post('/api/auth/login', { email, password });
    expect(res.statusCode).toBe(200);
    return res.json<{ access_token: string; refresh_token: string }>();
  }

  it('registers a user (201) with the username taken from the email', async () => {
    const res = await post('/api/auth/register', {
      email: 'ada@example.com',
      password: 'analytical1',
      full_name: 'Ada',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      id: expect.any(Number),
      email: 'ada@example.com',
      username: 'ada',
      full_name: 'Ada',
      is_active: true,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('refuses a duplicate email or username with 400, a weak password or bad email with 422', async () => {
    const dupEmail = await post('/api/auth/register', {
      email: 'ADA@example.com',
      password: 'analytical1',
    });
    expect(dupEmail.statusCode).toBe(400);
    expect(dupEmail.json()).toEqual({
      detail: 'Email already registered',
      code: 'FERRY_ERR_EMAIL_TAKEN',
      retryable: false,
    });
    const dupName = await post('/api/auth/register', {
      email: 'other@example.com',
      password: 'analytical1',
      username: 'ada',
    });
    expect(dupName.statusCode).toBe(400);
    expect(dupName.json()).toMatchObject({ code: 'FERRY_ERR_USERNAME_TAKEN' });
    const weak = await post('/api/auth/register', { email: 'weak@example.com', password: 'short' });
    expect(weak.statusCode).toBe(422);
    expect(weak.json()).toMatchObject({
      code: 'FERRY_ERR_PASSWORD_POLICY',
      detail: 'Password must be at least 8 characters',
    });
    const badEmail = await post('/api/auth/register', {
      email: 'not-an-email',
      password: 'analytical1',
    });
    expect(badEmail.statusCode).toBe(422);
    expect(badEmail.json()).toMatchObject({
      code: 'FERRY_ERR_VALIDATION',
      errors: [{ field: 'body.email' }],
    });
  });

  it('derives a distinct username when the email local part is taken', async () => {
    const res = await post('/api/auth/register', {
      email: 'ada@elsewhere.example',
      password: 'analytical1',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json<{ username: string }>().username).toMatch(/^ada_[0-9a-f]{6}$/);
  });

  it('logs in by username or email with the bearer token response', async () => {
    for (const body of [
      { username: 'ada', password: 'analytical1' },
      { email: 'ada@example.com', password: 'analytical1' },
    ]) {
      const res = await post('/api/auth/login', body);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        access_token: expect.any(String),
        refresh_token: expect.stringMatching(/^frt_/),
        token_type: 'bearer',
        expires_in: 900,
      });
    }
    const missing = await post('/api/auth/login', { password: 'analytical1' });
    expect(missing.statusCode).toBe(422);
  });

  it('answers a wrong password and an unknown user with the same 401', async () => {
    const wrong = await post('/api/auth/login', { username: 'ada', password: 'wrong-pass1' });
    const unknown = await post('/api/auth/login', { username: 'nobody', password: 'wrong-pass1' });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json()).toEqual({
      detail: 'Incorrect username or password',
      code: 'FERRY_ERR_INVALID_CREDENTIALS',
      retryable: false,
    });
  });

  it('rate-limits failed logins per account with 429 and Retry-After', async () => {
    await post('/api/auth/register', { email: 'target@example.com', password: 'analytical1' });
    // Failures count per account, whichever name the guesses use.
    const names = [{ username: 'target' }, { email: 'target@example.com' }, { username: 'TARGET' }];
    for (const name of names) {
      expect((await post('/api/auth/login', { ...name, password: 'bad-guess1' })).statusCode).toBe(
        401,
      );
    }
    const limited = await post('/api/auth/login', { username: 'target', password: 'analytical1' });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ code: 'FERRY_ERR_RATE_LIMITED' });
    clock = new Date(clock.getTime() + 901_000); // the window passes
    expect(
      (await post('/api/auth/login', { username: 'target', password: 'analytical1' })).statusCode,
    ).toBe(200);
  });

  it('refuses an inactive user with 403', async () => {
    await post('/api/auth/register', { email: 'gone@example.com', password: 'analytical1' });
    await ferry.store.db.query(`UPDATE ferry.users SET is_active = false WHERE username = 'gone'`);
    const res = await post('/api/auth/login', { username: 'gone', password: 'analytical1' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      detail: 'Inactive user',
      code: 'FERRY_ERR_ACCOUNT_INACTIVE',
      retryable: false,
    });
  });

  it('serves /me with the access token, under both prefixes', async () => {
    const { access_token } = await registerAndLogin('grace@example.com');
    for (const prefix of ['/api/auth', '/api/v1/auth']) {
      const res = await me(access_token, prefix);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ email: 'grace@example.com', username: 'grace' });
    }
  });

  it('refuses missing, malformed, tampered, alg:none and expired tokens with 401', async () => {
    const { access_token } = await registerAndLogin('linus@example.com');
    expect((await app.inject({ method: 'GET', url: '/api/auth/me' })).statusCode).toBe(401);
    expect((await me('not.a.jwt')).statusCode).toBe(401);
    const [header = '', payload = '', signature = ''] = access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    expect((await me(`${header}.${forged}.${signature}`)).statusCode).toBe(401);
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect((await me(`${none}.${payload}.`)).statusCode).toBe(401);
    // Signed with the right secret but another algorithm family member: still refused.
    const hs512 = Buffer.from(JSON.stringify({ alg: 'HS512', typ: 'JWT' })).toString('base64url');
    const sig512 = createHmac('sha512', 'test-secret-0123456789')
      .update(`${hs512}.${payload}`)
      .digest('base64url');
    expect((await me(`${hs512}.${payload}.${sig512}`)).statusCode).toBe(401);
    expect((await me(access_token)).statusCode).toBe(200);
    const saved = clock;
    clock = new Date(clock.getTime() + 901_000);
    const expired = await me(access_token);
    clock = saved;
    expect(expired.statusCode).toBe(401);
    expect(expired.json()).toMatchObject({ code: 'FERRY_ERR_UNAUTHENTICATED' });
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const first = await registerAndLogin('rot@example.com');
    const rotated = await post('/api/auth/refresh', { refresh_token: first.refresh_token });
    expect(rotated.statusCode).toBe(200);
    const second = rotated.json<{ access_token: string; refresh_token: string }>();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await me(second.access_token)).statusCode).toBe(200);

    const replay = await post('/api/v1/auth/refresh', { refresh_token: first.refresh_token });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({
      code: 'FERRY_ERR_REFRESH_INVALID',
      detail: 'Invalid refresh token (reused)',
    });
    // The thief's and the owner's current tokens both die with the family.
    expect(
      (await post('/api/auth/refresh', { refresh_token: second.refresh_token })).statusCode,
    ).toBe(401);
    expect((await me(second.access_token)).statusCode).toBe(401);
    expect((await post('/api/auth/refresh', { refresh_token: 'frt_unknown' })).statusCode).toBe(
      401,
    );
  });

  it('logout ends the login: its access and refresh tokens stop working', async () => {
    const tokens = await registerAndLogin('bye@example.com');
    const other = await post('/api/auth/login', {
      email: 'bye@example.com',
      password: 'correct horse 1',
    });
    const res = await post(
      '/api/auth/logout',
      { refresh_token: tokens.refresh_token },
      { authorization: `Bearer ${tokens.access_token}` },
    );
    expect(res.statusCode).toBe(200);
    expect((await me(tokens.access_token)).statusCode).toBe(401);
    expect(
      (await post('/api/auth/refresh', { refresh_token: tokens.refresh_token })).statusCode,
    ).toBe(401);
    // Without a body, logout ends the login the access token belongs to.
    const third = await post('/api/auth/login', {
      email: 'bye@example.com',
      password: 'correct horse 1',
    });
    const thirdToken = third.json<{ access_token: string }>().access_token;
    const bare = await app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { authorization: `Bearer ${thirdToken}` },
    });
    expect(bare.statusCode).toBe(200);
    expect((await me(thirdToken)).statusCode).toBe(401);
    // Another login of the same user is a separate family and survives.
    expect((await me(other.json<{ access_token: string }>().access_token)).statusCode).toBe(200);
  });

  it('manages API keys: shown once, owned, revocable; users cannot mint admin keys', async () => {
    const alice = await registerAndLogin('alice@example.com');
    const bob = await registerAndLogin('bob@example.com');
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    const created = await post('/api/v1/api-keys', { name: 'ci' }, auth(alice.access_token));
    expect(created.statusCode).toBe(201);
    const key = created.json<{ id: number; key: string; role: string }>();
    expect(key).toMatchObject({ key: expect.stringMatching(/^fry_/), role: 'user' });
    expect((await me(key.key)).json()).toMatchObject({ email: 'alice@example.com' });

    const listed = await app.inject({
      method: 'GET',
      url: '/api/v1/api-keys',
      headers: auth(alice.access_token),
    });
    expect(JSON.stringify(listed.json())).not.toContain(key.key);
    expect(listed.json<{ id: number }[]>().map((k) => k.id)).toEqual([key.id]);
    const bobList = await app.inject({
      method: 'GET',
      url: '/api/v1/api-keys',
      headers: auth(bob.access_token),
    });
    expect(bobList.json()).toEqual([]);

    expect(
      (await post('/api/v1/api-keys', { name: 'x', role: 'admin' }, auth(alice.access_token)))
        .statusCode,
    ).toBe(403);
    const steal = await app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${key.id}`,
      headers: auth(bob.access_token),
    });
    expect(steal.statusCode).toBe(403);
    const missing = await app.inject({
      method: 'DELETE',
      url: '/api/v1/api-keys/999999',
      headers: auth(alice.access_token),
    });
    expect(missing.statusCode).toBe(404);
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/api/v1/api-keys/${key.id}`,
      headers: auth(alice.access_token),
    });
    expect(revoke.statusCode).toBe(204);
    expect((await me(key.key)).statusCode).toBe(401);
  });

  it('keeps users away from admin routes', async () => {
    const { access_token } = await registerAndLogin('plain@example.com');
    const res = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(res.statusCode).toBe(403);
  });
});
