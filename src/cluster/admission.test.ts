/**
 * Admission control on one node: a flood over the rate limit gets 429 with Retry-After and
 * RateLimit-* headers and loses nothing it accepted; under overload `low` is shed first and
 * `critical` never. Not store-dependent: runs on the first store under test.
 */
import { describe, expect, it } from 'vitest';
import { insertStrandedJob } from '../../test/helpers/jobs.ts';
import { storeKinds } from '../../test/helpers/stores.ts';
import { useTransferWorlds } from '../../test/helpers/transfers.ts';
import { priorityOf, rateWindow, shed } from './admission.ts';

const kind = storeKinds[0] ?? 'pglite';

describe('admission rules', () => {
  it('sheds low from 1× the threshold, normal from 1.5×, high from 2×, critical never', () => {
    expect(['low', 'normal', 'high', 'critical'].map((p) => shed(priorityOf(p), 1))).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(['low', 'normal', 'high', 'critical'].map((p) => shed(priorityOf(p), 2))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(shed('critical', 1e9)).toBe(false);
    expect(priorityOf('urgent!')).toBe('normal');
  });

  it("splits a principal's burst over the healthy nodes", () => {
    const w = rateWindow({ requests_per_second: 10, burst: 30 });
    expect(w.windowMs).toBe(3000);
    expect([1, 2, 3, 7].map(w.share)).toEqual([30, 15, 10, 5]);
  });
});

describe(`admission control on one node (${kind})`, () => {
  const startWorld = useTransferWorlds();
  it('answers a flood over the rate limit with 429, Retry-After and RateLimit-*, losing nothing accepted', async () => {
    const w = await startWorld(
      kind,
      {},
      { FERRY_LIMITS_REQUESTS_PER_SECOND: '0.1', FERRY_LIMITS_BURST: '5' },
    );
    const http = w.ferry.http;
    if (!http) throw new Error('no http');
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        http.inject({
          method: 'POST',
          url: '/api/v1/jobs',
          payload: {
            kind: 'transfer',
            spec: { source_path: w.src, destination_path: w.dst },
            idempotency_key: `flood-${i}`,
          },
        }),
      ),
    );
    const accepted = answers.filter((a) => a.statusCode === 202);
    const limited = answers.filter((a) => a.statusCode === 429);
    expect(accepted.length + limited.length).toBe(12);
    expect(limited.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThanOrEqual(5);
    const first = limited[0];
    expect(first?.json()).toMatchObject({ code: 'FERRY_ERR_RATE_LIMITED', retryable: true });
    expect(Number(first?.headers['retry-after'])).toBeGreaterThan(0);
    expect(first?.headers['ratelimit-limit']).toBe('5');
    const { rows } = await w.ferry.store.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ferry.cluster_jobs`,
    );
    expect(rows[0]?.n).toBe(accepted.length);
  }, 150_000);

  it('under overload sheds low first, then normal and high, never critical', async () => {
    const w = await startWorld(
      kind,
      {},
      {
        FERRY_LIMITS_SHED_IN_FLIGHT: '1',
        FERRY_LIMITS_SHED_EVENT_LOOP_DELAY_MS: '60000',
      },
    );
    const db = w.ferry.store.db;
    const id = '00000000-0000-4000-8000-0000000000aa';
    // A job in a zone with no node never finishes: waiting on it holds a request in flight.
    await insertStrandedJob(db, id);
    const http = w.ferry.http;
    if (!http) throw new Error('no http');
    const ping = (priority: string) =>
      http.inject({
        url: '/api/v1/cluster/ping',
        headers: { 'ferry-priority': priority },
      });
    const hold = () =>
      http.inject({
        url: `/api/v1/jobs/${id}/wait?timeout_s=60`,
        headers: { 'ferry-priority': 'critical' },
      });
    // One at a time: concurrent pings would count each other in flight.
    const statuses = async () => {
      const codes: number[] = [];
      for (const p of ['low', 'normal', 'high', 'critical']) codes.push((await ping(p)).statusCode);
      return codes;
    };
    // Synchronize on the node's own count: the pings see the held requests in flight.
    const inFlight = async (n: number) => {
      for (;;) {
        const answer = await ping('critical');
        if (answer.json<{ in_flight_requests: number }>().in_flight_requests > n) return;
      }
    };
    const waits = [hold()];
    await inFlight(1);
    expect(await statuses()).toEqual([503, 200, 200, 200]);
    waits.push(hold());
    await inFlight(2);
    expect(await statuses()).toEqual([503, 503, 503, 200]);
    const shedAnswer = await ping('low');
    expect(shedAnswer.json()).toMatchObject({ code: 'FERRY_ERR_OVERLOADED', retryable: true });
    expect(shedAnswer.headers['retry-after']).toBe('1');
    await w.ferry.http?.inject({ method: 'POST', url: `/api/v1/jobs/${id}/cancel` });
    expect((await Promise.all(waits)).map((r) => r.statusCode)).toEqual([200, 200]);
  }, 150_000);
});
