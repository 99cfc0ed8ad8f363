/**
 * HTTP load from a separate process, and the bare route Ferry's events are measured against.
 *
 * - `loadTest` runs autocannon as a child process (its own event loop and CPU time), so no
 *   figure comes from a client sharing the server's event loop.
 * - `startBareRoute` is the stack's limit for one event: Fastify, a jose HS256 check of the
 *   bearer token, one INSERT into `ferry.events` in a transaction on the given store, 202. No
 *   dedupe, no live channel, no processing: what Ferry's single submit would cost with nothing
 *   of its own.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { SignJWT, jwtVerify } from 'jose';
import type { Db } from '../src/db/index.ts';

const run = promisify(execFile);
const autocannonCli = path.join(
  path.dirname(createRequire(import.meta.url).resolve('autocannon/package.json')),
  'autocannon.js',
);

/** What one load run measured (2xx answers only count as throughput). */
export interface LoadResult {
  /** 2xx answers per second over the run (`okCount` / (`finishedAt` - `startedAt`)). */
  perSecond: number;
  /** When the load generator began sending and when it stopped (epoch ms, its own clock). */
  startedAt: number;
  finishedAt: number;
  okCount: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  /** Answers per HTTP status (`"429": 1234`). */
  statuses: Record<string, number>;
}

/**
 * Sends `method` (POST `body` by default) to `url` from `connections` keep-alive connections for
 * `seconds`, with the bearer `token` and `headers` when given.
 */
export async function loadTest(options: {
  url: string;
  body?: string;
  token?: string;
  method?: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const headers = {
    ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    ...options.headers,
  };
  const { stdout } = await run(
    process.execPath,
    [
      autocannonCli,
      '--json',
      '-c',
      String(options.connections),
      '-d',
      String(options.seconds),
      '-m',
      options.method ?? 'POST',
      ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]),
      ...(options.body === undefined ? [] : ['-b', options.body]),
      options.url,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const out = JSON.parse(stdout) as {
    latency: { p50: number; p99: number };
    '2xx': number;
    non2xx: number;
    errors: number;
    duration: number;
    start: string;
    finish: string;
    statusCodeStats?: Record<string, { count: number }>;
  };
  const startedAt = Date.parse(out.start);
  const finishedAt = Date.parse(out.finish);
  return {
    perSecond: out['2xx'] / ((finishedAt - startedAt) / 1000),
    startedAt,
    finishedAt,
    okCount: out['2xx'],
    non2xx: out.non2xx,
    errors: out.errors,
    p50: out.latency.p50,
    p99: out.latency.p99,
    statuses: Object.fromEntries(
      Object.entries(out.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]),
    ),
  };
}

/** The bare route on `db` (already migrated); its token is signed with `secret`. */
export async function startBareRoute(db: Db, secret: string) {
  const key = new TextEncoder().encode(secret);
  const app = Fastify({ logger: false });
  app.post('/api/v1/events', async (request, reply) => {
    const auth = request.headers.authorization ?? '';
    try {
      await jwtVerify(auth.replace(/^Bearer /, ''), key, { algorithms: ['HS256'] });
    } catch {
      return reply.status(401).send({ detail: 'unauthenticated' });
    }
    const e = request.body as { event_name: string; event_type: string; payload?: unknown };
    const id = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>(
        `INSERT INTO ferry.events (event_name, event_type, payload, event_timestamp)
         VALUES ($1, $2, $3, now()) RETURNING id::int AS id`,
        [e.event_name, e.event_type, JSON.stringify(e.payload ?? {})],
      );
      return rows[0]?.id;
    });
    return reply.status(202).send({ event_id: id, status: 'enqueued' });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const token = await new SignJWT({ typ: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('1')
    .setExpirationTime('1h')
    .sign(key);
  return { url, token, close: () => app.close() };
}
