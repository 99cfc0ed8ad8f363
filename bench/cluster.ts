/**
 * Cluster mode on a real cluster (three `ferry start` processes, zones `eu` and `us`, one
 * PostgreSQL database; heartbeat 1 s, so the part lease lives 3 s):
 *
 * - job round trip: submit → final push through the SDK (live channel), an `event_batch` job of
 *   one event, against raw pg-boss send → completed on the same database, twice: in its fastest
 *   mode (worker woken by LISTEN/NOTIFY) and with the worker polling every 0.5 s;
 * - takeover: time from SIGKILL of a part's owner to the part running on the other node of its
 *   zone (median and maximum over `kills` kills), next to the lease TTL;
 * - admission under a flood (autocannon in its own process): latency of 429 answers (a node
 *   limited to 50 requests/s) and of 503 answers (a node shedding `low` above 1 request in
 *   flight), each next to the same flood's latency on a node that serves every request.
 */
import { PgBoss } from 'pg-boss';
import { FerryClient } from '../src/client/index.ts';
import { makeFerryCluster, until, type ClusterNode } from '../test/helpers/ferry-cluster.ts';
import { postgresProblem } from '../test/helpers/stores.ts';
import { loadTest } from './load.ts';
import type { Benchmark, Report } from './run.ts';

const roundTrips = 30;
const kills = Number(process.env.FERRY_BENCH_CLUSTER_KILLS ?? 10);
const leaseTtlMs = 3_000;
const flood = { connections: 32, seconds: 5 };

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

type Cluster = ReturnType<typeof makeFerryCluster>;

async function post(node: ClusterNode, url: string, body: object) {
  const response = await fetch(`${node.url}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await response.json()) as { job_id: string; status: string };
}

async function roundTrip(report: Report, cluster: Cluster): Promise<void> {
  const urls = [...cluster.nodes.values()].map((n) => n.url);
  const client = new FerryClient({ nodes: urls, env: {} });
  await client.start();
  const ours: number[] = [];
  try {
    for (let i = 0; i < roundTrips; i++) {
      const { ms } = await report.measure(async () => {
        const submitted = await client.submit({
          kind: 'event_batch',
          spec: { events: [{ event_name: `bench-${String(i)}`, event_type: 'bench' }] },
          zones: ['eu'],
        });
        const final = await client.wait(submitted.jobId, { timeoutMs: 60_000 });
        if (final.status !== 'completed') throw new Error(`job ${final.status}`);
      });
      ours.push(ms);
    }
  } finally {
    await client.stop();
  }

  const notified = await rawRoundTrips(report, cluster.databaseUrl, 'notify');
  const polled = await rawRoundTrips(report, cluster.databaseUrl, 'polling');
  const figure = 'cluster job round trip (submit → final push, SDK, 3 nodes), median';
  report.figure(
    figure,
    { value: median(ours), unit: 'ms' },
    { name: 'raw pg-boss send → completed, worker woken by NOTIFY', value: notified, unit: 'ms' },
  );
  report.figure(
    figure,
    { value: median(ours), unit: 'ms' },
    { name: 'raw pg-boss send → completed, worker polling every 0.5 s', value: polled, unit: 'ms' },
  );
}

/**
 * Median send → completed of a raw pg-boss job on the same database, one at a time, in its
 * fastest mode (`useListenNotify` with a `notify` queue: a send wakes the worker at once) or
 * with the worker polling every 0.5 s (its shortest interval) and no NOTIFY.
 */
async function rawRoundTrips(
  report: Report,
  connectionString: string,
  mode: 'notify' | 'polling',
): Promise<number> {
  const boss = new PgBoss({
    connectionString,
    schema: `bench_boss_${mode}`,
    useListenNotify: mode === 'notify',
  });
  boss.on('error', (error) => {
    console.error('raw pg-boss error', error);
  });
  const raw: number[] = [];
  try {
    await boss.start();
    const queue = 'bench.roundtrip';
    await boss.createQueue(queue, { notify: mode === 'notify' });
    // With NOTIFY on, polling is only the backstop: left at its 2 s default.
    await boss.work(
      queue,
      mode === 'polling' ? { pollingIntervalSeconds: 0.5 } : {},
      async () => {},
    );
    for (let i = 0; i < roundTrips; i++) {
      const { ms } = await report.measure(async () => {
        const id = await boss.send(queue, { i });
        if (!id) throw new Error('pg-boss did not take the job');
        await until(
          'the pg-boss job completed',
          async () =>
            (await boss.findJobs(queue, { id }))[0]?.state === 'completed' ? true : undefined,
          60_000,
          1,
        );
      });
      raw.push(ms);
    }
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
  return median(raw);
}

async function takeovers(report: Report, cluster: Cluster): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < kills; i++) {
    const [a] = [...cluster.nodes.values()];
    if (!a) throw new Error('no node');
    // One 1 MiB folder at 64 KiB/s: the part runs far longer than a takeover takes.
    const spec = { ...cluster.folder('eu', `kill-${String(i)}`, 4), max_bytes_per_second: 65_536 };
    const job = await post(a, '/api/v1/jobs', { kind: 'transfer', spec, zones: ['eu'] });
    const owner = await until('the part running', async () => {
      const found = await cluster.ownerOf(job.job_id, 'eu').catch(() => undefined);
      return found;
    });
    const started = process.hrtime.bigint();
    owner.child.proc.kill('SIGKILL');
    await until(
      'the part running on another node',
      async () => {
        const { rows } = await cluster.db.query<{ owner_node: string; status: string }>(
          `SELECT owner_node, status FROM ferry.cluster_job_parts WHERE job_id = $1 AND zone = 'eu'`,
          [job.job_id],
        );
        const part = rows[0];
        return part && part.status === 'running' && part.owner_node !== owner.id ? true : undefined;
      },
      60_000,
      5,
    );
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    await owner.child.exited;
    cluster.nodes.delete(owner.name);
    const survivor = [...cluster.nodes.values()].find((n) => n.name !== 'c') as ClusterNode;
    await post(survivor, `/api/v1/jobs/${job.job_id}/cancel`, {});
    await cluster.start(owner.name, 'eu');
  }
  report.figure(
    `SIGKILL → part running on another node, median of ${String(kills)}`,
    { value: median(times), unit: 'ms' },
    { name: 'part lease TTL', value: leaseTtlMs, unit: 'ms' },
  );
  report.figure(
    `SIGKILL → part running on another node, maximum of ${String(kills)}`,
    { value: Math.max(...times), unit: 'ms' },
    { name: 'part lease TTL', value: leaseTtlMs, unit: 'ms' },
  );
}

async function admission(report: Report, cluster: Cluster): Promise<void> {
  // Three nodes alike but for their limits; the served one is never throttled nor shed.
  const served = await cluster.start('served', 'lab', {
    FERRY_LIMITS_REQUESTS_PER_SECOND: '1000000',
    FERRY_LIMITS_BURST: '10000000',
    FERRY_LIMITS_SHED_IN_FLIGHT: '100000',
  });
  const limited = await cluster.start('limited', 'lab', {
    FERRY_LIMITS_REQUESTS_PER_SECOND: '50',
    FERRY_LIMITS_BURST: '50',
  });
  const shedding = await cluster.start('shedding', 'lab', { FERRY_LIMITS_SHED_IN_FLIGHT: '1' });
  const ping = (node: ClusterNode, headers: Record<string, string> = {}) =>
    loadTest({ url: `${node.url}/api/v1/cluster/ping`, method: 'GET', headers, ...flood });
  const peer = await ping(served);
  const rateLimited = await ping(limited);
  const shed = await ping(shedding, { 'ferry-priority': 'low' });
  const share = (r: typeof peer, code: string) =>
    `${String(r.statuses[code] ?? 0)} of ${String(Object.values(r.statuses).reduce((a, b) => a + b, 0))}`;
  report.note(
    `flood of GET /api/v1/cluster/ping, ${String(flood.connections)} connections, ${String(flood.seconds)} s each: ` +
      `429s ${share(rateLimited, '429')}, 503s ${share(shed, '503')}, served 200s ${share(peer, '200')}`,
  );
  const peerOf = (q: 'p50' | 'p99') => ({
    name: `200 answers, same flood on an unthrottled node, ${q}`,
    value: peer[q],
    unit: 'ms',
  });
  for (const q of ['p50', 'p99'] as const) {
    report.figure(
      `429 answer latency under a flood, ${q}`,
      { value: rateLimited[q], unit: 'ms' },
      peerOf(q),
    );
    report.figure(
      `503 answer latency under a flood, ${q}`,
      { value: shed[q], unit: 'ms' },
      peerOf(q),
    );
  }
}

export const clusterBenchmark: Benchmark = {
  name: 'cluster',
  description:
    'three-node cluster: job round trip vs raw pg-boss; SIGKILL → takeover vs the lease TTL; 429/503 latency under a flood',
  async run(report) {
    const problem = await postgresProblem();
    if (problem) {
      report.note(`cluster: skipped, PostgreSQL is not reachable (${problem})`);
      return;
    }
    const cluster = makeFerryCluster();
    try {
      await cluster.setup();
      await roundTrip(report, cluster);
      await takeovers(report, cluster);
      await admission(report, cluster);
    } finally {
      await cluster.teardown();
    }
  },
};
