/** The HTTP conventions every capability inherits, tested in-process with inject(). */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds, testEnv, type TestEnv } from '../../test/helpers/stores.ts';
import { makeFerry, type Ferry } from '../app/index.ts';
import { FerryError } from '../errors/index.ts';
import type { RouteModule } from './server.ts';
import { makeUserKey } from '../../test/helpers/principals.ts';

/** Routes that exist only in this test, to exercise validation and error mapping. */
const probeRoutes: RouteModule = (app) => {
  app.post(
    '/api/v1/probe',
    {
      config: { access: 'user' },
      schema: {
        body: Type.Object(
          { name: Type.String({ minLength: 1 }), count: Type.Integer({ minimum: 0 }) },
          { additionalProperties: false },
        ),
      },
    },
    (request) => ({ ok: true, principal: request.principal?.kind }),
  );
  app.get('/api/v1/probe/admin', { config: { access: 'admin' } }, () => ({ ok: true }));
  app.get('/api/v1/probe/undeclared', () => ({ ok: true }));
  app.get('/api/v1/probe/store-down', { config: { access: 'public' } }, () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  });
  app.get('/api/v1/probe/bug', { config: { access: 'public' } }, () => {
    throw new Error('secret internal detail');
  });
  app.get('/api/v1/probe/conflict', { config: { access: 'public' } }, () => {
    throw new FerryError('FERRY_ERR_LEASE_LOST', {
      lease: 'x',
      holder: 'y',
      currentToken: 2,
      token: 1,
    });
  });
};

describe.each(storeKinds)('HTTP conventions on %s', (kind) => {
  let env: TestEnv;
  let ferry: Ferry;
  let app: FastifyInstance;
  let adminKey: string;
  let userKey: string;

  beforeAll(async () => {
    env = await testEnv(kind, { FERRY_HTTP_BODY_LIMIT_BYTES: '2048' });
    ferry = makeFerry(env.config, { routes: [probeRoutes] });
    const info = await ferry.start();
    adminKey = info.bootstrapKey ?? '';
    userKey = (await makeUserKey(ferry.store.db)).key;
    if (!ferry.http) throw new Error('no http');
    app = ferry.http;
  });
  afterAll(async () => {
    await ferry.stop();
    await env.cleanup();
  });

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers });

  it('answers /health without credentials', async () => {
    const res = await get('/health');
    expect(res.statusCode).toBe(200);
    expect(res.json<unknown>()).toEqual({
      status: 'healthy',
      service: 'ferry',
      version: expect.any(String),
      store: kind,
    });
  });

  it('serves OpenAPI at /openapi.json and the UI at /docs, publicly', async () => {
    const spec = await get('/openapi.json');
    expect(spec.statusCode).toBe(200);
    expect(spec.json<unknown>()).toMatchObject({
      openapi: expect.stringMatching(/^3\./),
      paths: { '/health': {} },
    });
    const docs = await get('/docs');
    expect(docs.statusCode).toBeLessThan(400);
  });

  it('prints the bootstrap key once: a restart does not make another', async () => {
    expect(adminKey).toMatch(/^fry_/);
    const { rows } = await ferry.store.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ferry.api_keys WHERE role = 'admin'`,
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('denies by default: no credentials → 401, unknown key → 401, user on admin route → 403', async () => {
    const none = await get('/api/v1/status');
    expect(none.statusCode).toBe(401);
    expect(none.json<unknown>()).toMatchObject({
      code: 'FERRY_ERR_UNAUTHENTICATED',
      detail: expect.any(String),
      retryable: false,
    });
    const bad = await get('/api/v1/status', auth('fry_nope'));
    expect(bad.statusCode).toBe(401);
    const forbidden = await get('/api/v1/probe/admin', auth(userKey));
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json<unknown>()).toMatchObject({ code: 'FERRY_ERR_FORBIDDEN' });
    const undeclared = await get('/api/v1/probe/undeclared', auth(userKey));
    expect(undeclared.statusCode).toBe(403);
    const asAdmin = await get('/api/v1/probe/undeclared', auth(adminKey));
    expect(asAdmin.statusCode).toBe(200);
  });

  it('accepts X-API-Key as well as a bearer token', async () => {
    const res = await get('/api/v1/probe/admin', { 'x-api-key': adminKey });
    expect(res.statusCode).toBe(200);
  });

  it('reports store, queues, workers and uptime at /api/v1/status', async () => {
    const res = await get('/api/v1/status', auth(userKey));
    expect(res.statusCode).toBe(200);
    expect(res.json<unknown>()).toMatchObject({
      service: 'ferry',
      store: kind,
      role: 'all',
      uptime_seconds: expect.any(Number),
      workers: {
        running: true,
        job_names: expect.arrayContaining(['events.process', 'events.sweep', 'transfers.run']),
      },
      queues: expect.arrayContaining([
        expect.objectContaining({ name: 'events.process', queued: 0 }),
      ]),
    });
  });

  it('answers schema violations with 422 naming every offending field', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      headers: auth(userKey),
      payload: { name: '', count: -1, extra: true },
    });
    expect(res.statusCode).toBe(422);
    const body = res.json<{ code: string; detail: string; errors: { field: string }[] }>();
    expect(body.code).toBe('FERRY_ERR_VALIDATION');
    expect(body.errors.map((e) => e.field).sort()).toEqual([
      'body.count',
      'body.extra',
      'body.name',
    ]);
  });

  it('answers malformed JSON with 400, an oversize body with 413, a wrong media type with 415', async () => {
    const headers = { ...auth(userKey), 'content-type': 'application/json' };
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      headers,
      payload: '{"name":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json<unknown>()).toMatchObject({ code: 'FERRY_ERR_MALFORMED_JSON' });
    const big = await app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      headers,
      payload: JSON.stringify({ name: 'x'.repeat(4096), count: 1 }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json<unknown>()).toMatchObject({ code: 'FERRY_ERR_PAYLOAD_TOO_LARGE' });
    const text = await app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      headers: { ...auth(userKey), 'content-type': 'text/csv' },
      payload: 'a,b',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json<unknown>()).toMatchObject({ code: 'FERRY_ERR_UNSUPPORTED_MEDIA_TYPE' });
  });

  it('answers 404 in the error shape for unknown routes', async () => {
    const res = await get('/api/v1/nothing-here?x=1');
    expect(res.statusCode).toBe(404);
    expect(res.json<unknown>()).toEqual({
      detail: 'Route GET /api/v1/nothing-here not found',
      code: 'FERRY_ERR_NOT_FOUND',
      retryable: false,
    });
  });

  it('answers 503 with Retry-After when the store is unreachable, never 500', async () => {
    const res = await get('/api/v1/probe/store-down');
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json<unknown>()).toMatchObject({ code: 'FERRY_ERR_STORE_UNAVAILABLE' });
  });

  it('hides internal errors behind the request id', async () => {
    const res = await get('/api/v1/probe/bug', { 'x-request-id': 'req-42' });
    expect(res.statusCode).toBe(500);
    expect(res.headers['x-request-id']).toBe('req-42');
    expect(res.body).not.toContain('secret internal detail');
    expect(res.json<unknown>()).toMatchObject({
      code: 'FERRY_ERR_INTERNAL',
      detail: expect.stringContaining('req-42'),
    });
  });

  it('maps registered domain errors to their status', async () => {
    const res = await get('/api/v1/probe/conflict');
    expect(res.statusCode).toBe(409);
    expect(res.json<unknown>()).toMatchObject({ code: 'FERRY_ERR_LEASE_LOST' });
  });

  it('exposes Prometheus metrics to admins', async () => {
    expect((await get('/metrics', auth(userKey))).statusCode).toBe(403);
    const res = await get('/metrics', auth(adminKey));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('ferry_http_request_duration_seconds_bucket');
    expect(res.body).toContain('ferry_process_');
  });
});

describe('anonymous access', () => {
  const kind = storeKinds[0] ?? 'pglite';

  it('is admin for loopback clients only when auth.anonymous=loopback', async () => {
    const env = await testEnv(kind, { FERRY_AUTH_ANONYMOUS: 'loopback' });
    const ferry = makeFerry(env.config);
    try {
      await ferry.start();
      const app = ferry.http;
      if (!app) throw new Error('no http');
      const local = await app.inject({
        method: 'GET',
        url: '/api/v1/status',
        remoteAddress: '127.0.0.1',
      });
      expect(local.statusCode).toBe(200);
      const remote = await app.inject({
        method: 'GET',
        url: '/api/v1/status',
        remoteAddress: '10.1.2.3',
      });
      expect(remote.statusCode).toBe(401);
    } finally {
      await ferry.stop();
      await env.cleanup();
    }
  });
});
