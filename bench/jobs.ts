/**
 * Job round trip: what Ferry's job layer (typed definitions, retry policy, heartbeats, per-job
 * results, bus events) costs on top of the pg-boss it wraps. Both sides get a fresh store, the
 * same no-op jobs inserted the same way, and the same batch size; only the layer differs.
 */
import { PGlite } from '@electric-sql/pglite';
import { PgBoss, fromPglite, type ConstructorOptions, type JobInsert } from 'pg-boss';
import { defaults } from '../src/config/index.ts';
import { makePgliteDb, makePostgresDb, type Store } from '../src/db/index.ts';
import { defineJob, makeJobs } from '../src/jobs/index.ts';
import { makeBus, type FerryEvents } from '../src/bus/bus.ts';
import { adminUrl, freshDatabase, postgresProblem } from '../test/helpers/stores.ts';
import type { Benchmark, Report } from './run.ts';

const total = 10_000;
const chunkSize = 1_000;
const queue = 'bench.noop';
const timeoutMs = 120_000;
/** Rounds per side, each on a fresh store; the median round is the figure. */
const rounds = 3;

/** Fresh, empty stores of one kind, each with what undoes it. */
interface StoreKit {
  readonly kind: 'pglite' | 'postgres';
  /** Why this kind cannot run here; undefined when it can. */
  unavailable(): Promise<string | undefined>;
  ferry(): Promise<{ store: Store; dispose: () => Promise<void> }>;
  raw(): Promise<{ options: ConstructorOptions; dispose: () => Promise<void> }>;
}

/** Handler runs of one side; `done` resolves once `total` distinct jobs have run. */
interface Tally {
  runs: number;
  readonly ids: Set<string>;
  readonly done: Promise<void>;
  hit(id: string): void;
}

/** One side, started with its worker waiting on an empty queue. */
interface Side {
  readonly boss: PgBoss;
  /** Stops the worker, then closes or drops everything this side opened. */
  close(): Promise<void>;
}

interface Outcome {
  ms: number;
  completed: number;
  runs: number;
}

function makeTally(): Tally {
  const { promise, resolve } = Promise.withResolvers<undefined>();
  const tally: Tally = {
    runs: 0,
    ids: new Set(),
    done: promise,
    hit(id) {
      tally.runs++;
      tally.ids.add(id);
      if (tally.ids.size === total) resolve(undefined);
    },
  };
  return tally;
}

const log = {
  warn(obj: object, msg: string) {
    console.error(`ferry warn: ${msg}`, obj);
  },
  error(obj: object, msg: string) {
    console.error(`ferry error: ${msg}`, obj);
  },
};

async function openFerry(kit: StoreKit, tally: Tally): Promise<Side> {
  const { store, dispose } = await kit.ferry();
  const noop = defineJob<{ n: number }>({
    name: queue,
    handler(job) {
      tally.hit(job.id);
      return Promise.resolve();
    },
  });
  const jobs = makeJobs({
    store,
    config: { jobs: defaults.jobs, role: 'all' },
    definitions: [noop],
    bus: makeBus<FerryEvents>(),
    log,
  });
  return started(
    jobs.boss,
    () => jobs.start(),
    dispose,
    () => jobs.stop(),
  );
}

async function openRaw(kit: StoreKit, tally: Tally): Promise<Side> {
  const { options, dispose } = await kit.raw();
  const boss = new PgBoss(options);
  boss.on('error', (error) => {
    console.error('raw pg-boss error', error);
  });
  async function start(): Promise<void> {
    await boss.start();
    await boss.createQueue(queue, { notify: true });
    await boss.work(queue, { batchSize: 100, burstWhenBatchFull: true }, function runBatch(batch) {
      for (const job of batch) tally.hit(job.id);
      return Promise.resolve();
    });
  }
  return started(boss, start, dispose, () => boss.stop({ graceful: true, close: true }));
}

/** Starts a side; when starting fails, what was opened is still closed. */
async function started(
  boss: PgBoss,
  start: () => Promise<void>,
  dispose: () => Promise<void>,
  stop: () => Promise<void>,
): Promise<Side> {
  async function close(): Promise<void> {
    try {
      await stop();
    } finally {
      await dispose();
    }
  }
  try {
    await start();
  } catch (error) {
    await close();
    throw error;
  }
  return { boss, close };
}

const chunks: JobInsert[][] = [];
for (let first = 0; first < total; first += chunkSize) {
  const size = Math.min(chunkSize, total - first);
  chunks.push(Array.from({ length: size }, (_, i) => ({ data: { n: first + i } })));
}

/**
 * Timed from the first insert until the worker has drained: `offWork` waits for the batch in
 * flight, so the last completion is written when the timer stops.
 */
async function roundTrip(side: Side, tally: Tally, report: Report): Promise<Outcome> {
  const { ms } = await report.measure(async () => {
    for (const jobs of chunks) await side.boss.insert(queue, jobs);
    await within(tally.done, () => `only ${tally.ids.size}/${total} jobs ran in ${timeoutMs} ms`);
    await side.boss.offWork(queue, { wait: true });
  });
  const found = await side.boss.findJobs(queue, { queued: false });
  return { ms, completed: found.filter((j) => j.state === 'completed').length, runs: tally.runs };
}

async function within(promise: Promise<unknown>, why: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(why()));
    }, timeoutMs);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runSide(kit: StoreKit, which: 'ferry' | 'raw', report: Report): Promise<Outcome> {
  const tally = makeTally();
  const side = which === 'ferry' ? await openFerry(kit, tally) : await openRaw(kit, tally);
  try {
    return await roundTrip(side, tally, report);
  } finally {
    await side.close();
  }
}

/** The round with the median time: one noisy round (a busy neighbour, a GC) cannot set the figure. */
function median(outcomes: Outcome[]): Outcome {
  const sorted = [...outcomes].sort((a, b) => a.ms - b.ms);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (!middle) throw new Error('no rounds ran');
  return middle;
}

function rate(outcome: Outcome): { value: number; unit: string } {
  return { value: total / (outcome.ms / 1000), unit: 'jobs/s' };
}

function counts(outcomes: Outcome[]): string {
  const completed = outcomes.reduce((sum, o) => sum + o.completed, 0);
  const runs = outcomes.reduce((sum, o) => sum + o.runs, 0);
  const times = outcomes.map((o) => o.ms.toFixed(0)).join('/');
  return `completed ${completed}/${outcomes.length * total}, handler ran ${runs}x, rounds ${times} ms`;
}

async function compare(kit: StoreKit, report: Report): Promise<void> {
  const reason = await kit.unavailable();
  if (reason !== undefined) {
    report.note(`jobs.${kit.kind}: skipped, ${reason}`);
    return;
  }
  const ferry: Outcome[] = [];
  const raw: Outcome[] = [];
  // Alternate who goes first, so warm-up (JIT, caches) and drifting load fall on both sides.
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['ferry', 'raw'] as const) : (['raw', 'ferry'] as const);
    for (const which of order) {
      (which === 'ferry' ? ferry : raw).push(await runSide(kit, which, report));
    }
  }
  const peer = { name: 'raw pg-boss', ...rate(median(raw)) };
  report.figure(`jobs.${kit.kind}.ferry`, rate(median(ferry)), peer);
  report.note(`jobs.${kit.kind}: ferry ${counts(ferry)}; raw pg-boss ${counts(raw)}`);
}

const pgliteKit: StoreKit = {
  kind: 'pglite',
  unavailable: () => Promise.resolve(undefined),
  async ferry() {
    const db = await makePgliteDb(undefined);
    const store: Store = { kind: 'pglite', db, location: 'memory', close: () => db.close() };
    return { store, dispose: () => store.close() };
  },
  async raw() {
    const pglite = await PGlite.create();
    const options = { backend: 'pglite', db: fromPglite(pglite), useListenNotify: true } as const;
    return { options, dispose: () => pglite.close() };
  },
};

function postgresKit(): StoreKit {
  const admin = new URL(adminUrl);
  const where = `PostgreSQL at ${admin.host}${admin.pathname}`;

  /** A new database per side, so neither finds the other's tables, jobs or cached plans. */
  const createDatabase = () => freshDatabase('ferry_bench_');

  return {
    kind: 'postgres',
    async unavailable() {
      const problem = await postgresProblem();
      return problem && `${where} unreachable (${problem}); set FERRY_TEST_DATABASE_URL`;
    },
    async ferry() {
      const { url, drop } = await createDatabase();
      const db = makePostgresDb({ url, poolMax: defaults.store.pool_max });
      const store: Store = {
        kind: 'postgres',
        db,
        url,
        poolMax: defaults.store.pool_max,
        location: where,
        close: () => db.close(),
      };
      return {
        store,
        async dispose() {
          try {
            await store.close();
          } finally {
            await drop();
          }
        },
      };
    },
    async raw() {
      const { url, drop } = await createDatabase();
      return { options: { connectionString: url, useListenNotify: true }, dispose: drop };
    },
  };
}

/** Job round trip on in-memory PGlite and on PostgreSQL, Ferry against raw pg-boss. */
export const jobsBenchmark: Benchmark = {
  name: 'jobs',
  description:
    `${total} no-op jobs, inserted in chunks of ${chunkSize}, handled (batches of 100) and ` +
    `completed; median of ${rounds} rounds per side, each on a fresh in-memory PGlite or a ` +
    'fresh PostgreSQL database',
  async run(report) {
    await compare(pgliteKit, report);
    await compare(postgresKit(), report);
  },
};
