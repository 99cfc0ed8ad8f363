/**
 * Event ingestion over real HTTP on loopback, load from a separate process (autocannon): for each
 * store, Ferry's single submit beside the bare route (Fastify + jose + one INSERT in a
 * transaction on the same kind of store, built here; see load.ts), both under the same load;
 * then how fast Ferry processes what it accepted (see `Processing` for the exact windows), and
 * batches beside PulseBoard's claimed throughput. Ferry and the bare route each get a fresh store and a warm-up run first.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { makeFerry, type Ferry } from '../src/app/ferry.ts';
import { migrate, openStore, type StoreKind } from '../src/db/index.ts';
import { adminUrlShown, postgresProblem, testEnv } from '../test/helpers/stores.ts';
import { loadTest, startBareRoute, type LoadResult } from './load.ts';
import type { Benchmark, Report } from './run.ts';

const load = { connections: 64, seconds: 10, warmupSeconds: 2 };
const batchLoad = { connections: 8, seconds: 5, size: 100 };
const processTimeoutMs = 180_000;
const claim = { name: 'PulseBoard claim', value: 1000, unit: 'events/s per worker' };

const event = {
  event_name: 'page_view',
  event_type: 'navigation',
  payload: { path: '/home', duration: '12.5' },
};
const singleBody = JSON.stringify(event);
const batchBody = JSON.stringify({ events: Array.from({ length: batchLoad.size }, () => event) });

function loadNote(): string {
  return `load average ${loadavg()[0]?.toFixed(2) ?? '?'}`;
}

/** Registers a user and logs in over HTTP; returns the access token. */
async function signIn(base: string): Promise<string> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'bench-password-1';
  const post = (route: string, body: object) =>
    fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const registered = await post('/api/auth/register', { email, password });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
  const login = await post('/api/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`login answered ${login.status}`);
  return ((await login.json()) as { access_token: string }).access_token;
}

/** Waits until the user has no unprocessed event; false when that took too long. */
async function allProcessed(base: string, token: string): Promise<boolean> {
  const deadline = performance.now() + processTimeoutMs;
  while (performance.now() < deadline) {
    const answer = await fetch(`${base}/api/v1/events/status/unprocessed`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const status = (await answer.json()) as { unprocessed_count: number };
    if (status.unprocessed_count === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** The bare route on a fresh store of `kind`. */
async function measureBare(kind: StoreKind): Promise<LoadResult> {
  const env = await testEnv(kind);
  const store = await openStore(env.config, () => undefined);
  try {
    await migrate(store.db);
    const bare = await startBareRoute(store.db, randomBytes(32).toString('hex'));
    try {
      const target = { url: `${bare.url}/api/v1/events`, body: singleBody, token: bare.token };
      await loadTest({ ...target, connections: load.connections, seconds: load.warmupSeconds });
      return await loadTest({ ...target, connections: load.connections, seconds: load.seconds });
    } finally {
      await bare.close();
    }
  } finally {
    await store.close();
    await env.cleanup();
  }
}

/**
 * How fast Ferry processed what it accepted, over the same kind of window as acceptance, for the
 * same events. Both windows open at the load generator's own start (its clock, so its process
 * start-up counts against neither) and both divide the events answered 2xx:
 * - accepted/s: the window closes when the load generator stops;
 * - processed/s: it closes when the last event committed before that stop is processed (the
 *   drain's `event:processed`, emitted after its commit, not a poll).
 * Every 2xx event was committed before its answer, hence before the stop, so the processed window
 * covers all of them. Events still in flight at the stop (committed, never answered) count in
 * neither; when they were processed is printed beside the figure.
 */
interface Processing {
  perSecond: number;
  /** Committed before the stop but not yet processed at the stop. */
  backlogAtStop: number;
  /** From the stop to the processing of the last event committed before it, ms. */
  lagMs: number;
  /** Committed after the stop (in flight, unanswered), and when the last was processed (ms). */
  tail: { count: number; lastMs: number };
}

interface FerryRun {
  single: LoadResult;
  processing: Processing | undefined;
  batch: LoadResult;
}

/** When each event was accepted (committed) and processed, from Ferry's bus, epoch ms. */
function watchEvents(ferry: Ferry) {
  const accepted = new Map<number, number>();
  const processed: { id: number; at: number }[] = [];
  const offs = [
    ferry.bus.on('event:accepted', (e) => {
      const at = Date.now();
      for (const id of e.ids) accepted.set(id, at);
    }),
    ferry.bus.on('event:processed', (e) => processed.push({ id: e.id, at: Date.now() })),
  ];
  return {
    accepted,
    processed,
    stop: () => {
      for (const off of offs) off();
    },
  };
}

function processing(
  single: LoadResult,
  seen: ReturnType<typeof watchEvents>,
): Processing | undefined {
  const stop = single.finishedAt;
  const before = seen.processed.filter((p) => (seen.accepted.get(p.id) ?? Infinity) <= stop);
  const after = seen.processed.filter((p) => (seen.accepted.get(p.id) ?? -Infinity) > stop);
  const latest = (list: { at: number }[]) => list.reduce((m, p) => Math.max(m, p.at), -Infinity);
  const last = latest(before);
  if (!Number.isFinite(last)) return undefined;
  const acceptedBefore = [...seen.accepted.values()].filter((at) => at <= stop).length;
  return {
    perSecond: single.okCount / ((last - single.startedAt) / 1000),
    backlogAtStop: acceptedBefore - before.filter((p) => p.at <= stop).length,
    lagMs: last - stop,
    tail: { count: after.length, lastMs: Math.max(0, latest(after) - stop) },
  };
}

async function measureFerry(ferry: Ferry): Promise<FerryRun> {
  const info = await ferry.start();
  if (info.url === undefined) throw new Error('ferry started without an HTTP listener');
  const base = info.url;
  const token = await signIn(base);
  const single = { url: `${base}/api/v1/events`, body: singleBody, token };
  await loadTest({ ...single, connections: load.connections, seconds: load.warmupSeconds });
  if (!(await allProcessed(base, token))) throw new Error('warm-up not processed');
  const seen = watchEvents(ferry);
  const singles = await loadTest({
    ...single,
    connections: load.connections,
    seconds: load.seconds,
  });
  const done = await allProcessed(base, token);
  seen.stop();
  const batch = await loadTest({
    url: `${base}/api/v1/events/batch`,
    body: batchBody,
    token,
    connections: batchLoad.connections,
    seconds: batchLoad.seconds,
  });
  return { single: singles, processing: done ? processing(singles, seen) : undefined, batch };
}

async function runOn(kind: StoreKind, report: Report): Promise<void> {
  if (kind === 'postgres') {
    const problem = await postgresProblem();
    if (problem !== undefined) {
      report.note(
        `events.postgres: skipped, PostgreSQL at ${adminUrlShown} unreachable (${problem})`,
      );
      return;
    }
  }
  report.note(`events.${kind}: bare route starts, ${loadNote()}`);
  const bare = await measureBare(kind);
  report.note(`events.${kind}: Ferry starts, ${loadNote()}`);
  const env = await testEnv(kind, { FERRY_AUTH_LOGIN_ATTEMPTS_PER_IP: '100000' });
  let ours: FerryRun;
  const ferry = makeFerry(env.config);
  try {
    ours = await measureFerry(ferry);
  } finally {
    await ferry.stop();
    await env.cleanup();
  }
  const name = `events.${kind}`;
  const peer = (value: number, unit: string) => ({ name: 'bare route', value, unit });
  report.figure(
    `${name}.single`,
    { value: ours.single.perSecond, unit: 'events/s' },
    {
      ...peer(bare.perSecond, 'events/s'),
    },
  );
  report.figure(`${name}.single.p50`, { value: ours.single.p50, unit: 'ms' }, peer(bare.p50, 'ms'));
  report.figure(`${name}.single.p99`, { value: ours.single.p99, unit: 'ms' }, peer(bare.p99, 'ms'));
  const done = ours.processing;
  if (done === undefined) {
    report.note(`${name}.processed: not all processed within ${processTimeoutMs} ms`);
  } else {
    report.figure(
      `${name}.processed`,
      { value: done.perSecond, unit: 'events/s' },
      { name: 'accepted', value: ours.single.perSecond, unit: 'events/s' },
    );
    report.note(
      `${name}.processed: ${done.backlogAtStop} events committed but not processed when the ` +
        `load stopped, the last of them processed ${done.lagMs} ms later; ` +
        `${done.tail.count} more were committed after the stop (in flight, unanswered), ` +
        `the last processed ${done.tail.lastMs} ms after it`,
    );
  }
  report.figure(
    `${name}.batch`,
    { value: ours.batch.perSecond * batchLoad.size, unit: 'events/s' },
    claim,
  );
  report.note(
    `${name}: Ferry single ${ours.single.okCount} accepted, non-2xx ${ours.single.non2xx}, ` +
      `errors ${ours.single.errors}; bare ${bare.okCount} accepted, non-2xx ${bare.non2xx}, ` +
      `errors ${bare.errors}; batch p50 ${ours.batch.p50} ms, p99 ${ours.batch.p99} ms; ${loadNote()}`,
  );
}

/** Event ingestion on PGlite and on PostgreSQL, each beside the bare route on the same store. */
export const eventsBenchmark: Benchmark = {
  name: 'events',
  description:
    `autocannon in a separate process, ${load.connections} keep-alive connections, ` +
    `${load.seconds} s after a ${load.warmupSeconds} s warm-up: Ferry's single submit beside ` +
    `the bare route (Fastify + jose + one INSERT in a transaction, same store kind, built in the ` +
    `bench); then Ferry's processing rate against its acceptance rate, both the 2xx count over ` +
    `a window from the load generator's own start: to the processing of the last event ` +
    `committed before its stop, against to its stop; and batches of ` +
    `${batchLoad.size} from ${batchLoad.connections} connections for ${batchLoad.seconds} s`,
  async run(report) {
    await runOn('pglite', report);
    await runOn('postgres', report);
  },
};
