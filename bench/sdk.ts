/**
 * The client SDK: a job's submit → result round trip through the SDK (live pushes) against the
 * same with bare fetch and polling every 50 ms, on one `ferry start` process (embedded store);
 * and HTTP requests per job when the only node keeps failing (503, retryable), with the default
 * retry budget against a budget too large to ever run out.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { FerryClient } from '../src/client/index.ts';
import { runNode } from '../test/helpers/process.ts';
import { tempDir } from '../test/helpers/stores.ts';
import type { Benchmark, Report } from './run.ts';

const roundTrips = 30;
const failingJobs = 200;

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function roundTrip(report: Report): Promise<void> {
  const data = tempDir('ferry-bench-sdk-');
  const volume = path.join(data.dir, 'volume');
  mkdirSync(volume);
  const child = runNode('src/cli/main.ts', ['start'], {
    FERRY_DATA_DIR: path.join(data.dir, 'data'),
    FERRY_HTTP_PORT: '0',
    FERRY_AUTH_ANONYMOUS: 'loopback',
    FERRY_VOLUMES: volume,
    FERRY_LOG_LEVEL: 'warn',
  });
  try {
    const [, url = ''] = await child.waitFor(/listening on (http:\/\/\S+)/, 60_000);
    const job = (i: number, via: string) => {
      const source = path.join(volume, `${via}-${String(i)}.txt`);
      writeFileSync(source, `file ${String(i)}\n`);
      return {
        kind: 'transfer',
        spec: {
          source_path: source,
          destination_path: path.join(volume, `${via}-out-${String(i)}`),
        },
      };
    };
    const client = new FerryClient({ nodes: [url], env: {} });
    await client.start();
    const sdk: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < roundTrips; i++) {
      sdk.push(
        (
          await report.measure(async () => {
            const submitted = await client.submit(job(i, 'sdk'));
            const final = await client.wait(submitted.jobId, { timeoutMs: 60_000 });
            if (final.status !== 'completed') throw new Error(`sdk job ${final.status}`);
          })
        ).ms,
      );
      bare.push(
        (
          await report.measure(async () => {
            const accepted = (await (
              await fetch(`${url}/api/v1/jobs`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(job(i, 'bare')),
              })
            ).json()) as { job_id: string };
            for (;;) {
              const state = (await (
                await fetch(`${url}/api/v1/jobs/${accepted.job_id}`)
              ).json()) as { status: string };
              if (state.status === 'completed') return;
              if (state.status === 'failed' || state.status === 'cancelled')
                throw new Error(`bare job ${state.status}`);
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          })
        ).ms,
      );
    }
    await client.stop();
    report.figure(
      'sdk submit → result, median',
      { value: median(sdk), unit: 'ms' },
      {
        name: 'bare fetch + polling every 50 ms',
        value: median(bare),
        unit: 'ms',
      },
    );
  } finally {
    child.proc.kill('SIGTERM');
    await child.exited;
    data.remove();
  }
}

async function underFailure(report: Report): Promise<void> {
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    response.writeHead(503, {
      'content-type': 'application/json',
      'retry-after': '0',
      'ferry-protocol': '1.0',
    });
    response.end(
      JSON.stringify({ detail: 'overloaded', code: 'FERRY_ERR_OVERLOADED', retryable: true }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}`;
  const perJob = async (budgetCapacity: number) => {
    requests = 0;
    const client = new FerryClient({
      nodes: [url],
      env: {},
      live: false,
      retryBaseMs: 1,
      retryCapMs: 2,
      budgetCapacity,
    });
    for (let i = 0; i < failingJobs; i++) {
      await client.submit({ kind: 'transfer', spec: {} }).catch(() => undefined);
    }
    await client.stop();
    return requests / failingJobs;
  };
  try {
    const withBudget = await perJob(500);
    const without = await perJob(1_000_000);
    report.figure(
      `requests per job, failing node, ${String(failingJobs)} jobs, with retry budget`,
      { value: withBudget, unit: 'requests' },
      {
        name: 'without budget',
        value: without,
        unit: 'requests',
      },
    );
  } finally {
    server.close();
  }
}

export const sdkBenchmark: Benchmark = {
  name: 'sdk',
  description:
    'client SDK round trip vs bare fetch + polling; requests per job under a failing node with and without the retry budget',
  async run(report) {
    await roundTrip(report);
    await underFailure(report);
  },
};
