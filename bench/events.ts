/**
 * Event ingestion over real HTTP on loopback: an in-process Ferry (makeFerry, port 0) on a fresh
 * store, a registered user's bearer token, then single submits from 32 keep-alive clients,
 * batches of 100 from 8 clients, and the time until every accepted event is processed. The peer
 * is the throughput PulseBoard (the service whose API Ferry answers) claims: ~1k events/s per
 * worker. Clients and server share this process and its event loop, so the figures are what one
 * Node thread does while also playing 32 clients.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { makeFerry, type Ferry } from '../src/app/ferry.ts';
import type { StoreKind } from '../src/db/index.ts';
import { adminUrlShown, postgresProblem, testEnv, type TestEnv } from '../test/helpers/stores.ts';
import type { Benchmark, Quantity, Report } from './run.ts';

const single = { total: 4_000, clients: 32, timeoutMs: 60_000 };
const batch = { batches: 100, size: 100, clients: 8, timeoutMs: 60_000 };
/** Single submits and one batch before the timers start, processed before run 1 begins. */
const warmup = { singles: 200, batches: 2 };
const processTimeoutMs = 120_000;
const requestTimeoutMs = 30_000;

const peer = { name: 'PulseBoard claim', value: 1000, unit: 'events/s per worker' };

const event = {
  event_name: 'page_view',
  event_type: 'navigation',
  payload: { path: '/home', duration: '12.5' },
};
const singleBody = JSON.stringify(event);
const batchBody = JSON.stringify({ events: Array.from({ length: batch.size }, () => event) });

/** One HTTP answer; status 0 means no answer (connection error or timeout). */
interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** A keep-alive client for one Ferry. */
interface Client {
  request(method: 'GET' | 'POST', path: string, body?: string, token?: string): Promise<Answer>;
  close(): void;
}

function makeClient(base: string): Client {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: single.clients });
  return {
    request(method, path, body, token) {
      const started = performance.now();
      return new Promise<Answer>((resolve) => {
        const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
        if (body !== undefined) {
          headers['content-type'] = 'application/json';
          headers['content-length'] = Buffer.byteLength(body);
        }
        if (token !== undefined) headers.authorization = `Bearer ${token}`;
        const req = http.request(
          { agent, host: url.hostname, port: url.port, method, path, headers },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks).toString(),
                ms: performance.now() - started,
              });
            });
            res.on('error', (error) => {
              resolve({ status: 0, body: error.message, ms: performance.now() - started });
            });
          },
        );
        req.setTimeout(requestTimeoutMs, () => {
          req.destroy(new Error(`no answer within ${requestTimeoutMs} ms`));
        });
        req.on('error', (error) => {
          resolve({ status: 0, body: error.message, ms: performance.now() - started });
        });
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/** Registers a new user and logs in; returns the access token. */
async function signIn(client: Client): Promise<string> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'bench-password-1';
  const registered = await client.request(
    'POST',
    '/api/auth/register',
    JSON.stringify({ email, password }),
  );
  if (registered.status !== 201) {
    throw new Error(`register answered ${registered.status}: ${registered.body}`);
  }
  const login = await client.request(
    'POST',
    '/api/auth/login',
    JSON.stringify({ email, password }),
  );
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${login.body}`);
  return (JSON.parse(login.body) as { access_token: string }).access_token;
}

/** Every event id the bus reports processed, and a wait for a given set of ids. */
interface Watch {
  readonly processed: Set<number>;
  failed: number;
  /** Resolves with the time (performance.now) the last of `ids` was processed. */
  until(ids: Iterable<number>, timeoutMs: number): Promise<{ at: number; complete: boolean }>;
  close(): void;
}

function watch(ferry: Ferry): Watch {
  let waiting: { missing: Set<number>; done: (at: number) => void } | undefined;
  let lastAt = performance.now();
  const w: Watch = {
    processed: new Set(),
    failed: 0,
    until(ids, timeoutMs) {
      const missing = new Set([...ids].filter((id) => !w.processed.has(id)));
      if (missing.size === 0) return Promise.resolve({ at: lastAt, complete: true });
      const { promise, resolve } = Promise.withResolvers<{ at: number; complete: boolean }>();
      const timer = setTimeout(() => {
        waiting = undefined;
        resolve({ at: performance.now(), complete: false });
      }, timeoutMs);
      waiting = {
        missing,
        done(at) {
          clearTimeout(timer);
          waiting = undefined;
          resolve({ at, complete: true });
        },
      };
      return promise;
    },
    close() {
      off();
    },
  };
  const off = ferry.bus.on('event:processed', (e) => {
    lastAt = performance.now();
    w.processed.add(e.id);
    if (!e.ok) w.failed++;
    if (waiting?.missing.delete(e.id) && waiting.missing.size === 0) waiting.done(lastAt);
  });
  return w;
}

/** What one run of submits produced. */
interface Run {
  ids: number[];
  latencies: number[];
  /** Non-202 answers by status (0: no answer), with one body per status. */
  rejected: Map<number, { count: number; sample: string }>;
  ms: number;
  /** Requests not sent because the run's time limit passed. */
  unsent: number;
}

/** `requests` POSTs of `body` to `path` from `clients` concurrent loops, until done or timeout. */
async function submitRun(
  client: Client,
  token: string,
  path: string,
  body: string,
  requests: number,
  clients: number,
  timeoutMs: number,
): Promise<Run> {
  const run: Run = { ids: [], latencies: [], rejected: new Map(), ms: 0, unsent: 0 };
  const started = performance.now();
  const deadline = started + timeoutMs;
  let next = 0;
  async function loop(): Promise<void> {
    while (next < requests && performance.now() < deadline) {
      next++;
      const answer = await client.request('POST', path, body, token);
      run.latencies.push(answer.ms);
      if (answer.status === 202) {
        const parsed = JSON.parse(answer.body) as { event_id?: number; event_ids?: number[] };
        if (parsed.event_ids) run.ids.push(...parsed.event_ids);
        else if (parsed.event_id !== undefined) run.ids.push(parsed.event_id);
      } else {
        const seen = run.rejected.get(answer.status);
        if (seen) seen.count++;
        else run.rejected.set(answer.status, { count: 1, sample: answer.body.slice(0, 200) });
      }
    }
  }
  await Promise.all(Array.from({ length: clients }, () => loop()));
  run.ms = performance.now() - started;
  run.unsent = requests - next;
  return run;
}

function rejectedCount(run: Run): number {
  return [...run.rejected.values()].reduce((sum, r) => sum + r.count, 0);
}

function describeRejected(runs: Run[]): string {
  const lines = runs.flatMap((run) =>
    [...run.rejected].map(([status, r]) => `${r.count}x ${status || 'no answer'}: ${r.sample}`),
  );
  return lines.join('; ');
}

/** Nearest-rank percentile of `values`, in the values' unit. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
  if (at === undefined) throw new Error('no latencies recorded');
  return at;
}

function perSecond(count: number, ms: number): Quantity {
  return { value: count / (ms / 1000), unit: 'events/s' };
}

async function unprocessedStatus(
  client: Client,
  token: string,
): Promise<{ unprocessed_count: number; total_count: number }> {
  const answer = await client.request('GET', '/api/v1/events/status/unprocessed', undefined, token);
  if (answer.status !== 200) throw new Error(`status answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as { unprocessed_count: number; total_count: number };
}

/** Polls the API until the user's unprocessed count is 0, for at most `timeoutMs`. */
async function settled(
  client: Client,
  token: string,
  timeoutMs: number,
): Promise<{ unprocessed_count: number; total_count: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await unprocessedStatus(client, token);
    if (status.unprocessed_count === 0 || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function measure(ferry: Ferry, kind: StoreKind, report: Report): Promise<void> {
  const info = await ferry.start();
  if (info.url === undefined) throw new Error('ferry started without an HTTP listener');
  const client = makeClient(info.url);
  const w = watch(ferry);
  try {
    const token = await signIn(client);

    // Warm-up (JIT, plan caches, pool connections), processed before any timer starts.
    const warm = [
      await submitRun(client, token, '/api/v1/events', singleBody, warmup.singles, 32, 60_000),
      await submitRun(client, token, '/api/v1/events/batch', batchBody, warmup.batches, 2, 60_000),
    ];
    const warmIds = warm.flatMap((r) => r.ids);
    if (!(await w.until(warmIds, processTimeoutMs)).complete) {
      throw new Error(`warm-up events not processed within ${processTimeoutMs} ms`);
    }

    const firstSubmit = performance.now();
    const singles = await submitRun(
      client,
      token,
      '/api/v1/events',
      singleBody,
      single.total,
      single.clients,
      single.timeoutMs,
    );
    const batches = await submitRun(
      client,
      token,
      '/api/v1/events/batch',
      batchBody,
      batch.batches,
      batch.clients,
      batch.timeoutMs,
    );
    const accepted = [...singles.ids, ...batches.ids];
    const end = await w.until(accepted, processTimeoutMs);
    const processed = accepted.filter((id) => w.processed.has(id)).length;
    const api = await settled(client, token, 5_000);

    const name = `events.${kind}`;
    report.figure(`${name}.single`, perSecond(singles.ids.length, singles.ms), peer);
    report.figure(`${name}.single.p50`, { value: percentile(singles.latencies, 0.5), unit: 'ms' });
    report.figure(`${name}.single.p99`, { value: percentile(singles.latencies, 0.99), unit: 'ms' });
    report.note(
      `${name}.single.p50/.p99: peer none measured (PulseBoard's claim is a throughput only)`,
    );
    report.figure(`${name}.batch`, perSecond(batches.ids.length, batches.ms), peer);
    report.figure(`${name}.processed`, perSecond(processed, end.at - firstSubmit), peer);

    const nonAccepted = rejectedCount(singles) + rejectedCount(batches);
    const warmRejected = warm.reduce((sum, r) => sum + rejectedCount(r), 0);
    report.note(
      `${name}: single ${singles.ids.length}/${single.total} accepted in ` +
        `${(singles.ms / 1000).toFixed(2)} s (${single.clients} clients); batch ` +
        `${batches.ids.length}/${batch.batches * batch.size} accepted in ` +
        `${(batches.ms / 1000).toFixed(2)} s (${batch.clients} clients, batch latency p50 ` +
        `${percentile(batches.latencies, 0.5).toFixed(1)} ms, p99 ` +
        `${percentile(batches.latencies, 0.99).toFixed(1)} ms)`,
    );
    const unsent = singles.unsent + batches.unsent;
    report.note(
      `${name}: accepted ${accepted.length}, processed ${processed}` +
        (end.complete ? '' : ` (stopped waiting after ${processTimeoutMs} ms)`) +
        `, failed processing ${w.failed}, non-202 answers ${nonAccepted}` +
        (unsent > 0 ? `, requests not sent (time limit) ${unsent}` : '') +
        `; API: unprocessed_count ${api.unprocessed_count}, total_count ${api.total_count} ` +
        `(= ${warmIds.length} warm-up + ${accepted.length}), ` +
        `distinct ids ${new Set([...warmIds, ...accepted]).size}`,
    );
    if (nonAccepted + warmRejected > 0) {
      report.note(`${name}: non-202 answers: ${describeRejected([...warm, singles, batches])}`);
    }
  } finally {
    w.close();
    client.close();
  }
}

async function runOn(kind: StoreKind, report: Report): Promise<void> {
  if (kind === 'postgres') {
    const problem = await postgresProblem();
    if (problem !== undefined) {
      report.note(
        `events.postgres: skipped, PostgreSQL at ${adminUrlShown} unreachable (${problem}); set FERRY_TEST_DATABASE_URL`,
      );
      return;
    }
  }
  const env: TestEnv = await testEnv(kind, { FERRY_AUTH_LOGIN_ATTEMPTS_PER_IP: '100000' });
  try {
    const ferry = makeFerry(env.config);
    try {
      await measure(ferry, kind, report);
    } finally {
      await ferry.stop();
    }
  } finally {
    await env.cleanup();
  }
}

/** Event ingestion on PGlite and on PostgreSQL, against PulseBoard's claimed throughput. */
export const eventsBenchmark: Benchmark = {
  name: 'events',
  description:
    `in-process Ferry over HTTP on loopback: ${single.total} single submits from ` +
    `${single.clients} keep-alive clients, ${batch.batches} batches of ${batch.size} from ` +
    `${batch.clients} clients, then until all are processed; on a fresh PGlite data dir and a ` +
    `fresh PostgreSQL database; after a warm-up (${warmup.singles} single submits, ` +
    `${warmup.batches} batches, all processed before the timers start)`,
  async run(report) {
    await runOn('pglite', report);
    await runOn('postgres', report);
  },
};
