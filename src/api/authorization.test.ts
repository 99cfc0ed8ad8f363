/**
 * The authorization matrix: every principal kind × every object route (transfers, events, API
 * keys, cluster jobs, the dashboard's figures). A principal may see and act on an object when it
 * is an admin (an admin key or account, or the anonymous loopback admin) or the object's owner;
 * anything else is 403 with the resource's code. Objects owned by nobody (made by an admin key)
 * are the admins' alone: the hole this closes let a user-role key without a user act on them.
 * Such a key (pre-0007) is refused everywhere with FERRY_ERR_NO_USER.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, loginAs, makeOwnerlessUserKey, makeUser } from '../../test/helpers/principals.ts';
import { insertTestJob } from '../../test/helpers/jobs.ts';
import { storeKinds, testEnv, type TestEnv } from '../../test/helpers/stores.ts';
import { makeFerry, type Ferry } from '../app/index.ts';
import { createApiKey, principalForApiKey, scopeOf, type Principal } from '../auth/index.ts';
import type { JobRow } from '../cluster/job-records.ts';
import type { ErrorCode } from '../errors/index.ts';
import { insertTransfer, log, type TransferRow } from '../transfers/records.ts';

type Who =
  | 'admin key'
  | 'admin (login)'
  | 'anonymous loopback'
  | 'user A (login)'
  | 'key of A'
  | 'key of B'
  | 'key without user';
type Owner = 'A' | 'nobody';
const admins: readonly Who[] = ['admin key', 'admin (login)', 'anonymous loopback'];
const everyone: readonly Who[] = [
  ...admins,
  'user A (login)',
  'key of A',
  'key of B',
  'key without user',
];

const transferRoutes: readonly [method: 'GET' | 'POST', suffix: string][] = [
  ['GET', ''],
  ['GET', '/watch-history'],
  ['GET', '/checksums'],
  ['GET', '/logs'],
  ['GET', '/report'],
  ['POST', '/cancel'],
  ['POST', '/pause-watch'],
  ['POST', '/resume-watch'],
];

/** Allowed, or the code a refusal must carry. */
function verdict(who: Who, owner: Owner, forbidden: ErrorCode): 'allowed' | ErrorCode {
  if (admins.includes(who)) return 'allowed';
  if (who === 'key without user') return 'FERRY_ERR_NO_USER';
  return owner === 'A' && who !== 'key of B' ? 'allowed' : forbidden;
}

/** Whether a list or figure shown to `who` includes objects of `owner`. */
const sees = (who: Who, owner: Owner) => verdict(who, owner, 'FERRY_ERR_FORBIDDEN') === 'allowed';

function expectVerdict(res: LightMyRequestResponse, expected: string, where: string): void {
  if (expected === 'allowed') {
    expect([401, 403, 404], `${where}: ${res.body.slice(0, 200)}`).not.toContain(res.statusCode);
    return;
  }
  expect(res.statusCode, where).toBe(403);
  expect(res.json<{ code: string }>().code, where).toBe(expected);
}

describe.each(storeKinds)('authorization matrix on %s', (kind) => {
  let env: TestEnv;
  let ferry: Ferry;
  let app: FastifyInstance;
  const headers = new Map<Who, Record<string, string>>();
  let userA = 0;
  let legacy: Awaited<ReturnType<typeof makeOwnerlessUserKey>>;
  const owned = new Map<Owner, TransferRow>();
  const ownerId = (owner: Owner) => (owner === 'A' ? userA : null);

  const send = (who: Who, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: headers.get(who) ?? {},
      ...(payload === undefined ? {} : { payload }),
    });

  async function transferOf(owner: number | null, status: TransferRow['status']) {
    return insertTransfer(ferry.store.db, {
      owner_user_id: owner,
      source_path: '/nowhere/in',
      destination_path: '/nowhere/out',
      source_root: null,
      destination_root: null,
      status,
      operation_mode: 'copy',
      watch_mode_enabled: false,
      watch_continuous: false,
      watch_job_id: null,
      settle_time_seconds: 0,
      options: {
        checksum_algorithm: 'sha256',
        conflict_policy: 'fail',
        include: [],
        exclude: [],
        temp_patterns: [],
        recursive: true,
        poll_interval_seconds: 1,
        on_new_version: 'transfer',
      },
      file_name: null,
      file_size: null,
    });
  }

  /** A queued job in a zone no node serves, so it stays queued until cancelled. */
  function jobOf(owner: Owner): Promise<JobRow> {
    return insertTestJob(ferry.store.db, {
      id: randomUUID(),
      zone: 'nowhere',
      ownerUserId: ownerId(owner),
    });
  }

  beforeAll(async () => {
    env = await testEnv(kind, { FERRY_AUTH_ANONYMOUS: 'loopback', FERRY_LOG_LEVEL: 'error' });
    ferry = makeFerry(env.config);
    const info = await ferry.start();
    if (!ferry.http) throw new Error('no http');
    app = ferry.http;
    const db = ferry.store.db;
    headers.set('admin key', bearer(info.bootstrapKey ?? ''));
    headers.set('admin (login)', bearer((await loginAs(app, db, 'admin')).token));
    headers.set('anonymous loopback', {});
    const a = await loginAs(app, db, 'user');
    userA = a.userId;
    headers.set('user A (login)', bearer(a.token));
    headers.set(
      'key of A',
      bearer((await createApiKey(db, { name: 'A', role: 'user', userId: userA })).key),
    );
    const userB = await makeUser(db);
    headers.set(
      'key of B',
      bearer((await createApiKey(db, { name: 'B', role: 'user', userId: userB.id })).key),
    );
    legacy = await makeOwnerlessUserKey(db);
    headers.set('key without user', bearer(legacy.key));
    owned.set('A', await transferOf(userA, 'completed'));
    owned.set('nobody', await transferOf(null, 'completed'));
  });
  afterAll(async () => {
    await ferry.stop();
    await env.cleanup();
  });

  it('transfer routes: owners and admins pass, everyone else gets 403', async () => {
    for (const [owner, transfer] of owned) {
      for (const [method, suffix] of transferRoutes) {
        for (const who of everyone) {
          const res = await send(who, method, `/api/v1/transfers/${String(transfer.id)}${suffix}`);
          const where = `${who} ${method} ${suffix || '/'} of ${owner}'s transfer`;
          expectVerdict(res, verdict(who, owner, 'FERRY_ERR_TRANSFER_FORBIDDEN'), where);
        }
      }
    }
  });

  it('DELETE of a transfer: refused to others, done by an owner or admin', async () => {
    for (const owner of ['A', 'nobody'] as const) {
      for (const who of everyone) {
        const target = await transferOf(ownerId(owner), 'completed');
        const res = await send(who, 'DELETE', `/api/v1/transfers/${String(target.id)}`);
        expect(res.statusCode, `${who} deletes ${owner}'s`).toBe(sees(who, owner) ? 204 : 403);
      }
    }
  });

  it('lists show users their own transfers and admins every one', async () => {
    for (const who of everyone) {
      const res = await send(who, 'GET', '/api/v1/transfers?limit=1000');
      if (who === 'key without user') {
        expectVerdict(res, 'FERRY_ERR_NO_USER', who);
        continue;
      }
      const owners = new Set(res.json<{ items: TransferRow[] }>().items.map((t) => t.id));
      for (const [owner, transfer] of owned) {
        expect(owners.has(transfer.id), `${who} lists ${owner}'s`).toBe(sees(who, owner));
      }
    }
  });

  it('events: a user reads its own, admins any, others get 403', async () => {
    const submitted = new Map<Owner, number>();
    for (const [owner, who] of [
      ['A', 'key of A'],
      ['nobody', 'admin key'],
    ] as const) {
      const res = await send(who, 'POST', '/api/v1/events', { event_name: 'n', event_type: 't' });
      submitted.set(owner, res.json<{ event_id: number }>().event_id);
    }
    const ownerless = await send('key without user', 'POST', '/api/v1/events', {
      event_name: 'n',
      event_type: 't',
    });
    expectVerdict(ownerless, 'FERRY_ERR_NO_USER', 'key without user submits');
    for (const [owner, id] of submitted) {
      for (const who of everyone) {
        const res = await send(who, 'GET', `/api/v1/events/${String(id)}`);
        expectVerdict(res, verdict(who, owner, 'FERRY_ERR_EVENT_FORBIDDEN'), `${who}, ${owner}'s`);
      }
    }
  });

  it('jobs: read, wait and cancel follow the ownership rule; lists show what one may read', async () => {
    const jobs = new Map<Owner, JobRow>([
      ['A', await jobOf('A')],
      ['nobody', await jobOf('nobody')],
    ]);
    for (const [owner, job] of jobs) {
      for (const who of everyone) {
        for (const suffix of ['', '/wait?timeout_s=0']) {
          const res = await send(who, 'GET', `/api/v1/jobs/${job.id}${suffix}`);
          const where = `${who} GET ${suffix || '/'} of ${owner}'s job`;
          expectVerdict(res, verdict(who, owner, 'FERRY_ERR_JOB_FORBIDDEN'), where);
        }
        const target = await jobOf(owner);
        const cancel = await send(who, 'POST', `/api/v1/jobs/${target.id}/cancel`);
        const expected = verdict(who, owner, 'FERRY_ERR_JOB_FORBIDDEN');
        expectVerdict(cancel, expected, `${who} cancels ${owner}'s job`);
        if (expected === 'allowed') expect(cancel.json()).toMatchObject({ outcome: 'cancelled' });
      }
    }
    for (const who of everyone) {
      const res = await send(who, 'GET', '/api/v1/jobs?limit=1000');
      if (who === 'key without user') {
        expectVerdict(res, 'FERRY_ERR_NO_USER', who);
        continue;
      }
      const ids = new Set(res.json<{ items: { job_id: string }[] }>().items.map((j) => j.job_id));
      for (const [owner, job] of jobs) {
        expect(ids.has(job.id), `${who} lists ${owner}'s job`).toBe(sees(who, owner));
      }
    }
  });

  it('jobs: a submission belongs to its user; a key without one cannot submit', async () => {
    const body = { kind: 'no-such-kind', spec: {} };
    for (const who of everyone) {
      const res = await send(who, 'POST', '/api/v1/jobs', body);
      // Past authorization, the unknown kind is refused: nothing is created.
      if (who === 'key without user') expectVerdict(res, 'FERRY_ERR_NO_USER', who);
      else expect(res.json<{ code: string }>().code, who).toBe('FERRY_ERR_JOB_KIND_UNKNOWN');
    }
  });

  it("jobs: an event_batch job's events belong to the job's user", async () => {
    const res = await send('key of A', 'POST', '/api/v1/jobs', {
      kind: 'event_batch',
      spec: { events: [{ event_name: 'via-job', event_type: 't' }] },
    });
    expect(res.statusCode).toBe(202);
    const jobId = res.json<{ job_id: string }>().job_id;
    const done = await send('key of A', 'GET', `/api/v1/jobs/${jobId}/wait?timeout_s=60`);
    const zones = done.json<{ zones: { result: { items: { event_id: number }[] } }[] }>().zones;
    const eventId = zones[0]?.result.items[0]?.event_id;
    expect(eventId).toEqual(expect.any(Number));
    for (const who of everyone) {
      const read = await send(who, 'GET', `/api/v1/events/${String(eventId)}`);
      expectVerdict(read, verdict(who, 'A', 'FERRY_ERR_EVENT_FORBIDDEN'), `${who}, A's job event`);
    }
  });

  it('dashboard figures count only what the caller may see', async () => {
    for (const [owner, transfer] of owned) {
      await log(ferry.store.db, transfer.id, 'info', 'test.logged', `${owner}'s line`);
    }
    const ids = [...owned.values()].map((t) => t.id).join(',');
    for (const who of everyone) {
      const audit = await send(who, 'GET', '/api/v1/audit?limit=1000');
      const counts = await send(who, 'GET', `/api/v1/stats/transfers?ids=${ids}`);
      const figures = [
        '/api/v1/history/transfers',
        '/api/v1/history/events',
        '/api/v1/stats/events',
      ];
      const others = await Promise.all(figures.map((url) => send(who, 'GET', url)));
      if (who === 'key without user') {
        for (const res of [audit, counts, ...others]) expectVerdict(res, 'FERRY_ERR_NO_USER', who);
        continue;
      }
      for (const res of others) expect(res.statusCode, who).toBe(200);
      const logged = new Set(
        audit.json<{ items: { transfer_id: number | null }[] }>().items.map((e) => e.transfer_id),
      );
      const counted = counts.json<Record<string, unknown>>();
      for (const [owner, transfer] of owned) {
        expect(logged.has(transfer.id), `${who} audits ${owner}'s`).toBe(sees(who, owner));
        expect(String(transfer.id) in counted, `${who} counts ${owner}'s`).toBe(sees(who, owner));
      }
    }
  });

  it('API keys: a user-role key always has a user; revoking follows the same rule', async () => {
    const refused = await send('admin key', 'POST', '/api/v1/api-keys', {
      name: 'nobody',
      role: 'user',
    });
    expect(refused.json<{ code: string }>().code).toBe('FERRY_ERR_API_KEY_OWNER_REQUIRED');
    const forA = await send('admin key', 'POST', '/api/v1/api-keys', {
      name: 'for A',
      role: 'user',
      user_id: userA,
    });
    expect(forA.statusCode).toBe(201);
    const stolen = await send('key of B', 'POST', '/api/v1/api-keys', {
      name: 'for A',
      user_id: userA,
    });
    expect(stolen.statusCode).toBe(403);
    const keyId = forA.json<{ id: number }>().id;
    for (const who of ['key of B', 'key without user'] as const) {
      const revoke = await send(who, 'DELETE', `/api/v1/api-keys/${String(keyId)}`);
      expect(revoke.statusCode, who).toBe(403);
    }
    const listedByB = (await send('key of B', 'GET', '/api/v1/api-keys')).json<{ id: number }[]>();
    expect(listedByB.map((k) => k.id)).not.toContain(keyId);
    expectVerdict(
      await send('key without user', 'GET', '/api/v1/api-keys'),
      'FERRY_ERR_NO_USER',
      'key without user lists keys',
    );
    expect(
      (await send('user A (login)', 'DELETE', `/api/v1/api-keys/${String(keyId)}`)).statusCode,
    ).toBe(204);
  });

  it('admin-only routes (pipelines, users, config) refuse every user principal', async () => {
    for (const url of ['/api/v1/pipelines', '/api/v1/users', '/api/v1/config']) {
      for (const who of everyone) {
        const res = await send(who, 'GET', url);
        expect(res.statusCode, `${who} ${url}`).toBe(admins.includes(who) ? 200 : 403);
      }
    }
  });

  it('routes without objects (cluster, whoami) answer every principal', async () => {
    const urls = ['/api/v1/cluster/ping', '/api/v1/cluster/nodes', '/api/v1/cluster/zones'];
    for (const url of [...urls, '/api/v1/whoami']) {
      for (const who of everyone) {
        expect((await send(who, 'GET', url)).statusCode, `${who} ${url}`).toBe(200);
      }
    }
  });

  // Last: it revokes the key without a user the tests above use.
  it('migration 0007 revokes a key without a user, and the store refuses new ones', async () => {
    await legacy.migrate();
    expect(await principalForApiKey(ferry.store.db, legacy.key)).toBeUndefined();
    await expect(
      createApiKey(ferry.store.db, { name: 'x', role: 'user', userId: null as unknown as number }),
    ).rejects.toThrow(/api_keys_user_role_has_user/);
  });
});

describe('scopeOf', () => {
  const base = { id: 1, label: 'x' } as const;
  it('refuses a user-role principal without a user rather than treating it as nobody', () => {
    const keyWithoutUser: Principal = { ...base, kind: 'api_key', role: 'user', userId: undefined };
    expect(() => scopeOf(keyWithoutUser)).toThrow(/not tied to a user/);
    const anonymous: Principal = { ...base, kind: 'anonymous', role: 'admin', userId: undefined };
    expect(scopeOf(anonymous)).toEqual({ all: true, userId: null });
    expect(scopeOf({ ...base, kind: 'user', role: 'user', userId: 7 })).toEqual({
      all: false,
      userId: 7,
    });
  });
});
