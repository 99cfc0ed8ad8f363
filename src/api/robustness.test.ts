/**
 * Bad input never gets a 500, every error has Ferry's `{detail, code}` shape, and no answer names
 * a host path: first the attack run's reproductions one by one (issue 10), then a bounded fuzz
 * run that draws malformed params, queries and bodies from each route's own OpenAPI schema.
 * Replay a fuzz failure with FERRY_FUZZ_SEED=<seed printed in the failure>.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds, tempDir, testEnv, type TestEnv } from '../../test/helpers/stores.ts';
import { makeFerry, type Ferry } from '../app/index.ts';
import { hardMaxDepth } from '../db/index.ts';
import {
  operationsOf,
  requestFor,
  type FuzzRequest,
  type Operation,
} from '../../test/helpers/fuzz-requests.ts';

/** Random draws over all operations, after `perOperation` draws for each one. */
const fuzzRuns = 150;
const perOperation = 8;

describe.each(storeKinds)('robustness on %s', (kind) => {
  let env: TestEnv;
  let ferry: Ferry;
  let app: FastifyInstance;
  let headers: Record<string, string>;
  const volume = tempDir('ferry-vol-');
  const outside = tempDir('ferry-outside-');

  beforeAll(async () => {
    mkdirSync(path.join(volume.dir, 'in'));
    symlinkSync(outside.dir, path.join(volume.dir, 'link'));
    env = await testEnv(kind, { FERRY_VOLUMES: volume.dir });
    ferry = makeFerry(env.config);
    const info = await ferry.start();
    if (!ferry.http) throw new Error('no http');
    app = ferry.http;
    headers = { authorization: `Bearer ${info.bootstrapKey ?? ''}` };
  });
  afterAll(async () => {
    await ferry.stop();
    await env.cleanup();
    volume.remove();
    outside.remove();
  });

  /** Host paths no answer may contain (volumes are listed to users on purpose: not these). */
  const secrets = () => [process.cwd(), env.dataDir, outside.dir, '/node_modules/'];

  function expectFerryError(res: LightMyRequestResponse, status: number, code?: string): void {
    const what = `${res.statusCode} ${res.body.slice(0, 300)}`;
    expect(res.statusCode, what).toBe(status);
    const body = res.json<{ detail: unknown; code: unknown }>();
    expect(typeof body.detail, what).toBe('string');
    expect(body.code, what).toBe(code ?? body.code);
    expect(String(body.code)).toMatch(/^FERRY_ERR_/);
  }
  const get = (url: string) => app.inject({ method: 'GET', url, headers });
  const send = (method: 'POST' | 'DELETE', url: string, payload?: string | object) =>
    app.inject({
      method,
      url,
      headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { payload }),
    });

  it('answers 404 to an id that is not a safe int4, 422 to such a query value', async () => {
    for (const id of ['Infinity', '-Infinity', '1e400', '1e30', '2147483648', '0', 'abc']) {
      expectFerryError(await get(`/api/v1/transfers/${id}`), 404, 'FERRY_ERR_NO_SUCH_OBJECT');
      expectFerryError(await get(`/api/v1/events/${id}`), 404, 'FERRY_ERR_NO_SUCH_OBJECT');
    }
    const revoke = await send('DELETE', '/api/v1/api-keys/2147483648');
    expectFerryError(revoke, 404, 'FERRY_ERR_NO_SUCH_OBJECT');
    for (const query of ['limit=Infinity', 'limit=-Infinity', 'offset=1e400', 'offset=1e19']) {
      expectFerryError(await get(`/api/v1/transfers?${query}`), 422, 'FERRY_ERR_VALIDATION');
      expectFerryError(await get(`/api/v1/events?${query}`), 422, 'FERRY_ERR_VALIDATION');
    }
  });

  it('refuses NUL and lone surrogates in stored text with 422', async () => {
    const bad = ['a\u0000b', 'a\ud800b'];
    for (const text of bad) {
      const login = await send('POST', '/api/auth/login', { username: text, password: 'x' });
      expectFerryError(login, 422);
      const register = await send('POST', '/api/auth/register', {
        email: 'n@example.test',
        password: 'correct horse 1',
        full_name: text,
      });
      expectFerryError(register, 422);
      expectFerryError(await send('POST', '/api/v1/api-keys', { name: text, role: 'admin' }), 422);
      const base = { source_path: path.join(volume.dir, 'in'), destination_path: volume.dir };
      for (const field of ['include', 'exclude', 'temp_patterns']) {
        const res = await send('POST', '/api/v1/transfers', { ...base, [field]: [text] });
        expectFerryError(res, 422);
      }
      const named = await send('POST', '/api/v1/transfers', { ...base, target_name: text });
      expectFerryError(named, 422);
    }
  });

  it('bounds event nesting: 10 is processed, past it a processing_error, past 1,000 a 422', async () => {
    const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    const event = (levels: number) =>
      `{"event_name":"deep","event_type":"t","payload":${nested(levels)}}`;
    expectFerryError(await send('POST', '/api/v1/events', event(10_000)), 422);
    for (const levels of [hardMaxDepth + 1, 10_000]) {
      const batch = `{"events":[${event(2)},${event(levels)}]}`;
      expectFerryError(await send('POST', '/api/v1/events/batch', batch), 422);
    }

    const processed = ferry.bus.next('event:processed');
    const accepted = await send('POST', '/api/v1/events', event(hardMaxDepth));
    expect(accepted.statusCode, accepted.body).toBe(202);
    const done = await processed;
    expect(done.ok).toBe(false);
    const row = await get(
      `/api/v1/events/${String(accepted.json<{ event_id: number }>().event_id)}`,
    );
    expect(row.json<{ processing_error: string }>().processing_error).toMatch(/nesting depth/);
  });

  it('gives framework refusals and the live endpoint Ferry’s error shape', async () => {
    expectFerryError(await get('/api/v1/transfers/%ED%A0%80'), 400, 'FERRY_ERR_BAD_REQUEST');
    // A path parameter over 100 characters: 414 (find-my-way's maxParamLength), in Ferry's shape.
    const long = await get(`/api/v1/transfers/${'1'.repeat(150)}`);
    expectFerryError(long, 414, 'FERRY_ERR_URI_TOO_LONG');
    expectFerryError(await get('/api/v1/live'), 426, 'FERRY_ERR_LIVE_UPGRADE_REQUIRED');
  });

  it('says which volume rule failed, never where a path resolves', async () => {
    const cases = [path.join(volume.dir, 'link', 'x'), '/proc/self/cwd/x', outside.dir];
    for (const source of cases) {
      const res = await send('POST', '/api/v1/transfers', {
        source_path: source,
        destination_path: volume.dir,
      });
      expectFerryError(res, 400, 'FERRY_ERR_PATH_OUTSIDE_VOLUMES');
      for (const secret of [process.cwd(), outside.dir]) expect(res.body).not.toContain(secret);
    }
  });

  it('documents paging values with a default as optional', async () => {
    const spec = (await get('/openapi.json')).json<{
      paths: Record<string, { get: { parameters: { name: string; required?: boolean }[] } }>;
    }>();
    const params = spec.paths['/api/v1/transfers']?.get.parameters ?? [];
    expect(params.find((p) => p.name === 'limit')).toMatchObject({ required: false });
  });

  it('refuses bad input to the jobs and dashboard routes with 4xx, never 500', async () => {
    for (const query of ['offset=1e19', 'status=a%00b', 'label=a%00b', 'limit=Infinity']) {
      expectFerryError(await get(`/api/v1/jobs?${query}`), 422, 'FERRY_ERR_VALIDATION');
    }
    for (const url of [
      '/api/v1/audit?q=a%00b',
      '/api/v1/audit?file=a%00b',
      '/api/v1/users?q=a%00b',
    ]) {
      expectFerryError(await get(url), 422, 'FERRY_ERR_VALIDATION');
    }
    expectFerryError(await get('/api/v1/jobs/Infinity'), 404, 'FERRY_ERR_NO_SUCH_OBJECT');
    // Paths a node of this zone reaches, so only the spec's own content can refuse it.
    const spec = { source_path: path.join(volume.dir, 'in'), destination_path: volume.dir };
    const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    const bodies = [
      { kind: 'transfer', spec: { ...spec, note: 'a\u0000b' } },
      { kind: 'transfer', spec, labels: { 'a\ud800': 'b' } },
      { kind: 'transfer', spec, idempotency_key: 'k\u0000' },
      `{"kind":"transfer","spec":${JSON.stringify(spec).slice(0, -1)},"deep":${nested(2000)}}}`,
      { kind: 'transfer', spec, timeout_seconds: 0 },
      `{"kind":"transfer","spec":${JSON.stringify(spec)},"timeout_seconds":1e400}`,
      { kind: 'pipeline_run', spec: { pipeline: '../../etc/passwd' } },
      { kind: 'pipeline_run', spec: { pipeline: ['main'] } },
      { kind: 'event_batch', spec: { events: 'all' } },
      { kind: 'event_batch', spec: { events: [{ event_name: 'a\u0000', event_type: 't' }] } },
      {
        kind: 'event_batch',
        spec: {
          events: Array.from({ length: 1001 }, () => ({ event_name: 'a', event_type: 't' })),
        },
      },
      {
        kind: 'event_batch',
        spec: { events: [{ event_name: 'a', event_type: 't', payload: [] }] },
      },
    ];
    for (const body of bodies) expectFerryError(await send('POST', '/api/v1/jobs', body), 422);
  });

  /** Asserts one fuzz answer: no 5xx, no host path or stack trace, `{detail, code}` on errors. */
  async function fuzzCheck(request: FuzzRequest, needles: readonly string[]): Promise<void> {
    const res = await app.inject({ ...request, headers: { ...headers, ...request.headers } });
    const what = `${request.method} ${request.url} → ${String(res.statusCode)} ${res.body.slice(0, 300)}`;
    if (res.statusCode >= 500) throw new Error(`5xx: ${what}`);
    // The admin's view of the effective configuration shows data_dir by design.
    const showsConfig = res.statusCode < 400 && request.url.startsWith('/api/v1/config');
    for (const needle of showsConfig ? [] : needles) {
      if (res.body.includes(needle)) throw new Error(`names ${needle}: ${what}`);
    }
    if (/\n\s+at /.test(res.body)) throw new Error(`stack trace: ${what}`);
    if (res.statusCode < 400) return;
    const body = res.json<{ detail?: unknown; code?: unknown }>();
    if (typeof body.detail !== 'string' || !/^FERRY_ERR_/.test(String(body.code))) {
      throw new Error(`not {detail, code}: ${what}`);
    }
  }

  it(`fuzz: ${String(perOperation)} malformed requests per operation of /openapi.json, then ${String(fuzzRuns)} at random`, async () => {
    const spec = (await get('/openapi.json')).json<Record<string, unknown>>();
    const operations: Operation[] = operationsOf(spec);
    const paths = new Set(operations.map((op) => op.path));
    // The routes issue 10 added to the matrix are fuzzed too: jobs, cluster, dashboard.
    for (const route of [
      '/api/v1/jobs',
      '/api/v1/jobs/{id}/wait',
      '/api/v1/cluster/nodes',
      '/api/v1/audit',
    ]) {
      expect(paths, route).toContain(route);
    }
    const needles = secrets();
    const seed = Number(process.env.FERRY_FUZZ_SEED ?? Date.now() % 2 ** 31);
    const check = (request: FuzzRequest) => fuzzCheck(request, needles);
    try {
      for (const op of operations) {
        const property = fc.asyncProperty(requestFor(op, needles), check);
        await fc.assert(property, { numRuns: perOperation, seed, endOnFailure: true });
      }
      const anyOp = fc.constantFrom(...operations).chain((op) => requestFor(op, needles));
      await fc.assert(fc.asyncProperty(anyOp, check), {
        numRuns: fuzzRuns,
        seed,
        endOnFailure: true,
      });
    } catch (error) {
      throw new Error(`fuzz failed; replay with FERRY_FUZZ_SEED=${String(seed)}\n${String(error)}`);
    }
  });
});
