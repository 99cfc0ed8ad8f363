/**
 * Cluster commands on the client SDK: `ferry jobs submit|ls|show|wait|cancel` and
 * `ferry cluster nodes|zones|ping`. Nodes from --server (comma-separated) or FERRY_SERVER, key
 * from --api-key or FERRY_API_KEY; the SDK retries, moves between nodes and follows the job.
 */
import path from 'node:path';
import { FerryClient, FerryClientError, type JobState } from '../client/index.ts';

export interface JobsOptions {
  server: string | undefined;
  apiKey: string | undefined;
  json: boolean;
  status: string | undefined;
  zones: string[];
  key: string | undefined;
  wait: boolean;
  timeout: string | undefined;
  move: boolean;
}

class UsageError extends Error {}

function print(options: JobsOptions, value: unknown, text: () => string): void {
  console.log(options.json ? JSON.stringify(value, null, 2) : text());
}

function line(s: JobState): string {
  const zones = Object.values(s.zones)
    .map((z) => `${z.zone}:${z.status}${z.url ? `@${z.url}` : ''}`)
    .join(' ');
  return `${s.jobId}  ${s.status.padEnd(9)} token ${String(s.fenceToken)}  ${zones}`;
}

/** Waits for the job, drawing how many items each zone has verified (redrawn on a TTY). */
async function follow(client: FerryClient, jobId: string, options: JobsOptions) {
  const out = process.stderr;
  const done = new Map<string, number>();
  const draw = (final: boolean) => {
    const text = [...done].map(([zone, n]) => `${zone}: ${String(n)} items`).join('  ');
    if (out.isTTY) out.write(`\r${text}${final ? '\n' : ''}`);
    else if (final && text) out.write(`${text}\n`);
  };
  const timeoutMs = options.timeout === undefined ? undefined : Number(options.timeout) * 1000;
  const state = await client.wait(jobId, {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    onProgress: ({ zone, items }) => {
      done.set(zone, items);
      draw(false);
    },
    onLeaderTransfer: (t) => {
      out.write(`\n${t.zone}: now on ${t.url} (token ${String(t.fenceToken)})\n`);
    },
  });
  draw(true);
  return state;
}

async function jobs(
  client: FerryClient,
  sub: string | undefined,
  args: string[],
  options: JobsOptions,
) {
  switch (sub) {
    case 'submit': {
      const [src, dst] = args;
      if (!src || !dst)
        throw new UsageError(
          'usage: ferry jobs submit <source> <destination> [--zone Z]… [--key K] [--wait]',
        );
      const submitted = await client.submit(
        {
          kind: 'transfer',
          spec: {
            source_path: path.resolve(src),
            destination_path: path.resolve(dst),
            operation_mode: options.move ? 'move' : 'copy',
          },
          ...(options.zones.length > 0 ? { zones: options.zones } : {}),
        },
        options.key === undefined ? {} : { idempotencyKey: options.key },
      );
      if (!options.wait) {
        print(
          options,
          submitted,
          () => `submitted ${line(submitted.state)} (key ${submitted.idempotencyKey})`,
        );
        return 0;
      }
      const final = await follow(client, submitted.jobId, options);
      print(options, final, () => line(final));
      return final.status === 'completed' ? 0 : 1;
    }
    case 'ls': {
      const list = await client.queryJobs({
        ...(options.status ? { status: options.status } : {}),
        limit: 100,
      });
      print(options, list, () =>
        list.items.length
          ? list.items
              .map(
                (j) =>
                  `${j.job_id}  ${j.status.padEnd(9)} ${j.kind}  ${j.zones.map((z) => `${z.zone}:${z.status}`).join(' ')}`,
              )
              .join('\n')
          : 'no jobs',
      );
      return 0;
    }
    case 'show': {
      const state = await client.refresh(idOf(args[0]));
      print(options, state, () => line(state));
      return 0;
    }
    case 'wait': {
      const final = await follow(client, idOf(args[0]), options);
      print(options, final, () => line(final));
      return final.status === 'completed' ? 0 : 1;
    }
    case 'cancel': {
      const answer = await client.cancel(idOf(args[0]));
      print(options, answer, () => `${answer.job_id}  ${answer.outcome}`);
      return 0;
    }
  }
  throw new UsageError('usage: ferry jobs submit|ls|show|wait|cancel');
}

function idOf(arg: string | undefined): string {
  if (!arg) throw new UsageError('expected a job id');
  return arg;
}

async function cluster(client: FerryClient, sub: string | undefined, options: JobsOptions) {
  switch (sub) {
    case 'nodes': {
      const nodes = await client.nodes();
      print(options, nodes, () =>
        nodes.items
          .map((n) => `${n.id}  ${n.zone.padEnd(8)} ${n.health.padEnd(8)} ${n.url}`)
          .join('\n'),
      );
      return 0;
    }
    case 'zones': {
      const zones = await client.zones();
      print(options, zones, () => zones.items.map((z) => JSON.stringify(z)).join('\n'));
      return 0;
    }
    case 'ping': {
      const pings = await client.pingAll();
      print(options, pings, () =>
        pings
          .map((p) =>
            p.ok
              ? `${p.node}  ok  ${p.nodeId} zone ${p.zone} protocol ${p.protocol}`
              : `${p.node}  FAILED  ${p.error.code}: ${p.error.message}`,
          )
          .join('\n'),
      );
      return pings.every((p) => p.ok) ? 0 : 1;
    }
  }
  throw new UsageError('usage: ferry cluster nodes|zones|ping');
}

/** Runs a jobs or cluster command; errors print one line (and the fix) and exit 1. */
export async function runJobs(
  command: 'jobs' | 'cluster',
  sub: string | undefined,
  args: string[],
  options: JobsOptions,
): Promise<number> {
  let client: FerryClient | undefined;
  try {
    client = new FerryClient({
      nodes: options.server ?? process.env.FERRY_SERVER ?? 'http://127.0.0.1:8000',
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      // One-shot commands poll; `wait` follows pushes.
      live: command === 'jobs' && (sub === 'wait' || (sub === 'submit' && options.wait)),
    });
    return await (command === 'jobs'
      ? jobs(client, sub, args, options)
      : cluster(client, sub, options));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`ferry ${command}: ${error.message}`);
      return 2;
    }
    if (!(error instanceof FerryClientError)) throw error;
    console.error(`ferry ${command}: ${error.message} (${error.code})`);
    if (error.fix) console.error(`  fix: ${error.fix}`);
    return 1;
  } finally {
    await client?.stop();
  }
}
