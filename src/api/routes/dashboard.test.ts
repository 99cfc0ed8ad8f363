import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds, tempDir, testEnv, type TestEnv } from '../../../test/helpers/stores.ts';
import { signedIn } from '../../../test/helpers/principals.ts';
import { makeFerry, type Ferry } from '../../app/index.ts';

describe.each(storeKinds)('dashboard routes on %s', (kind) => {
  let env: TestEnv;
  let ferry: Ferry;
  let app: FastifyInstance;
  let admin: Record<string, string>;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  const volume = tempDir('ferry-dash-volume-');
  const outside = tempDir('ferry-dash-outside-');

  const get = (url: string, headers: Record<string, string>) =>
    app.inject({ method: 'GET', url, headers });

  beforeAll(async () => {
    mkdirSync(path.join(volume.dir, 'in', 'sub'), { recursive: true });
    writeFileSync(path.join(volume.dir, 'in', 'a.txt'), 'a');
    symlinkSync(outside.dir, path.join(volume.dir, 'escape'));
    env = await testEnv(kind, {
      FERRY_VOLUMES: volume.dir,
    });
    ferry = makeFerry(env.config);
    const info = await ferry.start();
    if (!ferry.http || !info.bootstrapKey) throw new Error('no http or key');
    app = ferry.http;
    admin = { authorization: `Bearer ${info.bootstrapKey}` };
    alice = await signedIn(app, 'alice@example.com', 'analytical1');
    bob = await signedIn(app, 'bob@example.com', 'analytical1');
  });
  afterAll(async () => {
    await ferry.stop();
    await env.cleanup();
    volume.remove();
    outside.remove();
  });

  it('serves the app at / and /ui/… without touching API 404s', async () => {
    const root = await app.inject({ method: 'GET', url: '/' });
    expect([200, 503]).toContain(root.statusCode);
    expect(root.headers['content-type']).toMatch(/text\/html/);
    expect(root.headers['content-security-policy']).toContain("default-src 'self'");
    const deep = await app.inject({ method: 'GET', url: '/ui/transfers/7' });
    expect(deep.body).toBe(root.body);
    const unknown = await app.inject({
      method: 'GET',
      url: '/api/v1/nothing-here',
      headers: admin,
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'FERRY_ERR_NOT_FOUND' });
    const traversal = await app.inject({ method: 'GET', url: '/assets/..%2f..%2fpackage.json' });
    expect(traversal.statusCode).toBeGreaterThanOrEqual(400);
    expect(traversal.body).not.toContain('"name": "ferry"');
  });

  it('users and config are for admins, with secrets masked', async () => {
    const users = await get('/api/v1/users?limit=1', admin);
    expect(users.statusCode).toBe(200);
    expect(users.json()).toMatchObject({ total: 2, items: [{ email: 'alice@example.com' }] });
    expect(users.body).not.toContain('password');
    expect((await get('/api/v1/users', alice)).json()).toMatchObject({
      code: 'FERRY_ERR_FORBIDDEN',
    });
    expect((await get('/api/v1/config', bob)).statusCode).toBe(403);
    const config = await get('/api/v1/config', admin);
    expect(config.statusCode).toBe(200);
    if (kind === 'postgres') expect(config.body).not.toMatch(/postgres:\/\/[^"]*:[^*"@]+@/);
    expect((await get('/api/v1/users?limit=0', admin)).json()).toMatchObject({
      code: 'FERRY_ERR_VALIDATION',
    });
    expect((await get('/api/v1/users', { authorization: 'Bearer fry_forged' })).statusCode).toBe(
      401,
    );
  });

  it('records account actions and shows each user only their own audit rows', async () => {
    await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'alice@example.com', password: 'wrong-one-1' },
    });
    const mine = await get('/api/v1/audit?q=sign-in', alice);
    expect(mine.statusCode).toBe(200);
    const items = mine.json<{ items: { action: string; outcome: string; actor: string }[] }>()
      .items;
    expect(items.map((i) => i.outcome).sort()).toEqual(['error', 'ok']);
    expect(items.every((i) => i.actor === 'alice@example.com')).toBe(true);
    expect(mine.body).not.toContain('analytical1');
    const theirs = await get('/api/v1/audit?q=sign-in', bob);
    expect(
      theirs
        .json<{ items: { actor: string }[] }>()
        .items.every((i) => i.actor === 'bob@example.com'),
    ).toBe(true);
    const all = await get('/api/v1/audit?outcome=error', admin);
    expect(all.json<{ total: number }>().total).toBeGreaterThanOrEqual(1);
    const csv = await get('/api/v1/audit?format=csv&q=sign-in', alice);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\r\n')[0]).toBe(
      'at,kind,user_id,actor,transfer_id,action,outcome,message',
    );
    expect((await get('/api/v1/audit?from=yesterday', alice)).json()).toMatchObject({
      code: 'FERRY_ERR_VALIDATION',
    });
    expect((await get('/api/v1/audit?outcome=maybe', alice)).statusCode).toBe(422);
    // Paging from the shared page schema: an offset past the column's type is bad input.
    for (const url of ['/api/v1/audit?offset=1e19', '/api/v1/users?limit=Infinity']) {
      expect((await get(url, admin)).statusCode, url).toBe(422);
    }
    expect((await get('/api/v1/audit?q=%25_', alice)).statusCode).toBe(200);
  });

  it('browses folders inside volumes only', async () => {
    const inside = await get(
      `/api/v1/volumes/folders?path=${encodeURIComponent(path.join(volume.dir, 'in'))}`,
      alice,
    );
    expect(inside.statusCode).toBe(200);
    expect(inside.json()).toMatchObject({
      parent: volume.dir,
      items: [
        { name: 'sub', kind: 'folder' },
        { name: 'a.txt', kind: 'file' },
      ],
    });
    const root = await get(`/api/v1/volumes/folders?path=${encodeURIComponent(volume.dir)}`, alice);
    expect(root.json()).toMatchObject({ parent: null });
    for (const bad of [
      '/etc',
      `${volume.dir}/../`,
      `${volume.dir}/escape`,
      'relative',
      `${volume.dir}/%2e%2e`,
    ]) {
      const res = await get(`/api/v1/volumes/folders?path=${encodeURIComponent(bad)}`, alice);
      expect(res.json()).toMatchObject({ code: 'FERRY_ERR_PATH_OUTSIDE_VOLUMES' });
    }
    const file = await get(
      `/api/v1/volumes/folders?path=${encodeURIComponent(path.join(volume.dir, 'in', 'a.txt'))}`,
      alice,
    );
    expect(file.json()).toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
    expect(file.body).not.toContain('ENOTDIR\n    at');
    expect((await get('/api/v1/volumes/folders', alice)).statusCode).toBe(422);
    expect(
      (await get(`/api/v1/volumes/folders?path=${encodeURIComponent(volume.dir)}`, {})).statusCode,
    ).toBe(401);
  });

  it('answers stored history per bucket, each user their own', async () => {
    const sent = await app.inject({
      method: 'POST',
      url: '/api/v1/events',
      payload: { event_name: 'e', event_type: 'track' },
      headers: alice,
    });
    expect(sent.statusCode).toBeLessThan(300);
    const mine = await get('/api/v1/history/events?window_seconds=600&bucket_seconds=60', alice);
    expect(mine.statusCode).toBe(200);
    const series = mine.json<{ series: Record<string, number[]> }>().series;
    expect(series.t?.length).toBe(series.accepted?.length);
    expect((series.accepted ?? []).reduce((a, b) => a + b, 0)).toBe(1);
    const bobs = await get('/api/v1/history/events?window_seconds=600&bucket_seconds=60', bob);
    expect(
      (bobs.json<{ series: Record<string, number[]> }>().series.accepted ?? []).reduce(
        (a, b) => a + b,
        0,
      ),
    ).toBe(0);
    expect(
      (await get('/api/v1/history/events?window_seconds=2678400&bucket_seconds=1', alice)).json(),
    ).toMatchObject({ code: 'FERRY_ERR_BAD_REQUEST' });
    expect((await get('/api/v1/history/transfers?bucket_seconds=-1', alice)).statusCode).toBe(422);
    expect((await get('/api/v1/history/transfers', alice)).statusCode).toBe(200);
    const stats = await get('/api/v1/stats/events', alice);
    expect(stats.json()).toMatchObject({ per_user: [{ accepted: 1 }] });
    expect((await get('/api/v1/stats/events', bob)).json()).toMatchObject({ per_user: [] });
  });

  it('counts files per transfer only for transfers the caller may see', async () => {
    const made = await app.inject({
      method: 'POST',
      url: '/api/v1/transfers',
      headers: alice,
      payload: {
        source_path: path.join(volume.dir, 'in'),
        destination_path: path.join(volume.dir, 'out'),
        watch_mode_enabled: true,
        watch_continuous: true,
      },
    });
    const id = made.json<{ id: number }>().id;
    const mine = await get(`/api/v1/stats/transfers?ids=${id}`, alice);
    expect(Object.keys(mine.json<Record<string, unknown>>())).toEqual([String(id)]);
    expect((await get(`/api/v1/stats/transfers?ids=${id}`, bob)).json()).toEqual({});
    expect(
      Object.keys((await get(`/api/v1/stats/transfers?ids=${id}`, admin)).json<object>()),
    ).toEqual([String(id)]);
    for (const bad of ['', '0', '1,,2', 'a', '-1', '99999999999', '1;drop']) {
      const res = await get(`/api/v1/stats/transfers?ids=${encodeURIComponent(bad)}`, alice);
      expect(res.json()).toMatchObject({ code: 'FERRY_ERR_VALIDATION' });
    }
  });

  it('says who a credential belongs to', async () => {
    expect((await get('/api/v1/whoami', admin)).json()).toMatchObject({
      kind: 'api_key',
      role: 'admin',
    });
    expect((await get('/api/v1/whoami', alice)).json()).toMatchObject({
      kind: 'user',
      role: 'user',
    });
  });
});
