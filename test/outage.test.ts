/**
 * Invariant 4 on PostgreSQL: while the database is down the API answers 503 with Retry-After
 * (never 500), and every event that got a 202 is processed once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFerry, type Ferry } from '../src/app/index.ts';
import { makePgCluster, serverBin, type PgCluster } from './helpers/pg-cluster.ts';
import { signedIn } from './helpers/principals.ts';
import { storeKinds, testEnv, type TestEnv } from './helpers/stores.ts';

const bin = serverBin();

describe.runIf(storeKinds.includes('postgres') && bin !== undefined)(
  'a PostgreSQL outage during submits',
  () => {
    let cluster: PgCluster;
    let ferry: Ferry;
    let env: TestEnv;

    beforeAll(async () => {
      cluster = await makePgCluster(bin ?? '');
      // The private cluster, not a fresh database on the shared server: this test stops it.
      env = await testEnv('pglite', {
        FERRY_DATABASE_URL: cluster.url,
        FERRY_JOBS_RETRY_DELAY_SECONDS: '1',
      });
      ferry = makeFerry(env.config);
      await ferry.start();
    });
    afterAll(async () => {
      await ferry.stop();
      cluster.destroy();
      await env.cleanup();
    });

    it('answers 503 + Retry-After while down, and processes every accepted event after recovery', async () => {
      const app = ferry.http;
      if (!app) throw new Error('no http');
      const headers = await signedIn(app, 'o@example.com');
      const submit = (i: number) =>
        app.inject({
          method: 'POST',
          url: '/api/v1/events',
          headers,
          payload: { event_name: `e${i}`, event_type: 'outage' },
        });

      const accepted: number[] = [];
      const statuses: number[] = [];
      const record = async (i: number) => {
        const res = await submit(i);
        statuses.push(res.statusCode);
        if (res.statusCode === 202) accepted.push(res.json<{ event_id: number }>().event_id);
        else {
          expect(res.statusCode).toBe(503);
          expect(res.headers['retry-after']).toBeDefined();
          expect(res.json()).toMatchObject({ code: 'FERRY_ERR_STORE_UNAVAILABLE' });
        }
      };

      for (let i = 0; i < 20; i++) await record(i);
      cluster.stop();
      for (let i = 20; i < 30; i++) await record(i);
      expect(statuses.slice(20)).toEqual(Array(10).fill(503));
      cluster.start();
      // The pool reconnects on its own: keep submitting (bounded) until accepted again.
      for (let i = 30; i < 200 && accepted.length < 30; i++) await record(i);
      expect(statuses).not.toContain(500);
      expect(accepted.length).toBe(30);

      // Every 202 event is processed after recovery (the unprocessed count drains to zero).
      const drained = async () => {
        const res = await app.inject({
          method: 'GET',
          url: '/api/v1/events/status/unprocessed',
          headers,
        });
        return res.statusCode === 200
          ? res.json<{ unprocessed_count: number; total_count: number }>()
          : undefined;
      };
      for (let tries = 0; tries < 120; tries++) {
        const counts = await drained();
        if (counts?.unprocessed_count === 0) break;
        await ferry.bus.next('event:processed', () => true, 1000).catch(() => undefined);
      }
      expect(await drained()).toMatchObject({ unprocessed_count: 0, total_count: 30 });
    }, 240_000);
  },
);
